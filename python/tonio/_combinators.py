"""Combinators over spawn and scopes: ``map``, ``select`` and ``as_completed``.

Each is written once for both syntaxes: a ``types.coroutine`` generator can be yielded by a
generator task (the scheduler runs it inline) and awaited by ``async def`` code, and a coroutine
argument of either kind is waited for with ``yield coro``, which the scheduler runs inline too.
"""

from __future__ import annotations

import collections
import inspect
import types
from collections.abc import Callable, Generator, Iterable, Iterator
from typing import Any, Generic, TypeAlias, TypeVar

from ._scope import Scope
from ._tonio import Event, Spawned, Waiter, _check_coroutines, spawn
from ._types import AnyCoro, GeneratorCoroutine
from .exceptions import CancelledError

_T = TypeVar('_T')
_A = TypeVar('_A')

Awaited: TypeAlias = AnyCoro[_T] | Waiter[_T] | Spawned[_T]
"""What the combinators take: coroutines, generators, Waiters and spawn results giving ``T``."""


@types.coroutine
def _wait_for(awaitable: Waiter[_T] | Spawned[_T]) -> Generator[Any, Any, _T]:
    value: _T = yield awaitable
    return value


def as_coroutine(obj: Awaited[_T], what: str) -> AnyCoro[_T]:
    """A coroutine for ``obj``: coroutines and generators as they are, Waiters and spawn results
    wrapped in one that waits for them."""
    if isinstance(obj, (Waiter, Spawned)):
        return _wait_for(obj)
    if isinstance(obj, (types.GeneratorType, types.CoroutineType)):
        return obj
    raise TypeError(
        f'{what} must be a coroutine, a generator, a Waiter or a spawn() result, '
        f'not {type(obj).__name__}'
    )


def _coroutines(objs: tuple[Awaited[_T], ...], what: str) -> list[AnyCoro[_T]]:
    """``as_coroutine`` for every argument, after the checks ``spawn`` makes (each coroutine never
    ran and is passed once). If one is invalid, the coroutines given are closed (they will never
    run) before the error propagates."""
    fresh = [obj for obj in objs if isinstance(obj, (types.GeneratorType, types.CoroutineType))]
    try:
        coros = [
            as_coroutine(obj, f'{what} argument {index + 1}') for index, obj in enumerate(objs)
        ]
        _check_coroutines(what, *fresh)
    except (TypeError, RuntimeError):
        for obj in fresh:
            if _unstarted(obj):
                obj.close()
        raise
    return coros


def _unstarted(
    coro: types.GeneratorType[Any, Any, Any] | types.CoroutineType[Any, Any, Any],
) -> bool:
    if isinstance(coro, types.GeneratorType):
        return inspect.getgeneratorstate(coro) == inspect.GEN_CREATED
    return inspect.getcoroutinestate(coro) == inspect.CORO_CREATED


@types.coroutine
def _results(handle: Spawned[Any], single: bool) -> Generator[Any, Any, list[_T]]:
    # spawn() gives a lone coroutine's result bare; map() always gives a list.
    results: Any = yield handle
    return [results] if single else results


def map(fn: Callable[[_A], AnyCoro[_T]], iterable: Iterable[_A]) -> GeneratorCoroutine[list[_T]]:
    """Spawns ``fn(item)`` for every item now; yield/await the result for the list of results
    in order (the first failure is raised)."""
    if not callable(fn):
        raise TypeError(f'map() first argument must be callable, not {type(fn).__name__}')
    coros = [fn(item) for item in iterable]
    return _results(spawn(*coros), len(coros) == 1)


@types.coroutine
def _race(coro: AnyCoro[_T], scope: Scope, won: list[_T]) -> Generator[Any, Any, None]:
    value: _T = yield coro
    if scope.cancel():
        won.append(value)


def select(*coros: Awaited[_T]) -> GeneratorCoroutine[_T]:
    """Runs the coroutines (or Waiters, or spawn results) concurrently; the first to finish
    gives its result, the others are cancelled (and have unwound when this returns). A failure
    raises instead. Yield or await the returned object; the arguments are checked at the call."""
    if not coros:
        raise TypeError('select() needs at least one coroutine')
    return _select(_coroutines(coros, 'select()'))


@types.coroutine
def _select(racers: list[AnyCoro[_T]]) -> Generator[Any, Any, _T]:
    won: list[_T] = []
    scope = Scope()
    with scope:
        for racer in racers:
            scope.spawn(_race(racer, scope, won))
        # Cancelled by the winner: the scope's exit absorbs that and we go on below.
        yield scope()
    if not won:
        # Every racer was cancelled from elsewhere.
        raise CancelledError('every coroutine passed to select() was cancelled')
    return won[0]


class as_completed(Generic[_T]):
    """Results in completion order.

    Generator syntax: ``for waiter in as_completed(*coros): value = yield waiter``.
    ``async def`` syntax: ``async for value in as_completed(*coros):``. A coroutine that failed
    raises its exception at its turn. Breaking out of the loop cancels the ones still running
    (call ``close()`` to do so after an early ``break`` out of ``async for``).
    """

    def __init__(self, *coros: Awaited[_T]) -> None:
        tracked = _coroutines(coros, 'as_completed()')
        # (True, result) or (False, the exception it raised).
        self._finished: collections.deque[tuple[bool, Any]] = collections.deque()
        self._ready = Event()
        self._left = len(tracked)
        self._scope = Scope()
        for coro in tracked:
            self._scope.spawn(self._track(coro))

    @types.coroutine
    def _track(self, coro: AnyCoro[_T]) -> Generator[Any, Any, None]:
        try:
            value = yield coro
        except BaseException as error:
            self._finished.append((False, error))
            self._ready.set()
            if isinstance(error, CancelledError):
                raise
        else:
            self._finished.append((True, value))
            self._ready.set()

    @types.coroutine
    def _next(self) -> Generator[Any, Any, _T]:
        while not self._finished:
            self._ready.clear()
            if self._finished:
                break
            yield self._ready.wait()
        ok, value = self._finished.popleft()
        if ok:
            result: _T = value
            return result
        raise value

    def close(self) -> None:
        """Cancels the coroutines still running."""
        self._scope.cancel()

    def __iter__(self) -> Iterator[GeneratorCoroutine[_T]]:
        try:
            while self._left:
                self._left -= 1
                yield self._next()
        finally:
            if self._left:
                self.close()

    def __aiter__(self) -> as_completed[_T]:
        return self

    def __anext__(self) -> GeneratorCoroutine[_T]:
        if not self._left:
            raise StopAsyncIteration
        self._left -= 1
        return self._next()
