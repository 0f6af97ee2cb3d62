"""Numbers on the command line: byte sizes (``-s 8MiB``) and counts (``-n 10k``).

Rules, the same for both:

* Digit-group separators are ignored: ``_``, ``,``, ``'``, spaces (``1_000``, ``1,000``).
* A suffix with ``i`` is binary, one without is decimal, in any case: ``k``/``kb`` = 1000,
  ``ki``/``kib`` = 1024, then ``m``, ``g``, ``t``, ``p`` likewise (``8m`` = 8,000,000 and
  ``8MiB`` = 8,388,608). Sizes may also end in ``b``/``B`` (bytes).
* A decimal point is allowed when the result is a whole number (``1.5k`` = 1500).

Anything else raises :class:`ValueError` with a message saying what is accepted; the parser
turns it into a usage error (exit code 2).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

__all__ = ["parse_count", "parse_size"]

_SEPARATORS = str.maketrans("", "", "_,' \u00a0\u202f")
_NUMBER = re.compile(r"^(\d+(?:\.\d+)?)([a-z]*)$")
# "k" = 1000, "ki" = 1024, "m" = 1000**2, "mi" = 1024**2, ...
_MULTIPLIERS: dict[str, int] = {"": 1}
for _power, _letter in enumerate("kmgtp", start=1):
    _MULTIPLIERS[_letter] = 1000**_power
    _MULTIPLIERS[_letter + "i"] = 1024**_power


def _multiplier(suffix: str, *, allow_bytes: bool) -> int | None:
    if allow_bytes and suffix.endswith("b"):
        suffix = suffix[:-1]
    return _MULTIPLIERS.get(suffix)


def _parse(text: str, *, what: str, allow_bytes: bool) -> int:
    cleaned = text.strip().translate(_SEPARATORS).lower()
    match = _NUMBER.match(cleaned)
    multiplier = _multiplier(match.group(2), allow_bytes=allow_bytes) if match else None
    if match is None or multiplier is None:
        units = "8MB, 8MiB, 8m, 8g, 4096" if allow_bytes else "100, 10k, 2Ki, 1m, 1_000"
        raise ValueError(f"invalid {what} {text!r}; expected e.g. {units}")
    try:
        value = Decimal(match.group(1)) * multiplier
    except InvalidOperation:  # pragma: no cover - the regex admits only plain decimals
        raise ValueError(f"invalid {what} {text!r}") from None
    if value != value.to_integral_value():
        raise ValueError(f"invalid {what} {text!r}: not a whole number")
    return int(value)


def parse_size(text: str) -> int:
    """A byte count: ``4096``, ``8MB`` (8,000,000), ``8MiB`` (8,388,608), ``8m``, ``1.5g``."""
    return _parse(text, what="size", allow_bytes=True)


def parse_count(text: str) -> int:
    """A count: ``100``, ``10k`` (10,000), ``2Ki`` (2,048), ``1_000_000``."""
    return _parse(text, what="count", allow_bytes=False)
