"""``timeout`` and ``interval``, shared by ``tonio.time`` and ``tonio.colored.time``."""

from __future__ import annotations

import math
import types
from collections.abc import Generator
from typing import Any, TypeVar

from ._combinators import Awaited, _coroutines
from ._scope import Scope
from ._tonio import Waiter, sleep_until
from ._tonio import time as _now
from ._types import AnyCoro, GeneratorCoroutine

_T = TypeVar('_T')


def timeout(coro: Awaited[_T], seconds: float) -> GeneratorCoroutine[tuple[_T | None, bool]]:
    """Runs ``coro`` for at most ``seconds``: yield or await the returned object for
    ``(result, True)`` if it finished in time, else ``(None, False)`` once it was cancelled and
    has unwound. The arguments are checked at the call."""
    (limited,) = _coroutines((coro,), 'timeout()')
    try:
        deadline = Scope(timeout=seconds)
    except BaseException:
        limited.close()
        raise
    return _timeout(limited, deadline)


@types.coroutine
def _timeout(coro: AnyCoro[_T], deadline: Scope) -> Generator[Any, Any, tuple[_T | None, bool]]:
    with deadline:
        result: _T = yield coro
        return result, True
    return None, False


def _seconds(value: object, what: str) -> float:
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

    def tick(self) -> Waiter[None]:
        """A Waiter that resumes at the next tick; yield or await it."""
        due = self._next
        now = _now()
        if now - due >= self._period:
            due += math.floor((now - due) / self._period) * self._period
        self._next = due + self._period
        return sleep_until(due)
