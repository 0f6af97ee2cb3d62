"""Retry decisions for the requests s3dlio sends itself (:mod:`s3dlio.stores._http`).

Requests through obstore are retried by obstore's own loop, configured from the same
:class:`~s3dlio.settings.RetryPolicy` (its ``obstore_config()``); this module gives
s3dlio's own HTTP path the same behaviour, plus what obstore cannot do: honour ``Retry-After``.

- :func:`retryable_status`: which HTTP statuses are worth another attempt.
- :func:`retry_after`: the wait a response asks for (``Retry-After`` in seconds or as an HTTP
  date, Azure's ``x-ms-retry-after-ms`` / ``retry-after-ms``).
- :class:`RetryBudget`: one request's attempts, elapsed time and jittered backoff; it says how
  long to wait before the next attempt, or that there is none.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping

from . import config
from .settings import RetryPolicy

__all__ = ["RetryBudget", "retry_after", "retryable_status"]

# 501 Not Implemented and 505 HTTP Version Not Supported will not change on a retry.
_PERMANENT_5XX = frozenset({501, 505})


def retryable_status(status: int) -> bool:
    """True for responses a retry may cure: 408 (request timeout), 429 (too many requests) and
    5xx server errors other than 501/505 (503 is S3's ``SlowDown``)."""
    return status in (408, 429) or (500 <= status <= 599 and status not in _PERMANENT_5XX)


def retry_after(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds the server asked the client to wait, from lower-cased response ``headers``;
    ``None`` if it did not ask (or the value is unreadable).

    ``x-ms-retry-after-ms`` and ``retry-after-ms`` (milliseconds) take precedence over
    ``Retry-After``, which is either delta-seconds (``"2"``) or an HTTP date (wall clock ``now``,
    default :func:`time.time`). Negative values and dates in the past count as 0.
    """
    for name in ("x-ms-retry-after-ms", "retry-after-ms"):
        value = headers.get(name)
        if value is not None:
            try:
                return max(float(value.strip()) / 1000, 0.0)
            except ValueError:
                pass
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class RetryBudget:
    """The retry state of one logical request under ``policy`` (default: the environment's).

    Call :meth:`next_wait` after each failed attempt that may be retried: it returns the
    seconds to sleep before the next attempt, or ``None`` when no attempt is left - because
    ``policy.max_attempts`` were made, or the wait would end more than ``policy.timeout``
    seconds after the first attempt started.

    Waits follow obstore's formula ("decorrelated jitter"): the first is ``initial_backoff``,
    each later one is drawn uniformly between ``initial_backoff`` and ``backoff_base`` times the
    previous one, capped at ``max_backoff``. A server-requested wait (``Retry-After``) raises
    the wait to at least that value; it is not capped by ``max_backoff``, only by the timeout.
    """

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or config.retry_policy()
        self._clock = clock
        self._rng = rng or random.Random()
        self._start = clock()
        self._next_backoff = self.policy.initial_backoff
        self.attempts = 1  # the attempt in progress (or just failed) is counted
        self.refused_retry_after: float | None = None  # a wait asked for beyond the budget

    @property
    def elapsed(self) -> float:
        """Seconds since the first attempt started."""
        return self._clock() - self._start

    def _backoff(self) -> float:
        policy = self.policy
        current = self._next_backoff
        upper = max(current * policy.backoff_base, policy.initial_backoff)
        drawn = self._rng.uniform(policy.initial_backoff, upper)
        self._next_backoff = min(policy.max_backoff, drawn)
        return current

    def next_wait(self, server_wait: float | None = None) -> float | None:
        """Seconds to wait before the next attempt (and count it), or ``None`` if none is left.

        ``server_wait`` is the response's :func:`retry_after`, if any.
        """
        if self.attempts >= self.policy.max_attempts:
            return None
        wait = self._backoff()
        if server_wait is not None and server_wait > wait:
            wait = server_wait
        if self.elapsed + wait > self.policy.timeout:
            if server_wait is not None and server_wait >= wait:
                self.refused_retry_after = server_wait
            return None
        self.attempts += 1
        return wait

    def describe(self) -> str:
        """A note for the final error: attempts made and time spent, and a ``Retry-After``
        that was not honoured because it exceeded the budget."""
        if self.refused_retry_after is not None:
            return (
                f"the server asked to retry after {self.refused_retry_after:g} s, beyond the "
                f"retry budget of {self.policy.timeout:g} s (S3DLIO_RETRY_TIMEOUT_SECS); "
                f"gave up after {self.attempts} attempt{'s' if self.attempts > 1 else ''}"
            )
        return f"gave up after {self.attempts} attempts in {self.elapsed:.1f} s"
