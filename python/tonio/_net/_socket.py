"""tonio sockets: the standard library's socket objects, their blocking methods as waits.

A tonio socket wraps a non-blocking stdlib socket and registers it with the running runtime's
reactor the first time a method has to wait (so a socket made before ``run`` works inside it).
The hot methods (``recv``, ``send``, ``sendall``) return a Waiter whose reads and writes run in
Rust; the others retry the stdlib call each time the reactor reports the socket ready. Every
waiting method can be yielded (generator syntax) or awaited (``async def``).

Errors are the stdlib's ``OSError`` subclasses. Closing a socket wakes any task waiting on it
with ``OSError(EBADF)``; a second task reading (or writing) while one waits gets
``BusyResourceError``.
"""

from __future__ import annotations

import errno
import os
import socket as _stdlib
import types
from collections.abc import Generator
from typing import Any

from .._tonio import ScheduledIO, register, sleep, spawn_blocking


@types.coroutine
def _immediately(value: Any) -> Generator[Any, Any, Any]:
    """A wait that is over at once (both syntaxes can wait for it)."""
    return value
    yield  # a generator, never suspends


class SocketType:
    """A tonio socket (see the module documentation); ``socket.socket(...)`` makes one."""

    __slots__ = ('__weakref__', '_eof', '_io', '_sock', '_stream')

    def __init__(self, sock: _stdlib.socket) -> None:
        if not isinstance(sock, _stdlib.socket):
            raise TypeError(f'a tonio socket wraps a socket.socket, not {type(sock).__name__}')
        sock.setblocking(False)
        self._sock = sock
        self._io: ScheduledIO | None = None
        self._eof = False
        # A short read drains a stream socket, not a datagram one (see `_receive_some`).
        self._stream = sock.type == _stdlib.SOCK_STREAM

    # The registration with the current runtime's reactor, made on first use.

    def _scheduled(self) -> ScheduledIO:
        io = self._io
        if io is not None and io._on_current_runtime():
            return io
        if self._sock.fileno() < 0:
            raise OSError(errno.EBADF, 'the socket is closed')
        if io is not None:
            # Used on another runtime than the one it was registered with.
            io.close()
        io = self._io = register(self._sock.fileno())
        return io

    @types.coroutine
    def _retry(self, direction: str, call: Any, *args: Any) -> Generator[Any, Any, Any]:
        """Calls the stdlib ``call`` until it does not block, waiting for the socket between."""
        io = self._scheduled()
        io._enter(direction)
        try:
            while True:
                waiter = io.arm_r() if direction == 'r' else io.arm_w()
                if waiter is not None:
                    yield waiter
                    continue
                try:
                    return call(*args)
                except (BlockingIOError, InterruptedError):
                    if direction == 'r':
                        io.clear_r()
                    else:
                        io.clear_w()
        finally:
            io._leave(direction)

    # Plain stdlib methods.

    def fileno(self) -> int:
        return self._sock.fileno()

    def detach(self) -> int:
        self._deregister()
        return self._sock.detach()

    def getsockname(self) -> Any:
        return self._sock.getsockname()

    def getpeername(self) -> Any:
        return self._sock.getpeername()

    def getsockopt(self, level: int, optname: int, buflen: int | None = None) -> Any:
        if buflen is None:
            return self._sock.getsockopt(level, optname)
        return self._sock.getsockopt(level, optname, buflen)

    def setsockopt(self, level: int, optname: int, value: Any, optlen: int | None = None) -> None:
        if optlen is None:
            self._sock.setsockopt(level, optname, value)
        else:
            self._sock.setsockopt(level, optname, value, optlen)

    def listen(self, backlog: int = min(_stdlib.SOMAXCONN, 128)) -> None:
        self._sock.listen(backlog)

    def get_inheritable(self) -> bool:
        return self._sock.get_inheritable()

    def set_inheritable(self, inheritable: bool) -> None:
        self._sock.set_inheritable(inheritable)

    def shutdown(self, how: int) -> None:
        self._sock.shutdown(how)
        if how in (_stdlib.SHUT_WR, _stdlib.SHUT_RDWR):
            self._eof = True

    @property
    def family(self) -> Any:
        return self._sock.family

    @property
    def type(self) -> Any:
        return self._sock.type

    @property
    def proto(self) -> int:
        return self._sock.proto

    @property
    def closed(self) -> bool:
        return self._sock.fileno() < 0

    def dup(self) -> SocketType:
        return SocketType(self._sock.dup())

    def _deregister(self) -> None:
        io, self._io = self._io, None
        if io is not None:
            io.close()

    def close(self) -> None:
        """Closes the socket; a task waiting on it wakes with ``OSError(EBADF)``."""
        # Deregistered first: the descriptor must still be open to leave the reactor, and its
        # number must not be reused by another socket while it is still registered.
        self._deregister()
        self._sock.close()

    def __enter__(self) -> SocketType:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        io = getattr(self, '_io', None)
        if io is not None:
            io.close()

    def __repr__(self) -> str:
        return repr(self._sock).replace('socket.socket', 'tonio.net.socket.SocketType', 1)

    # Waiting methods (yield or await what they return).

    def bind(self, address: Any) -> Any:
        """Binds to ``address``; a host name is resolved off the worker threads."""
        return _bind(self, address)

    def connect(self, address: Any) -> Any:
        return _connect(self, address)

    def accept(self) -> Any:
        """Waits for a connection: ``(tonio socket, address)``."""
        return _accept(self)

    def recv(self, bufsize: int, flags: int = 0, /) -> Any:
        if flags == 0 and bufsize > 0:
            return self._scheduled()._receive_some(bufsize, stream=self._stream)
        if bufsize == 0 and flags == 0:
            return _immediately(b'')
        return self._retry('r', self._sock.recv, bufsize, flags)

    def recv_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> Any:
        return self._retry('r', self._sock.recv_into, buffer, nbytes, flags)

    def recvfrom(self, bufsize: int, flags: int = 0, /) -> Any:
        return self._retry('r', self._sock.recvfrom, bufsize, flags)

    def recvfrom_into(self, buffer: Any, nbytes: int = 0, flags: int = 0) -> Any:
        return self._retry('r', self._sock.recvfrom_into, buffer, nbytes, flags)

    if hasattr(_stdlib.socket, 'recvmsg'):

        def recvmsg(self, bufsize: int, ancbufsize: int = 0, flags: int = 0, /) -> Any:
            return self._retry('r', self._sock.recvmsg, bufsize, ancbufsize, flags)

        def recvmsg_into(self, buffers: Any, ancbufsize: int = 0, flags: int = 0, /) -> Any:
            return self._retry('r', self._sock.recvmsg_into, buffers, ancbufsize, flags)

    def send(self, data: Any, flags: int = 0, /) -> Any:
        """Sends what the socket takes once writable; the wait gives the count."""
        if flags == 0:
            return self._scheduled()._send(data)
        return self._retry('w', self._sock.send, data, flags)

    def sendall(self, data: Any, flags: int = 0, /) -> Any:
        """Sends every byte, waiting as often as needed."""
        if flags == 0:
            return self._scheduled()._send_all(data)
        return _sendall_with_flags(self, data, flags)

    def sendto(self, data: Any, *flags_and_address: Any) -> Any:
        return _sendto(self, data, *flags_and_address)

    if hasattr(_stdlib.socket, 'sendmsg'):

        def sendmsg(
            self, buffers: Any, ancdata: Any = (), flags: int = 0, address: Any = None, /
        ) -> Any:
            if address is None:
                return self._retry('w', self._sock.sendmsg, buffers, ancdata, flags)
            return self._retry('w', self._sock.sendmsg, buffers, ancdata, flags, address)


