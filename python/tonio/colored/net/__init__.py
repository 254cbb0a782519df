"""Networking for ``async def`` code: the same objects as ``tonio.net``, awaited."""

from ...net import SocketListener as SocketListener
from ...net import SocketStream as SocketStream
from ...net import StreamWatcher as StreamWatcher
from ...net import open_tcp_listeners as open_tcp_listeners
from ...net import open_tcp_stream as open_tcp_stream
from ...net import open_unix_listener as open_unix_listener
from ...net import open_unix_socket as open_unix_socket
from ...net import serve_listeners as serve_listeners
from ...net import serve_tcp as serve_tcp
from ...net import serve_unix as serve_unix
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
