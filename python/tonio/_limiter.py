"""``limiter(n)``: at most ``n`` holders at a time, for ``tonio.mark.max_concurrency``.

Built on ``Event`` alone for now; once ``tonio.sync.Semaphore`` exists, ``limiter`` can return
one instead (its ``acquire()``/``release()`` are all ``tonio.mark`` uses).

Invariants, all under ``_lock`` (a ``threading.Lock``: workers run truly in parallel on
free-threaded builds, and nothing under it can suspend or run user code):

- ``_free`` permits are unheld, and only while nobody queues: a release with waiters queued
  hands its permit straight to the first of them (FIFO), so no task can overtake the queue.
- A waiter owns a permit from the moment a release takes it out of the queue (under the lock);
  its Event is set after the lock is released (setting wakes a task: nothing of that kind runs
  under our lock). So ownership is queue membership, not the Event's flag.
- A waiter leaving by an exception (a cancel) checks, under the lock, whether it is still queued:
  yes, it leaves the queue (O(1): an OrderedDict keyed by its Event); no, a release handed it a
  permit it will not use, and it passes that on. A handoff whose wake beat the cancel resumes the
  waiter normally (the cancel waits for its next suspension), owning the permit.
"""

from __future__ import annotations

import collections
import threading
import types
from collections.abc import Generator
from typing import Any

from ._tonio import Event


class Limiter:
    __slots__ = ('_free', '_lock', '_queue')

    def __init__(self, limit: int) -> None:
        self._free = limit
        self._lock = threading.Lock()
        self._queue: collections.OrderedDict[Event, None] = collections.OrderedDict()

    @types.coroutine
    def acquire(self) -> Generator[Any, Any, None]:
        """Waits for a permit (yield or await it)."""
        with self._lock:
            if self._free:
                self._free -= 1
                return
            granted = Event()
            self._queue[granted] = None
        try:
            yield granted.wait()
        except BaseException:
            with self._lock:
                if granted in self._queue:
                    del self._queue[granted]
                    successor = None
                else:
                    successor = self._hand_on()
            if successor is not None:
                successor.set()
            raise

    def release(self) -> None:
        """Gives a permit back, to the first waiter if there is one."""
        with self._lock:
            successor = self._hand_on()
        if successor is not None:
            successor.set()

    def _hand_on(self) -> Event | None:
        """Under the lock: the waiter the permit now belongs to (set its Event once the lock is
        released), or None if it went back to the free permits."""
        if self._queue:
            successor, _ = self._queue.popitem(last=False)
            return successor
        self._free += 1
        return None


def limiter(limit: int) -> Limiter:
    """A limiter of ``limit`` permits (a positive integer)."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f'the concurrency limit must be an integer, not {type(limit).__name__}')
    if limit < 1:
        raise ValueError(f'the concurrency limit must be at least 1, got {limit}')
    return Limiter(limit)
