"""The store contract suite: one set of behavioural tests of the ObjectStore protocol
(``s3dlio/stores/base.py``), run against every backend, ``memory://`` and a store layer."""
