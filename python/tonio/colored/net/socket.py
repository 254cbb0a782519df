"""Low-level sockets for ``async def`` code: the same objects as ``tonio.net.socket``."""

import socket as _stdlib

from ...net.socket import SocketType as SocketType
from ...net.socket import from_stdlib_socket as from_stdlib_socket
from ...net.socket import fromfd as fromfd
from ...net.socket import getaddrinfo as getaddrinfo
from ...net.socket import getnameinfo as getnameinfo
from ...net.socket import socket as socket
from ...net.socket import socketpair as socketpair

globals().update(
    {
        name: value
        for name, value in vars(_stdlib).items()
        if name.isupper() or name in ('error', 'gaierror', 'herror', 'timeout')
    }
)

__all__ = [
    'SocketType',
    'from_stdlib_socket',
    'fromfd',
    'getaddrinfo',
    'getnameinfo',
    'socket',
    'socketpair',
]
