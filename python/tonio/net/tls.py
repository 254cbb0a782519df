"""TLS streams for generator code: ``TLSStream`` and ``TLSListener`` over tonio streams, set up
by a standard ``ssl.SSLContext``, and the TLS-over-TCP helpers. ``tonio.colored.net.tls`` has
the same objects for ``async def`` code."""

from .._net._tls import TLSListener as TLSListener
from .._net._tls import TLSStream as TLSStream
from .._net._tls_highlevel import open_tls_over_tcp_listeners as open_tls_over_tcp_listeners
from .._net._tls_highlevel import open_tls_over_tcp_stream as open_tls_over_tcp_stream
from .._net._tls_highlevel import serve_tls_over_tcp as serve_tls_over_tcp

__all__ = [
    'TLSListener',
    'TLSStream',
    'open_tls_over_tcp_listeners',
    'open_tls_over_tcp_stream',
    'serve_tls_over_tcp',
]
