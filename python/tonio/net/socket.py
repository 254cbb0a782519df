"""Low-level sockets mirroring the standard library's ``socket`` module: the same methods, the
blocking ones returning waits (yield them in generator code, await them in ``async def``).

The stdlib's constants are re-exported, so ``from tonio.net import socket`` then
``socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)`` reads as usual.
"""

import socket as _stdlib

from .._net._socket import SocketType as SocketType
from .._net._socket import from_stdlib_socket as from_stdlib_socket
from .._net._socket import fromfd as fromfd
from .._net._socket import getaddrinfo as getaddrinfo
from .._net._socket import getnameinfo as getnameinfo
from .._net._socket import socket as socket
from .._net._socket import socketpair as socketpair

# The stdlib's constants and exceptions (AF_*, SOCK_*, SOL_*, SO_*, IPPROTO_*, TCP_*, ...).
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
