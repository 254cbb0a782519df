"""Networking: streams, listeners and servers over TCP and Unix sockets.

Generator syntax yields what these return (``stream = yield open_tcp_stream(host, port)``);
``tonio.colored.net`` has the same names for ``async def`` code. Low-level sockets are in
``tonio.net.socket``, TLS in ``tonio.net.tls``.
"""

from .._net._highlevel import open_tcp_listeners as open_tcp_listeners
from .._net._highlevel import open_tcp_stream as open_tcp_stream
from .._net._highlevel import open_unix_listener as open_unix_listener
from .._net._highlevel import open_unix_socket as open_unix_socket
from .._net._highlevel import serve_listeners as serve_listeners
from .._net._highlevel import serve_tcp as serve_tcp
from .._net._highlevel import serve_unix as serve_unix
from .._net._streams import SocketListener as SocketListener
from .._net._streams import SocketStream as SocketStream
from .._net._streams import StreamWatcher as StreamWatcher
from . import socket as socket
from . import tls as tls

__all__ = [
    'SocketListener',
    'SocketStream',
    'StreamWatcher',
    'open_tcp_listeners',
    'open_tcp_stream',
    'open_unix_listener',
    'open_unix_socket',
    'serve_listeners',
    'serve_tcp',
    'serve_unix',
    'socket',
    'tls',
]
