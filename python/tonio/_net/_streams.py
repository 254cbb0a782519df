"""Streams over sockets: ``SocketStream`` (a connected byte stream) and ``SocketListener``.

The methods that wait return objects both syntaxes can wait for: ``yield stream.receive_some()``
in generator code, ``await stream.receive_some()`` in ``async def`` code.
"""

from __future__ import annotations

import contextlib
import errno
import socket as _stdlib
import types
from collections.abc import Generator
from typing import Any

from .._streams import Stream
from .._tonio import Waiter
from .._tonio import time as _now
from ..exceptions import WouldBlock
from ._socket import SocketType, _immediately


class StreamWatcher:
    """``with stream.watch_readable() as watcher``: ``watcher.waiter()`` is a Waiter until the
    direction is ready (None when it already is), to combine with others (``waiter | stop``);
    ``watcher.ready()`` tells whether it is ready now."""

    __slots__ = ('_arm',)

    def __init__(self, arm: Any) -> None:
        self._arm = arm

    def __enter__(self) -> StreamWatcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def waiter(self, timeout: float | None = None) -> Waiter[bool] | None:
        waiter: Waiter[bool] | None = self._arm(timeout)
        return waiter

    def ready(self) -> bool:
        return self._arm(None) is None


@types.coroutine
def _wait_ready(arm: Any, timeout: float | None) -> Generator[Any, Any, bool]:
    """Waits until ``arm`` reports ready: True, or False once ``timeout`` seconds passed."""
    deadline = None if timeout is None else _now() + max(timeout, 0.0)
    while True:
        remaining = None if deadline is None else max(deadline - _now(), 0.0)
        waiter = arm(remaining)
        if waiter is None:
            return True
        if remaining == 0.0:
            return False
        yield waiter


class SocketStream(Stream):
    """A connected stream socket (TCP or Unix). TCP_NODELAY is on: small writes go out at once."""

    __slots__ = ('socket',)

    def __init__(self, socket: SocketType) -> None:
        if not isinstance(socket, SocketType):
            raise TypeError(f'SocketStream needs a tonio socket, not {type(socket).__name__}')
        if socket.type != _stdlib.SOCK_STREAM:
            raise ValueError('SocketStream needs a SOCK_STREAM socket')
        self.socket = socket
        if socket.family in (_stdlib.AF_INET, _stdlib.AF_INET6):
            with contextlib.suppress(OSError):
                socket.setsockopt(_stdlib.IPPROTO_TCP, _stdlib.TCP_NODELAY, True)
            if hasattr(_stdlib, 'TCP_NOTSENT_LOWAT'):
                # Keep little unsent data in the kernel: send_all returns when the peer can
                # actually take more, and a cancel leaves less in flight.
                with contextlib.suppress(OSError):
                    socket.setsockopt(_stdlib.IPPROTO_TCP, _stdlib.TCP_NOTSENT_LOWAT, 2**14)

    def send_all(self, data: Any) -> Any:
        """Sends every byte of ``data`` (bytes-like)."""
        # The stream's two hot paths make one call into Rust when the socket is registered with
        # the current runtime, and only else go through `_scheduled()`: each Python frame and
        # attribute lookup saved is 50-250 ns on 3.13t, whose interpreter does not specialize.
        socket = self.socket
        if socket._eof:
            raise RuntimeError("can't send data after send_eof()")
        io = socket._io
        if io is not None:
            waiter = io._stream_send_all(data)
            if waiter is not None:
                return waiter
        return socket._scheduled()._send_all(data)

    def send_eof(self) -> None:
        """Closes the sending side (the peer reads EOF); receiving still works."""
        if self.socket._eof:
            return
        with contextlib.suppress(OSError):
            self.socket.shutdown(_stdlib.SHUT_WR)

    def receive_some(self, max_bytes: int | None = None) -> Any:
        """The bytes available (at least one, at most ``max_bytes``, default 64 KiB), waiting
        for some if none are; ``b""`` at end of stream."""
        socket = self.socket
        io = socket._io
        if io is not None:
            waiter = io._stream_receive(max_bytes)
            if waiter is not None:
                return waiter
        return socket._scheduled()._receive_some(max_bytes, stream=True)

    def wait_readable(self, timeout: float | None = None) -> Any:
        """Waits until data can be read: True, or False when ``timeout`` seconds pass first."""
        return _wait_ready(self.socket._scheduled().arm_r, timeout)

    def wait_writable(self, timeout: float | None = None) -> Any:
        """Waits until data can be written: True, or False when ``timeout`` seconds pass."""
        return _wait_ready(self.socket._scheduled().arm_w, timeout)

    def waiter_readable(self, timeout: float | None = None) -> Waiter[bool] | None:
        return self.socket._scheduled().arm_r(timeout)

    def waiter_writable(self, timeout: float | None = None) -> Waiter[bool] | None:
        return self.socket._scheduled().arm_w(timeout)

    def watch_readable(self) -> StreamWatcher:
        return StreamWatcher(self.socket._scheduled().arm_r)

    def watch_writable(self) -> StreamWatcher:
        return StreamWatcher(self.socket._scheduled().arm_w)

    def receive_some_nowait(self, max_bytes: int | None = None) -> Any:
        """The bytes available now, or ``stream.NotReady`` if there are none yet."""
        io = self.socket._scheduled()
        # Notes the readiness seen before the read: clear_r() then forgets exactly that (with a
        # stale note it would do nothing, and wait_readable would report this empty socket
        # readable again and again).
        io.arm_r()
        try:
            return self.socket._sock.recv(max_bytes or 65536)
        except BlockingIOError:
            io.clear_r()
            return self.NotReady

    def try_receive_some(self, max_bytes: int | None = None) -> bytes:
        """The bytes available now; raises ``WouldBlock`` if there are none yet."""
        data = self.receive_some_nowait(max_bytes)
        if data is self.NotReady:
            raise WouldBlock('no data to receive yet')
        return data  # type: ignore[no-any-return]

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> Any:
        return self.socket.getsockopt(level, optname, buflen)

    def setsockopt(self, level: int, optname: int, value: Any, optlen: int | None = None) -> None:
        self.socket.setsockopt(level, optname, value, optlen)

    def close(self) -> None:
        """Closes the stream; a task waiting on it wakes with ``OSError(EBADF)``."""
        self.socket.close()

    def __repr__(self) -> str:
        return f'<tonio SocketStream {self.socket!r}>'


