"""A socket registered with the reactor before it connects must not stay "hung up" afterwards.

epoll reports a TCP socket that has not begun to connect as hung up (EPOLLHUP), and the reactor
keeps a hang-up for good. If that report survived connect(), the socket would look readable
forever: a read finding nothing would retry at once, without end, holding its worker (found by
the echo example's test, where it starved the other workers of the GIL).
"""

import socket as stdlib_socket

import pytest
from tests.conftest import run_bounded

import tonio
from tonio.net import SocketStream, socket


def test_a_socket_used_before_connecting_is_not_left_hung_up(threads):
    with stdlib_socket.socket() as listener:
        listener.bind(('127.0.0.1', 0))
        listener.listen(8)
        port = listener.getsockname()[1]

        def main():
            sock = socket.socket()
            with pytest.raises(OSError):  # not connected: registers it while in TCP_CLOSE
                yield sock.recv(1)
            yield tonio.sleep(0.05)  # time for the reactor to record the hang-up
            yield sock.connect(('127.0.0.1', port))
            peer, _ = listener.accept()
            with peer, SocketStream(sock) as stream:
                readable_before = yield stream.wait_readable(0.1)
                peer.sendall(b'x')
                data = yield stream.receive_some()
            return readable_before, data

        assert run_bounded(main(), timeout=30, threads=threads) == (False, b'x')
