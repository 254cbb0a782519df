"""A receive (or send) cancelled just as it suspends gives its stream back.

``try_now`` marks the stream's direction as in use; when a cancel reached the task between that
and its registration, nothing gave the mark back, and every later receive on the stream raised
``BusyResourceError`` (the TLS tests' cancelled reads found it). The source's ``abandon`` now
does. The window is a few instructions wide: cancels from another worker hit it at slightly
different moments, thousands of times (only on a free-threaded interpreter: with a GIL the
worker holds it through the window, and the test just passes).
"""

from tests.conftest import FREE_THREADED, run_bounded

import tonio
from tonio import net
from tonio.exceptions import BusyResourceError

ROUNDS = 20_000 if FREE_THREADED else 500


def test_a_receive_cancelled_as_it_suspends_gives_the_stream_back():
    def main():
        left, right = net.socket.socketpair()
        stream, peer = net.SocketStream(left), net.SocketStream(right)
        busy = 0
        for round in range(ROUNDS):
            try:
                with tonio.scope(False) as readers:
                    readers.spawn(stream.receive_some())
                    for _ in range(round % 5):
                        yield tonio.yield_now()
                    readers.cancel()
                yield readers()
            except BusyResourceError:
                busy += 1
        yield peer.send_all(b'x')
        try:
            data = yield stream.receive_some()
        except BusyResourceError:
            data = None
        stream.close()
        peer.close()
        return data, busy

    assert run_bounded(main(), threads=4) == (b'x', 0)
