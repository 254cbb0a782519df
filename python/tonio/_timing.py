"""``timeout`` and ``interval``, shared by ``tonio.time`` and ``tonio.colored.time``."""

from __future__ import annotations

import math
import types
from collections.abc import Generator
from typing import Any

from ._combinators import _coroutines
from ._scope import Scope
from ._tonio import Waiter, sleep_until
from ._tonio import time as _now


def timeout(coro: Any, seconds: float) -> Any:
    """Runs ``coro`` for at most ``seconds``: yield or await the returned object for
    ``(result, True)`` if it finished in time, else ``(None, False)`` once it was cancelled and
    has unwound. The arguments are checked at the call."""
    (coro,) = _coroutines((coro,), 'timeout()')
    try:
        deadline = Scope(timeout=seconds)
    except BaseException:
        coro.close()
        raise
    return _timeout(coro, deadline)


@types.coroutine
def _timeout(coro: Any, deadline: Scope) -> Generator[Any, Any, tuple[Any, bool]]:
    with deadline:
        return (yield coro), True
    return None, False


def _seconds(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f'{what} must be a number of seconds, not {type(value).__name__}')
    if math.isnan(value):
        raise ValueError(f'{what} must not be NaN')
    return float(value)


class interval:
    """Ticks every ``period`` seconds on the runtime clock, without drift: tick ``n`` is due at
    ``start + n * period`` however long the work between ticks took. The first tick is at ``at``
    (runtime-clock seconds, as ``time()``) when given, else at once. A consumer that falls more
    than a period behind skips the ticks it missed instead of bursting through them.
    """

    __slots__ = ('_next', '_period')

    def __init__(self, period: float, at: float | None = None) -> None:
        period = _seconds(period, 'interval period')
        if not (0 < period < math.inf):
            raise ValueError(f'interval period must be positive and finite, got {period}')
        self._period = period
        self._next = _now() if at is None else _seconds(at, 'interval start time')

    @property
    def period(self) -> float:
        return self._period

    def tick(self) -> Waiter:
        """A Waiter that resumes at the next tick; yield or await it."""
        due = self._next
        now = _now()
        if now - due >= self._period:
            due += math.floor((now - due) / self._period) * self._period
        self._next = due + self._period
        return sleep_until(due)
