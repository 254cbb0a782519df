"""TLS over TCP in one call: ``open_tls_over_tcp_stream`` (connect, then handshake),
``open_tls_over_tcp_listeners`` and ``serve_tls_over_tcp`` (TonIO's names and signatures).

Like the rest of ``tonio._net``, each returns something both syntaxes can wait for.
"""

from __future__ import annotations

import functools
import ssl as _stdlib_ssl
import types
from collections.abc import Callable, Generator
from typing import Any

from .._scope import TASK_STATUS_IGNORED
from ..exceptions import ResourceBroken
from ._highlevel import open_tcp_listeners, open_tcp_stream, serve_listeners
from ._tls import TLSListener, TLSStream


@types.coroutine
def open_tls_over_tcp_stream(
    host: str | bytes,
    port: int,
    *,
    https_compatible: bool = False,
    ssl_context: _stdlib_ssl.SSLContext | None = None,
    happy_eyeballs_delay: float | None = None,
) -> Generator[Any, Any, TLSStream]:
    """Connects to ``host:port`` (``open_tcp_stream``) and runs the TLS handshake, checking
    the server's certificate against ``host``. Without ``ssl_context``, the stdlib's default
    (the system's CAs, a peer that ends without close_notify is an error). A failed or cancelled
    handshake closes the connection."""
    if ssl_context is None:
        ssl_context = _stdlib_ssl.create_default_context()
        if hasattr(_stdlib_ssl, 'OP_IGNORE_UNEXPECTED_EOF'):
            # A connection cut short must not pass for a clean end (truncation attacks).
            ssl_context.options &= ~_stdlib_ssl.OP_IGNORE_UNEXPECTED_EOF
    elif not isinstance(ssl_context, _stdlib_ssl.SSLContext):
        raise TypeError(f'ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}')
    tcp_stream = yield open_tcp_stream(host, port, happy_eyeballs_delay=happy_eyeballs_delay)
    try:
        stream = TLSStream(
            tcp_stream,
            ssl_context,
            server_hostname=host,
            https_compatible=https_compatible,
        )
        yield stream.do_handshake()
    except BaseException:
        tcp_stream.close()
        raise
    return stream


@types.coroutine
def open_tls_over_tcp_listeners(
    port: int,
    ssl_context: _stdlib_ssl.SSLContext,
    *,
    host: str | bytes | None = None,
    https_compatible: bool = False,
    backlog: int | None = None,
    reuse_port: bool = False,
) -> Generator[Any, Any, list[TLSListener]]:
    """``open_tcp_listeners`` with each listener wrapped in a ``TLSListener`` using
    ``ssl_context`` (which needs the server's certificate and key)."""
    if not isinstance(ssl_context, _stdlib_ssl.SSLContext):
        raise TypeError(f'ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}')
    listeners = yield open_tcp_listeners(port, host=host, backlog=backlog, reuse_port=reuse_port)
    return [
        TLSListener(listener, ssl_context, https_compatible=https_compatible)
        for listener in listeners
    ]


@types.coroutine
def _handshake_then(handler: Callable[[Any], Any], stream: TLSStream) -> Generator[Any, Any, Any]:
    try:
        yield stream.do_handshake()
    except (ResourceBroken, OSError):
        # A client that could not or would not finish its handshake: its connection is closed
        # like any other, and there is nothing for the handler to do nor for us to report.
        return None
    return (yield handler(stream))


@types.coroutine
def serve_tls_over_tcp(
    handler: Callable[[Any], Any],
    port: int,
    ssl_context: _stdlib_ssl.SSLContext,
    *,
    host: str | bytes | None = None,
    https_compatible: bool = False,
    backlog: int | None = None,
    reuse_port: bool = False,
    task_status: Any = TASK_STATUS_IGNORED,
) -> Generator[Any, Any, None]:
    """``open_tls_over_tcp_listeners`` then ``serve_listeners``: ``handler(stream)`` runs for
    each connection once its handshake is done (in the connection's own task, so a slow client
    holds up no one); a failed handshake just closes that connection. When the handler
    returns, the stream is closed with a close_notify. Reports the listeners to
    ``task_status`` (``scope.start``)."""
    listeners = yield open_tls_over_tcp_listeners(
        port,
        ssl_context,
        host=host,
        https_compatible=https_compatible,
        backlog=backlog,
        reuse_port=reuse_port,
    )

    @functools.wraps(handler)
    def handshaken(stream: TLSStream) -> Any:
        return _handshake_then(handler, stream)

    yield serve_listeners(handshaken, listeners, task_status=task_status)


__all__ = ['open_tls_over_tcp_listeners', 'open_tls_over_tcp_stream', 'serve_tls_over_tcp']
