"""Build of the optional C kernel; everything else is declared in pyproject.toml."""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "s3dlio._fastgen",
            ["src/s3dlio/_fastgen.c"],
            optional=True,  # no compiler: the install succeeds and datagen uses numpy
            extra_compile_args=["-O3"],
        )
    ]
)