# Errors accept() can report for a connection that failed before it was taken: skip it.
_SKIPPED_ACCEPT_ERRNOS = {
    getattr(errno, name)
    for name in (
        'ECONNABORTED',
        'ECONNRESET',
        'EHOSTDOWN',
        'EHOSTUNREACH',
        'ENETDOWN',
        'ENETUNREACH',
        'ENONET',
        'ENOPROTOOPT',
        'EOPNOTSUPP',
        'EPERM',
        'EPROTO',
        'ETIMEDOUT',
    )
    if hasattr(errno, name)
}


@types.coroutine
def _accept_stream(listener: SocketListener) -> Generator[Any, Any, SocketStream]:
    while True:
        try:
            sock, _ = yield listener.socket.accept()
        except OSError as error:
            if error.errno not in _SKIPPED_ACCEPT_ERRNOS:
                raise
        else:
            return SocketStream(sock)


class SocketListener(Stream):
    """A listening stream socket: ``accept()`` gives a ``SocketStream`` per connection."""

    __slots__ = ('socket',)

    def __init__(self, socket: SocketType) -> None:
        if not isinstance(socket, SocketType):
            raise TypeError(f'SocketListener needs a tonio socket, not {type(socket).__name__}')
        if socket.type != _stdlib.SOCK_STREAM:
            raise ValueError('SocketListener needs a SOCK_STREAM socket')
        self.socket = socket

    def accept(self) -> Any:
        """Waits for the next connection: a ``SocketStream``."""
        return _accept_stream(self)

    def close(self) -> None:
        self.socket.close()

    def __repr__(self) -> str:
        return f'<tonio SocketListener {self.socket!r}>'


__all__ = ['SocketListener', 'SocketStream', 'StreamWatcher', '_immediately']
