"""Driving your own I/O: any file descriptor the reactor can poll, with tonio's readiness
protocol (TonIO's ``tonio.io``), and ``FdStream`` for pipe-like descriptors.

``register(fd)`` gives a ``ScheduledIO``: ``arm_r()``/``arm_w()`` return None when the
descriptor is known ready, else a Waiter (optional ``timeout`` in seconds); do the syscall, and
if it would block, ``clear_r()``/``clear_w()`` and arm again. ``consume_r()``/``consume_w()``
take a direction's readiness. ``close()`` deregisters (do it before closing the descriptor) and
wakes any task waiting on it with ``OSError(EBADF)``. The descriptor is neither owned nor made
non-blocking: that is up to you.
"""

from __future__ import annotations

import os
import types
from collections.abc import Generator
from typing import Any

from ._streams import Stream
from ._tonio import ScheduledIO as ScheduledIO
from ._tonio import register as register
from .exceptions import ResourceBroken


@types.coroutine
def _translated(waiter: Any) -> Generator[Any, Any, Any]:
    try:
        return (yield waiter)
    except (BrokenPipeError, ConnectionResetError) as error:
        raise ResourceBroken(str(error)) from error


class FdStream(Stream):
    """A pipe-like file descriptor as a stream (owned: closing the stream closes it).

    ``send_all(data)`` and ``receive_some(max_bytes=None)`` (``b""`` at end of file) are waits
    for either syntax; the reads and writes run in Rust. Two tasks reading (or writing) at once:
    ``BusyResourceError`` (a ``WouldBlock``); a broken pipe: ``ResourceBroken``.
    """

    __slots__ = ('_fd', '_io')

    def __init__(self, fd: int) -> None:
        if isinstance(fd, bool) or not isinstance(fd, int):
            raise TypeError(f'FdStream takes a file descriptor (an int), not {type(fd).__name__}')
        os.set_blocking(fd, False)
        self._fd = fd
        self._io: ScheduledIO | None = None

    def _scheduled(self) -> ScheduledIO:
        if self._fd < 0:
            raise RuntimeError('this FdStream is closed')
        io = self._io
        if io is None or not io._on_current_runtime():
            if io is not None:
                io.close()
            io = self._io = register(self._fd)
        return io

    def fileno(self) -> int:
        return self._fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def send_all(self, data: Any) -> Any:
        return _translated(self._scheduled()._send_all(data))

    def receive_some(self, max_bytes: int | None = None) -> Any:
        return _translated(self._scheduled()._receive_some(max_bytes))

    def close(self) -> None:
        """Closes the descriptor; a task waiting on it wakes with ``OSError(EBADF)``."""
        if self._fd < 0:
            return
        io, self._io = self._io, None
        if io is not None:
            io.close()
        fd, self._fd = self._fd, -1
        os.close(fd)

    def __del__(self) -> None:
        if getattr(self, '_fd', -1) >= 0:
            self.close()

    def __repr__(self) -> str:
        return f'<tonio.io.FdStream fd={self._fd}>'


__all__ = ['FdStream', 'ScheduledIO', 'register']