@types.coroutine
def _bind(sock: SocketType, address: Any) -> Generator[Any, Any, None]:
    address = yield _resolve_address(sock, address, local=True)
    sock._sock.bind(address)


@types.coroutine
def _accept(sock: SocketType) -> Generator[Any, Any, tuple[SocketType, Any]]:
    conn, address = yield sock._retry('r', sock._sock.accept)
    return SocketType(conn), address


@types.coroutine
def _connect(sock: SocketType, address: Any) -> Generator[Any, Any, None]:
    address = yield _resolve_address(sock, address, local=False)
    # epoll reports a socket that has not begun to connect as hung up: registered before
    # connect(), that stale state would be taken for the attempt's outcome. So it is registered
    # (afresh, if it already was) only once connect() has begun.
    sock._deregister()
    try:
        sock._sock.connect(address)
    except (BlockingIOError, InterruptedError):
        pass
    else:
        return
    io = sock._scheduled()
    io._enter('w')
    try:
        while True:
            waiter = io.arm_w()
            if waiter is not None:
                yield waiter
                continue
            failure = sock._sock.getsockopt(_stdlib.SOL_SOCKET, _stdlib.SO_ERROR)
            if failure:
                raise OSError(failure, f'{os.strerror(failure)} (connecting to {address!r})')
            try:
                sock._sock.getpeername()
            except OSError:
                # Writable, no error, yet no peer: not connected after all (a readiness that
                # does not belong to this attempt). Back off rather than spin on it.
                io.clear_w()
                yield sleep(0.001)
                continue
            return
    finally:
        io._leave('w')


