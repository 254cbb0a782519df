"""``make_on_pool``: a resource made by a blocking call (an open file, a spawned process) for a
task that may be cancelled while the call runs.

A cancelled waiter stops waiting for a blocking call at once. For most calls that is the end of
it, but a call that *makes* something the caller must close (``open()``, ``Popen()``) cannot be
stopped half-way, and what it makes must not be dropped on the floor when nobody takes it. So the
call runs uninterruptibly, and the task and the pool thread meet under a lock:

- the pool thread, once ``make()`` returns, hands the value over unless the task has abandoned
  the call, in which case it ``discard``\\s the value itself (it is on a pool thread: blocking
  there is fine);
- the task, leaving by an exception (a cancel), marks the call abandoned under the same lock and
  looks at what happened: the call never started (it never will: the task releases what the
  call would have taken over, ``cleanup``), the value was handed over but never delivered (the
  task discards it, on the pool), or ``make()`` is still running (the pool thread will discard
  what it makes). In the last two cases the task waits until that is done before it re-raises,
  so a cancelled ``open_process`` has reaped its child when it ends.

``cleanup`` (optional) releases what ``make`` takes over (the child's ends of its pipes): it runs
exactly once, after ``make`` on the pool thread if the call started, else in the task.
"""

from __future__ import annotations

import contextlib
import threading
import types
from collections.abc import Callable, Generator
from typing import Any, Generic, TypeVar, cast

from ._tonio import Spawned, spawn_blocking

_T = TypeVar('_T')


class _Handover(Generic[_T]):
    __slots__ = ('abandoned', 'delivered', 'lock', 'started', 'value')

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = False
        self.abandoned = False
        self.delivered = False
        self.value: _T | None = None

    def abandon(self) -> tuple[bool, bool, _T | None]:
        """The task leaves: whether the call started, whether it handed a value over, and
        that value (which the task now owns)."""
        with self.lock:
            self.abandoned = True
            value, self.value = self.value, None
            return self.started, self.delivered, value


def _make(
    handover: _Handover[_T],
    make: Callable[[], _T],
    discard: Callable[[_T], object],
    cleanup: Callable[[], object] | None,
) -> _T | None:
    """On a pool thread: make the value and hand it over, or discard it if the task left."""
    with handover.lock:
        if handover.abandoned:
            return None
        handover.started = True
    try:
        value = make()
    finally:
        if cleanup is not None:
            cleanup()
    with handover.lock:
        if not handover.abandoned:
            handover.value = value
            handover.delivered = True
            return value
    discard(value)
    return None


def _discard_on_pool(discard: Callable[[_T], object], value: _T) -> Spawned[object] | None:
    """Discards ``value`` on the pool; right here if no runtime can take it (a generator
    finalized outside one)."""
    try:
        return spawn_blocking.uninterruptible(discard, value)
    except RuntimeError:
        discard(value)
        return None


@types.coroutine
def _quietly(handle: Spawned[Any]) -> Generator[Any, Any, None]:
    """Waits for ``handle`` and ignores its outcome: the caller is already leaving with an
    exception of its own."""
    with contextlib.suppress(Exception):
        yield handle


@types.coroutine
def make_on_pool(
    make: Callable[[], _T],
    discard: Callable[[_T], object],
    cleanup: Callable[[], object] | None = None,
) -> Generator[Any, Any, _T]:
    """Runs ``make()`` on the blocking pool (uninterruptibly) and gives its value; if the caller
    is cancelled meanwhile, the value is passed to ``discard`` (on a pool thread) instead."""
    handover: _Handover[_T] = _Handover()
    handle = spawn_blocking.uninterruptible(_make, handover, make, discard, cleanup)
    try:
        value: _T = yield handle
    except BaseException as error:
        # A generator closed while it waited (GeneratorExit, not a cancel) can wait no more.
        can_wait = not isinstance(error, GeneratorExit)
        started, delivered, lost = handover.abandon()
        if not started:
            if cleanup is not None:
                cleanup()
        elif delivered:
            discarding = _discard_on_pool(discard, cast(_T, lost))
            if can_wait and discarding is not None:
                yield from _quietly(discarding)
        elif can_wait and not handle.done():
            yield from _quietly(handle)
        raise
    handover.value = None  # delivered: the handover (still held by the pool job) keeps nothing
    return value
