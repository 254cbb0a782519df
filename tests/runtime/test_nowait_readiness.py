"""``receive_some_nowait`` finding nothing forgets the socket's readability, even when other
events (a write's) arrived since the socket was last looked at: otherwise ``wait_readable``
reported the empty socket readable again at once, and a ``wait_readable`` then
``receive_some_nowait`` loop spun (TLS's readiness relies on it)."""

from tests.conftest import run_bounded

import tonio
from tonio import net


def test_a_failed_nowait_read_clears_readability_after_other_events(threads):
    def main():
        left, right = net.socket.socketpair()
        stream, peer = net.SocketStream(left), net.SocketStream(right)
        try:
            yield peer.send_all(b'x')
            assert (yield stream.receive_some()) == b'x'
            yield stream.send_all(b'y')  # a write: more events for this socket
            yield tonio.sleep(0.02)
            assert stream.receive_some_nowait() is stream.NotReady
            return (yield stream.wait_readable(0.05))
        finally:
            stream.close()
            peer.close()

    assert run_bounded(main(), threads=threads) is False
