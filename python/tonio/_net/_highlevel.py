"""Opening and serving connections: ``open_tcp_stream`` (happy eyeballs), ``open_tcp_listeners``,
``serve_listeners``, ``serve_tcp`` and their Unix-socket counterparts.

Every function here returns something both syntaxes can wait for. The servers can be started
with ``scope.start(serve_tcp, handler, port)``, which returns the listeners once they listen
(port 0 gives a free port: read it with ``listeners[0].socket.getsockname()``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import socket as _stdlib
import stat
import threading
import types
from collections.abc import Callable, Generator
from typing import Any

from .._scope import TASK_STATUS_IGNORED, scope
from .._tonio import Event, _report_unraisable, sleep, spawn_blocking
from ._socket import SocketType, getaddrinfo, socket
from ._streams import SocketListener, SocketStream

# How long an attempt may run before the next address is tried too (RFC 8305 suggests 250 ms).
HAPPY_EYEBALLS_DELAY = 0.25

# accept() errors that mean "out of resources": wait a little and try again, as servers must.
_ACCEPT_BACKOFF_ERRNOS = {errno.EMFILE, errno.ENFILE, errno.ENOMEM, errno.ENOBUFS}


def _interleave(targets: list[Any]) -> list[Any]:
    """RFC 8305 §4: alternate address families, keeping the resolver's order within each, and
    starting with the family of the first answer."""
    if not targets:
        return targets
    first = targets[0][0]
    mine = [target for target in targets if target[0] == first]
    others = [target for target in targets if target[0] != first]
    ordered: list[Any] = []
    for index in range(max(len(mine), len(others))):
        ordered.extend(group[index] for group in (mine, others) if index < len(group))
    return ordered


@types.coroutine
def open_tcp_stream(
    host: str | bytes,
    port: int,
    *,
    happy_eyeballs_delay: float | None = HAPPY_EYEBALLS_DELAY,
    local_address: str | None = None,
) -> Generator[Any, Any, SocketStream]:
    """Connects to ``host:port``: the name is resolved off the worker threads, then every
    address is tried, a new attempt starting each ``happy_eyeballs_delay`` seconds (or as soon
    as the previous one fails) until one connects; the rest are cancelled and closed."""
    if not isinstance(host, (str, bytes)):
        raise TypeError(f'host must be a str or bytes, not {type(host).__name__}')
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f'port must be an int, not {type(port).__name__}')
    if happy_eyeballs_delay is None:
        happy_eyeballs_delay = HAPPY_EYEBALLS_DELAY
    targets = _interleave((yield getaddrinfo(host, port, type=_stdlib.SOCK_STREAM)))
    if not targets:
        raise OSError(errno.EHOSTUNREACH, f'no addresses found for {host!r}')
    failures: list[OSError] = []
    winner: list[SocketType] = []
    win_lock = threading.Lock()

    @types.coroutine
    def attempt(target: Any, failed: Event, attempts: Any) -> Generator[Any, Any, None]:
        family, type_, proto, _, address = target
        try:
            sock = socket(family, type_, proto)
        except OSError as error:
            failures.append(error)
            failed.set()
            return
        try:
            if local_address is not None:
                with contextlib.suppress(OSError, AttributeError):
                    # Let connect() pick the port, so many connections can share the address.
                    sock.setsockopt(_stdlib.IPPROTO_IP, _stdlib.IP_BIND_ADDRESS_NO_PORT, 1)
                yield sock.bind((local_address, 0))
            yield sock.connect(address)
        except OSError as error:
            sock.close()
            failures.append(error)
            failed.set()
            return
        except BaseException:
            sock.close()
            raise
        with win_lock:
            won = not winner
            if won:
                winner.append(sock)
        if won:
            attempts.cancel()
        else:
            sock.close()

    attempts = scope()
    try:
        try:
            with attempts:
                for target in targets:
                    failed = Event()
                    attempts.spawn(attempt(target, failed, attempts))
                    # Until this attempt fails or the delay passes (a winner cancels it).
                    yield failed.wait(happy_eyeballs_delay)
        finally:
            # Also when cancelled: every attempt is over (its socket closed, or the winner's
            # kept) before this returns.
            yield attempts()
    except BaseException:
        # Cancelled (or failing) even though an attempt won: its connection is nobody's.
        for sock in winner:
            sock.close()
        raise
    if winner:
        return SocketStream(winner[0])
    message = f'all connection attempts to {host!r}:{port} failed'
    if len(failures) == 1:
        raise OSError(failures[0].errno, f'{message}: {failures[0]}') from failures[0]
    raise OSError(message) from ExceptionGroup(message, failures)


@types.coroutine
def open_tcp_listeners(
    port: int,
    *,
    host: str | bytes | None = None,
    backlog: int | None = None,
    reuse_port: bool = False,
) -> Generator[Any, Any, list[SocketListener]]:
    """Listens on ``port`` on every address ``host`` resolves to (all interfaces, IPv4 and
    IPv6, when None). Port 0 picks a free port, the same for every address. ``reuse_port``
    sets SO_REUSEPORT, so several processes can share the port (the kernel balances between
    them)."""
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(f'port must be an int, not {type(port).__name__}')
    backlog = min(backlog or 0xFFFF, 0xFFFF)
    addresses = yield getaddrinfo(host, port, type=_stdlib.SOCK_STREAM, flags=_stdlib.AI_PASSIVE)
    listeners: list[SocketListener] = []
    unsupported: list[OSError] = []
    try:
        for family, type_, proto, _, address in addresses:
            try:
                sock = socket(family, type_, proto)
            except OSError as error:
                if error.errno == errno.EAFNOSUPPORT:
                    unsupported.append(error)
                    continue
                raise
            try:
                sock.setsockopt(_stdlib.SOL_SOCKET, _stdlib.SO_REUSEADDR, 1)
                if reuse_port:
                    sock.setsockopt(_stdlib.SOL_SOCKET, _stdlib.SO_REUSEPORT, 1)
                if family == _stdlib.AF_INET6:
                    sock.setsockopt(_stdlib.IPPROTO_IPV6, _stdlib.IPV6_V6ONLY, 1)
                if port == 0 and listeners:
                    # The same free port on every address.
                    address = (address[0], listeners[0].socket.getsockname()[1], *address[2:])
                yield sock.bind(address)
                sock.listen(backlog)
            except BaseException:
                sock.close()
                raise
            listeners.append(SocketListener(sock))
    except BaseException:
        for listener in listeners:
            listener.close()
        raise
    if not listeners:
        message = f'this system supports none of the address families of {host!r}'
        raise OSError(errno.EAFNOSUPPORT, message) from ExceptionGroup(message, unsupported)
    return listeners


@types.coroutine
def _handle_connection(handler: Callable[[Any], Any], stream: Any) -> Generator[Any, Any, None]:
    """Runs the handler for one connection: its failure closes that connection and is
    reported, never taking the server down."""
    try:
        yield handler(stream)
    except Exception as error:
        _report_unraisable(error, handler)
    finally:
        close = stream.close()
        if close is not None:
            # A TLS stream's close says goodbye (close_notify): a wait.
            with contextlib.suppress(Exception):
                yield close


@types.coroutine
def _accept_loop(
    listener: Any, handler: Callable[[Any], Any], connections: Any
) -> Generator[Any, Any, None]:
    while True:
        try:
            stream = yield listener.accept()
        except OSError as error:
            if error.errno in _ACCEPT_BACKOFF_ERRNOS:
                yield sleep(0.1)
                continue
            raise
        if not connections.spawn(_handle_connection(handler, stream)):
            stream.close()
            return


@types.coroutine
def serve_listeners(
    handler: Callable[[Any], Any],
    listeners: list[Any],
    *,
    task_status: Any = TASK_STATUS_IGNORED,
) -> Generator[Any, Any, None]:
    """Accepts connections on every listener forever, running ``handler(stream)`` for each in a
    task of its own. A handler that raises closes its connection and is reported through
    ``sys.unraisablehook``. Cancelling the server closes the listeners and cancels the
    handlers. Reports the listeners to ``task_status`` (``scope.start``)."""
    if not listeners:
        raise ValueError('serve_listeners() needs at least one listener')
    # Handlers do not cancel each other: one connection's failure is only its own.
    connections = scope(False)
    try:
        with connections:
            accepting = scope()
            try:
                with accepting:
                    for listener in listeners:
                        accepting.spawn(_accept_loop(listener, handler, connections))
                    task_status.started(listeners)
                    yield accepting()
            finally:
                # The accept loops only end by failing or being cancelled: the connections
                # go with them, and the server is over once all have unwound.
                connections.cancel()
                yield accepting()
    finally:
        try:
            yield connections()
        finally:
            # Also when that wait raises: a cancelled server's wait for handlers still
            # unwinding ends with the CancelledError.
            for listener in listeners:
                listener.close()


@types.coroutine
def serve_tcp(
    handler: Callable[[Any], Any],
    port: int,
    *,
    host: str | bytes | None = None,
    backlog: int | None = None,
    reuse_port: bool = False,
    task_status: Any = TASK_STATUS_IGNORED,
) -> Generator[Any, Any, None]:
    """``open_tcp_listeners`` then ``serve_listeners``: serves ``handler`` on ``port``."""
    listeners = yield open_tcp_listeners(port, host=host, backlog=backlog, reuse_port=reuse_port)
    yield serve_listeners(handler, listeners, task_status=task_status)


@types.coroutine
def open_unix_socket(path: str | bytes | os.PathLike[Any]) -> Generator[Any, Any, SocketStream]:
    """Connects to the Unix socket at ``path``."""
    sock = socket(_stdlib.AF_UNIX, _stdlib.SOCK_STREAM)
    try:
        yield sock.connect(os.fspath(path))
    except BaseException:
        sock.close()
        raise
    return SocketStream(sock)


def _unix_bind(sock: _stdlib.socket, path: Any, mode: int | None) -> None:
    with contextlib.suppress(FileNotFoundError):
        if stat.S_ISSOCK(os.stat(path).st_mode):
            # A socket file left by a previous server: listening again replaces it.
            os.unlink(path)
    sock.bind(path)
    if mode is not None:
        os.chmod(path, mode)


@types.coroutine
def open_unix_listener(
    path: str | bytes | os.PathLike[Any],
    *,
    mode: int | None = None,
    backlog: int | None = None,
) -> Generator[Any, Any, SocketListener]:
    """Listens on a Unix socket at ``path`` (replacing a stale socket file there);
    ``mode`` sets its permissions."""
    if not hasattr(_stdlib, 'AF_UNIX'):
        raise OSError(errno.EAFNOSUPPORT, 'Unix sockets are not supported on this platform')
    path = os.fspath(path)
    sock = socket(_stdlib.AF_UNIX, _stdlib.SOCK_STREAM)
    try:
        yield spawn_blocking(_unix_bind, sock._sock, path, mode)
        sock.listen(min(backlog or 0xFFFF, 0xFFFF))
    except BaseException:
        sock.close()
        raise
    return SocketListener(sock)


@types.coroutine
def serve_unix(
    handler: Callable[[Any], Any],
    path: str | bytes | os.PathLike[Any],
    *,
    mode: int | None = None,
    backlog: int | None = None,
    task_status: Any = TASK_STATUS_IGNORED,
) -> Generator[Any, Any, None]:
    """``open_unix_listener`` then ``serve_listeners``."""
    listener = yield open_unix_listener(path, mode=mode, backlog=backlog)
    yield serve_listeners(handler, [listener], task_status=task_status)


__all__ = [
    'open_tcp_listeners',
    'open_tcp_stream',
    'open_unix_listener',
    'open_unix_socket',
    'serve_listeners',
    'serve_tcp',
    'serve_unix',
]
