"""The one validator of integer arguments (counts, sizes, offsets, concurrency limits).

Every public function checks its integer arguments here, so they all refuse the same inputs
with the same errors, naming the parameter: a boolean, a float, a string or ``None`` where an
integer is required raises :class:`~s3dlio.errors.InvalidArgumentTypeError` (a ``TypeError``),
a value below the allowed minimum raises :class:`~s3dlio.errors.InvalidArgumentError` (a
``ValueError``); both are ``RuntimeError`` too. numpy integers are accepted.
"""

from __future__ import annotations

import operator

from .errors import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["count", "optional_count"]


def count(name: str, value: object, minimum: int = 0) -> int:
    """``value`` as an ``int`` if it is an integer >= ``minimum``; else a typed error."""
    if isinstance(value, bool):
        raise InvalidArgumentTypeError(f"{name} must be an integer, got a bool ({value!r})")
    try:
        number = operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise InvalidArgumentTypeError(
            f"{name} must be an integer, got {type(value).__name__} ({value!r})"
        ) from None
    if number < minimum:
        # The reference's wording (its max_in_flight check), for every count.
        raise InvalidArgumentError(f"{name} must be an integer >= {minimum}, got {number}")
    return number


def optional_count(name: str, value: object, minimum: int = 0) -> int | None:
    """:func:`count`, with ``None`` passed through (meaning "the default")."""
    return None if value is None else count(name, value, minimum)
