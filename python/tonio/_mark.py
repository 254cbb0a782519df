"""The decorators of ``tonio.mark`` (and ``tonio.colored.mark``): ``blocking``,
``max_concurrency`` and ``cpu_bound``.

Each is written once for both syntaxes: the decorated function returns a ``types.coroutine``
generator, which generator code yields (or ``yield from``s), ``async def`` code awaits, and
``spawn``, ``select`` and the other combinators accept. Calling it starts nothing: the work
begins when the result is waited on or spawned.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Callable, Generator
from typing import Any, ParamSpec, TypeVar

from ._combinators import Awaited, as_coroutine
from ._limiter import limiter
from ._tonio import spawn_blocking
from ._types import GeneratorCoroutine

_P = ParamSpec('_P')
_R = TypeVar('_R')


def _check_callable(fn: object, what: str) -> None:
    if not callable(fn):
        raise TypeError(f'{what} decorates a function, not {type(fn).__name__}')


def blocking(fn: Callable[_P, _R]) -> Callable[_P, GeneratorCoroutine[_R]]:
    """``fn`` (a plain function) becomes a coroutine function: waiting on its result runs
    ``fn(*args, **kwargs)`` on the blocking pool (``spawn_blocking``) and gives its return
    value. A waiter cancelled meanwhile stops waiting and stops the call, as ``spawn_blocking``
    does."""
    _check_callable(fn, 'blocking()')

    @types.coroutine
    def run_blocking(*args: _P.args, **kwargs: _P.kwargs) -> Generator[Any, Any, _R]:
        result: _R = yield spawn_blocking(fn, *args, **kwargs)
        return result

    return functools.wraps(fn)(run_blocking)


def max_concurrency(
    limit: int,
) -> Callable[
    [Callable[_P, Awaited[_R]]],
    Callable[_P, GeneratorCoroutine[_R]],
]:
    """At most ``limit`` calls of the decorated coroutine function (generator or ``async def``,
    or any function returning something tonio waits on) run at once; the others wait their turn,
    first come first served. A call is made only once it holds its turn."""
    guard = limiter(limit)

    def decorate(
        fn: Callable[_P, Awaited[_R]],
    ) -> Callable[_P, GeneratorCoroutine[_R]]:
        _check_callable(fn, 'max_concurrency()')
        what = f'max_concurrency(): {getattr(fn, "__qualname__", "the function")}() result'

        @types.coroutine
        def limited(*args: _P.args, **kwargs: _P.kwargs) -> Generator[Any, Any, _R]:
            yield from guard.acquire()
            try:
                result: _R = yield as_coroutine(fn(*args, **kwargs), what)
                return result
            finally:
                guard.release()

        return functools.wraps(fn)(limited)

    return decorate


def cpu_bound(
    concurrency: int | None = None,
) -> Callable[[Callable[_P, _R]], Callable[_P, GeneratorCoroutine[_R]]]:
    """``blocking``, and with a ``concurrency`` also ``max_concurrency(concurrency)``: for CPU-heavy
    plain functions that should not occupy more than that many blocking threads."""
    guard = None if concurrency is None else max_concurrency(concurrency)

    def decorate(fn: Callable[_P, _R]) -> Callable[_P, GeneratorCoroutine[_R]]:
        _check_callable(fn, 'cpu_bound()')
        on_pool = blocking(fn)
        return on_pool if guard is None else guard(on_pool)

    return decorate
