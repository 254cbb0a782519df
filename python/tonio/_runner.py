"""Entry points shared by both syntaxes: ``run``, ``main`` and ``runtime``.

They accept a generator or an ``async def`` coroutine alike; the Rust runtime drives both.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import weakref
from collections.abc import Callable, Iterable
from typing import Any, ParamSpec, TypeVar, Unpack, overload

from ._tonio import Runtime
from ._types import AnyCoro, RuntimeOptions

_P = ParamSpec('_P')
_R = TypeVar('_R')

# Runtimes still open at interpreter exit are closed by atexit, while their worker threads can
# still attach to the interpreter to stop (they cannot once finalization has begun).
_open_runtimes: weakref.WeakSet[Runtime] = weakref.WeakSet()


@atexit.register
def _close_open_runtimes() -> None:
    for rt in list(_open_runtimes):
        if not rt.closed:
            # One still running on a daemon thread cannot be closed: it ends with the process.
            with contextlib.suppress(RuntimeError):
                rt.close()


def runtime(
    *,
    threads: int | None = None,
    context: bool = False,
    blocking_threadpool_size: int = 128,
    blocking_threadpool_idle_ttl: float = 30,
    virtual_clock: bool = False,
    signals: Iterable[int] | None = None,
) -> Runtime:
    """A reusable runtime: call ``run_until_complete(coro)`` as often as needed, then ``close()``
    (or use it as a context manager).

    ``threads``: worker threads running tasks (default: CPU count on free-threaded builds, 1 with
    a GIL). ``context``: run every task in a copy of its spawner's ``contextvars`` context.
    ``blocking_threadpool_size``: most threads ``spawn_blocking`` may use (more calls queue).
    ``blocking_threadpool_idle_ttl``: seconds an idle blocking thread waits before exiting.
    ``virtual_clock``: for tests, time stands still while any task can run and jumps to the next
    timer when every task waits, so sleeps and timeouts cost no real time.
    ``signals``: signal numbers the runtime takes over while it runs (it must run on the main
    thread): they no longer do their default action (or raise KeyboardInterrupt, for SIGINT)
    and reach the tasks that open a ``signal_receiver()`` for them.
    """
    rt = Runtime(
        threads=threads,
        context=context,
        blocking_threadpool_size=blocking_threadpool_size,
        blocking_threadpool_idle_ttl=blocking_threadpool_idle_ttl,
        virtual_clock=virtual_clock,
        signals=signals,
    )
    _open_runtimes.add(rt)
    return rt


def run(coro: AnyCoro[_R], **options: Unpack[RuntimeOptions]) -> _R:
    """Run ``coro`` on a fresh runtime and return its result (options as for ``runtime``)."""
    with runtime(**options) as rt:
        return rt.run_until_complete(coro)


@overload
def main(fn: Callable[_P, AnyCoro[_R]]) -> Callable[_P, _R]: ...


@overload
def main(
    fn: None = None, **options: Unpack[RuntimeOptions]
) -> Callable[[Callable[_P, AnyCoro[_R]]], Callable[_P, _R]]: ...


def main(fn: Any = None, **options: Any) -> Any:
    """Decorator: calling the decorated function runs it on a fresh runtime.

    Usable bare (``@main``) or with runtime options (``@main(threads=2)``).
    """

    def decorate(fn: Callable[_P, AnyCoro[_R]]) -> Callable[_P, _R]:
        if not callable(fn):
            raise TypeError(f'main() decorates a function, not {type(fn).__name__}')

        @functools.wraps(fn)
        def entrypoint(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            return run(fn(*args, **kwargs), **options)

        return entrypoint

    if fn is None:
        return decorate
    return decorate(fn)