@types.coroutine
def _sendall_with_flags(sock: SocketType, data: Any, flags: int) -> Generator[Any, Any, None]:
    with memoryview(data) as view:
        sent = 0
        while sent < len(view):
            sent += yield sock._retry('w', sock._sock.send, view[sent:], flags)


@types.coroutine
def _sendto(sock: SocketType, data: Any, *flags_and_address: Any) -> Generator[Any, Any, int]:
    if len(flags_and_address) == 1:
        flags, address = 0, flags_and_address[0]
    elif len(flags_and_address) == 2:
        flags, address = flags_and_address
    else:
        raise TypeError('sendto() takes (data, address) or (data, flags, address)')
    address = yield _resolve_address(sock, address, local=False)
    sent: int = yield sock._retry('w', sock._sock.sendto, data, flags, address)
    return sent


def _is_numeric(family: int, host: Any) -> bool:
    try:
        _stdlib.inet_pton(family, host)
    except (OSError, TypeError, ValueError):
        return False
    return True


@types.coroutine
def _resolve_address(sock: SocketType, address: Any, *, local: bool) -> Generator[Any, Any, Any]:
    """``address`` with its host resolved (off the worker threads) for ``sock``'s family."""
    family = sock.family
    if family == _stdlib.AF_INET:
        if not (isinstance(address, tuple) and len(address) == 2):
            raise ValueError(f'an AF_INET address is a (host, port) tuple, not {address!r}')
    elif family == _stdlib.AF_INET6:
        if not (isinstance(address, tuple) and 2 <= len(address) <= 4):
            raise ValueError(
                f'an AF_INET6 address is a (host, port[, flowinfo[, scope_id]]) tuple, '
                f'not {address!r}'
            )
    elif family == getattr(_stdlib, 'AF_UNIX', None):
        return os.fspath(address)
    else:
        return address
    host, port, *rest = address
    if isinstance(port, int) and host is not None and _is_numeric(family, host):
        return address
    if host == '':
        host = None
    elif host == '<broadcast>':
        host = '255.255.255.255'
    flags = _stdlib.AI_PASSIVE if local else 0
    if family == _stdlib.AF_INET6:
        v6only = sock._sock.getsockopt(_stdlib.IPPROTO_IPV6, _stdlib.IPV6_V6ONLY)
        if not v6only:
            flags |= _stdlib.AI_V4MAPPED
    found = yield getaddrinfo(host, port, family, sock.type, sock.proto, flags)
    if not found:
        raise OSError(errno.EADDRNOTAVAIL, f'cannot resolve {address!r}')
    resolved = found[0][4]
    if family == _stdlib.AF_INET6:
        # Keep the flowinfo and scope id the caller gave.
        resolved = (*resolved[:2], *rest, *resolved[2 + len(rest) :])
    return resolved


def getaddrinfo(
    host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
) -> Any:
    """``socket.getaddrinfo``, run on the blocking pool (name resolution blocks)."""
    return spawn_blocking(_stdlib.getaddrinfo, host, port, family, type, proto, flags)


def getnameinfo(sockaddr: Any, flags: int) -> Any:
    """``socket.getnameinfo``, run on the blocking pool."""
    return spawn_blocking(_stdlib.getnameinfo, sockaddr, flags)


def socket(
    family: int = _stdlib.AF_INET,
    type: int = _stdlib.SOCK_STREAM,
    proto: int = 0,
    fileno: int | None = None,
) -> SocketType:
    """A new tonio socket, as ``socket.socket(...)``."""
    return SocketType(_stdlib.socket(family, type, proto, fileno))


def from_stdlib_socket(sock: _stdlib.socket) -> SocketType:
    """Adopts a stdlib socket (it becomes non-blocking)."""
    return SocketType(sock)


def fromfd(fd: int, family: int, type: int, proto: int = 0) -> SocketType:
    return SocketType(_stdlib.fromfd(fd, family, type, proto))


def socketpair(
    family: int = getattr(_stdlib, 'AF_UNIX', _stdlib.AF_INET),
    type: int = _stdlib.SOCK_STREAM,
    proto: int = 0,
) -> tuple[SocketType, SocketType]:
    left, right = _stdlib.socketpair(family, type, proto)
    return SocketType(left), SocketType(right)
