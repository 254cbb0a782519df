"""TLS streams for ``async def`` code: the same objects as ``tonio.net.tls``, awaited."""

from ...net.tls import TLSListener as TLSListener
from ...net.tls import TLSStream as TLSStream
from ...net.tls import open_tls_over_tcp_listeners as open_tls_over_tcp_listeners
from ...net.tls import open_tls_over_tcp_stream as open_tls_over_tcp_stream
from ...net.tls import serve_tls_over_tcp as serve_tls_over_tcp

__all__ = [
    'TLSListener',
    'TLSStream',
    'open_tls_over_tcp_listeners',
    'open_tls_over_tcp_stream',
    'serve_tls_over_tcp',
]
