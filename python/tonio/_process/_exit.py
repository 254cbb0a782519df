"""How a task waits for a child process to exit, without reaping it (``Process`` reaps, under its
own lock, so exactly one caller collects the status).

- Linux: a pidfd (``os.pidfd_open``) becomes readable when the child exits. It is registered
  with the reactor like any descriptor, so a thousand waiting tasks use no thread at all.
- Elsewhere, or where the kernel refuses a pidfd (older than 5.3, or a sandbox):
  ``os.waitid(P_PID, pid, WEXITED | WNOWAIT)`` on the blocking pool, which reports the exit
  without reaping (a blocking thread per waiting child); without ``waitid``, polling with a
  sleep growing from 1 ms to 50 ms.

``ExitWatch.changed()`` is one such wait: it ends when the child may have exited, and the
caller then tries to reap. ``USE_PIDFD`` and ``FALLBACK`` choose the mechanism (the tests turn
the pidfd off to exercise the fallbacks).
"""

from __future__ import annotations

import contextlib
import os
import threading
import types
from collections.abc import Generator
from typing import Any

from .._tonio import ScheduledIO, register, sleep, spawn_blocking

USE_PIDFD = hasattr(os, 'pidfd_open')
FALLBACK = 'waitid' if hasattr(os, 'waitid') else 'poll'

_FIRST_POLL = 0.001
_LONGEST_POLL = 0.05


def open_pidfd(pid: int) -> int:
    """A pidfd for ``pid`` (close-on-exec), or -1 where there is none."""
    if not USE_PIDFD:
        return -1
    try:
        return os.pidfd_open(pid)
    except OSError:
        return -1


def _exited(pid: int) -> None:
    """On a pool thread: returns once ``pid`` has exited, leaving it to be reaped."""
    with contextlib.suppress(ChildProcessError):  # already reaped
        os.waitid(os.P_PID, pid, os.WEXITED | os.WNOWAIT)


class ExitWatch:
    """What tells one child's exit: its pidfd (owned; -1 for none) and the pidfd's registration
    with the current runtime's reactor (made on first use, again on another runtime)."""

    __slots__ = ('__weakref__', '_delay', '_io', '_lock', '_pid', '_pidfd')

    def __init__(self, pid: int, pidfd: int) -> None:
        self._pid = pid
        self._pidfd = pidfd
        self._io: ScheduledIO | None = None
        self._lock = threading.Lock()
        self._delay = _FIRST_POLL

    @property
    def uses_pidfd(self) -> bool:
        return self._pidfd >= 0

    def _registration(self) -> ScheduledIO | None:
        with self._lock:
            if self._pidfd < 0:
                return None
            io = self._io
            if io is None or not io._on_current_runtime():
                if io is not None:
                    io.close()
                io = self._io = register(self._pidfd)
            return io

    @types.coroutine
    def changed(self) -> Generator[Any, Any, None]:
        """Waits until the child may have exited (yield or await it)."""
        if self._pidfd >= 0:
            io = self._registration()
            if io is None:
                return  # closed meanwhile: the child was reaped
            try:
                waiter = io.arm_r()
                if waiter is not None:
                    yield waiter
            except OSError:
                pass  # closed while we waited: the child was reaped
            return
        if self._pidfd == -2:
            return  # closed: the child was reaped
        if FALLBACK == 'waitid':
            # Uninterruptible: a thread blocked in waitid cannot be stopped anyway (a cancelled
            # wait kills the child, which ends the call), and a CancelledError sent to the
            # thread could only land in whatever Python code runs there next.
            yield spawn_blocking.uninterruptible(_exited, self._pid)
            return
        delay, self._delay = self._delay, min(self._delay * 2, _LONGEST_POLL)
        yield sleep(delay)

    def close(self) -> None:
        """Deregisters and closes the pidfd (a task waiting on it wakes up). Idempotent."""
        with self._lock:
            io, self._io = self._io, None
            pidfd, self._pidfd = self._pidfd, -2
        if io is not None:
            io.close()
        if pidfd >= 0:
            os.close(pidfd)

    def __del__(self) -> None:
        self.close()
