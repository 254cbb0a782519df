import array
import errno
import os
import socket as stdlib_socket

import pytest
from tests.conftest import run_bounded

import tonio
from tonio import net
from tonio.exceptions import BusyResourceError
from tonio.net import socket


def open_fds():
    return len(os.listdir('/proc/self/fd'))


def echo(stream):
    while True:
        data = yield stream.receive_some()
        if not data:
            return
        yield stream.send_all(data)


def with_server(handler, client, threads=1, **serve_options):
    """Runs ``client(port)`` against ``serve_tcp(handler)`` on a free loopback port."""

    def main():
        with tonio.scope() as s:
            listeners = yield s.start(net.serve_tcp, handler, 0, host='127.0.0.1', **serve_options)
            port = listeners[0].socket.getsockname()[1]
            result = yield client(port)
            s.cancel()
        yield s()
        return result

    return run_bounded(main(), threads=threads)


def test_echo_over_tcp(threads):
    def client(port):
        stream = yield net.open_tcp_stream('127.0.0.1', port)
        with stream:
            for size in (1, 1000, 100_000):
                payload = os.urandom(size)
                yield stream.send_all(payload)
                received = b''
                while len(received) < size:
                    received += yield stream.receive_some()
                assert received == payload
            return 'ok'

    fds = open_fds()
    assert with_server(echo, client, threads=threads) == 'ok'
    assert open_fds() == fds


def test_many_clients_at_once(threads):
    def one(port, index):
        stream = yield net.open_tcp_stream('127.0.0.1', port)
        with stream:
            message = f'client {index}'.encode()
            yield stream.send_all(message)
            return (yield stream.receive_some())

    def client(port):
        return tonio.spawn(*(one(port, index) for index in range(50)))

    replies = with_server(echo, client, threads=threads)
    assert replies == [f'client {index}'.encode() for index in range(50)]


def test_localhost_connects_whatever_family_the_server_listens_on():
    # 'localhost' resolves to ::1 and 127.0.0.1; the server listens on 127.0.0.1 only, so the
    # IPv6 attempt is refused and the IPv4 one wins.
    def client(port):
        stream = yield net.open_tcp_stream('localhost', port)
        with stream:
            yield stream.send_all(b'hi')
            return (yield stream.receive_some())

    assert with_server(echo, client) == b'hi'


def test_eof_half_close_and_send_eof():
    def handler(stream):
        received = b''
        while data := (yield stream.receive_some()):
            received += data
        # The client closed its sending side: we can still answer.
        yield stream.send_all(b'got ' + received)

    def client(port):
        stream = yield net.open_tcp_stream('127.0.0.1', port)
        with stream:
            yield stream.send_all(b'everything')
            stream.send_eof()
            with pytest.raises(RuntimeError, match='after send_eof'):
                stream.send_all(b'more')
            reply = b''
            while data := (yield stream.receive_some()):
                reply += data
            return reply

    assert with_server(handler, client) == b'got everything'


def test_a_failing_handler_closes_its_connection_and_is_reported(unraisable):
    def handler(stream):
        data = yield stream.receive_some()
        if data == b'boom':
            raise ValueError('handler failed')
        yield stream.send_all(data)

    def client(port):
        bad = yield net.open_tcp_stream('127.0.0.1', port)
        with bad:
            yield bad.send_all(b'boom')
            assert (yield bad.receive_some()) == b''  # closed by the server
        good = yield net.open_tcp_stream('127.0.0.1', port)
        with good:
            yield good.send_all(b'still serving')
            return (yield good.receive_some())

    assert with_server(handler, client) == b'still serving'
    assert [str(report.exc_value) for report in unraisable] == ['handler failed']


def test_connect_refused_is_the_stdlib_error():
    def main():
        with stdlib_socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            yield net.open_tcp_stream('127.0.0.1', port)
        sock = socket.socket()
        with sock, pytest.raises(ConnectionRefusedError):
            yield sock.connect(('127.0.0.1', port))

    fds = open_fds()
    run_bounded(main())
    assert open_fds() == fds


def test_the_socket_module_mirrors_the_stdlib():
    def main():
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        yield listener.bind(('127.0.0.1', 0))
        listener.listen()
        address = listener.getsockname()
        client = socket.socket()
        connected = tonio.spawn(client.connect(address))
        server, peer = yield listener.accept()
        yield connected
        assert client.getpeername() == address
        assert server.getpeername() == peer
        assert client.getsockopt(socket.SOL_SOCKET, socket.SO_TYPE) == socket.SOCK_STREAM
        assert (yield client.send(b'abc')) == 3
        yield client.sendall(b'def')
        buffer = bytearray(10)
        received = 0
        while received < 6:
            received += yield server.recv_into(memoryview(buffer)[received:])
        assert bytes(buffer[:6]) == b'abcdef'
        client.shutdown(socket.SHUT_WR)
        assert (yield server.recv(10)) == b''
        assert (yield server.recv(0)) == b''
        for sock in (client, server, listener):
            sock.close()
            assert sock.closed
        return address[0]

    assert run_bounded(main()) == '127.0.0.1'


def test_udp_sendto_and_recvfrom():
    def main():
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
        ):
            yield a.bind(('127.0.0.1', 0))
            yield b.bind(('127.0.0.1', 0))
            receiving = tonio.spawn(a.recvfrom(100))
            yield tonio.sleep(0.01)
            yield b.sendto(b'datagram', a.getsockname())
            data, sender = yield receiving
            assert sender == b.getsockname()
            yield a.sendto(b'reply', 0, sender)
            data2, _ = yield b.recvfrom(100)
            return data, data2

    assert run_bounded(main()) == (b'datagram', b'reply')


def test_unix_sockets(tmp_path):
    path = tmp_path / 'server.sock'

    def main():
        with tonio.scope() as s:
            yield s.start(net.serve_unix, echo, path)
            stream = yield net.open_unix_socket(path)
            with stream:
                yield stream.send_all(b'over unix')
                reply = yield stream.receive_some()
            s.cancel()
        yield s()
        return reply

    assert run_bounded(main()) == b'over unix'
    # Serving again on the path replaces the stale socket file.
    assert run_bounded(main()) == b'over unix'


def test_closing_a_socket_wakes_the_task_waiting_on_it():
    def main():
        left, right = socket.socketpair()
        with right:

            def reader():
                try:
                    yield left.recv(10)
                except OSError as error:
                    return error.errno

            waiting = tonio.spawn(reader())
            yield tonio.sleep(0.01)
            left.close()
            return (yield waiting)

    assert run_bounded(main()) == errno.EBADF


def test_two_readers_at_once_get_busy_resource_error():
    def main():
        left, right = socket.socketpair()
        with left, right:
            first = tonio.spawn(left.recv(10))
            yield tonio.sleep(0.01)
            with pytest.raises(BusyResourceError):
                yield left.recv(10)
            with pytest.raises(BusyResourceError):
                yield left.recvfrom(10)
            yield right.sendall(b'x')
            return (yield first)

    assert run_bounded(main()) == b'x'


def test_a_reader_that_never_has_to_wait_still_lets_other_tasks_run():
    # 128 KiB wait in the socket buffer, read 1 KiB at a time: no read has to wait, yet the other
    # task of the (single) worker gets turns in between (the I/O budget), and no byte is lost.
    payload = os.urandom(128 * 1024)

    def main():
        left, right = socket.socketpair()
        with left, right:
            for sock, option in ((left, stdlib_socket.SO_RCVBUF), (right, stdlib_socket.SO_SNDBUF)):
                sock.setsockopt(stdlib_socket.SOL_SOCKET, option, 1 << 20)
            yield right.sendall(payload)
            ticks, turns, done = [0], [], []

            def ticker():
                while not done:
                    ticks[0] += 1
                    yield

            def reader():
                received = b''
                while len(received) < len(payload):
                    received += yield left.recv(1024)
                    turns.append(ticks[0])
                done.append(True)
                return received

            received, _ = yield tonio.spawn(reader(), ticker())
            return received, turns

    received, turns = run_bounded(main(), threads=1)
    assert received == payload
    assert turns[-1] - turns[0] >= 8, 'the ticker never ran while the reader read'


def test_using_a_socket_outside_a_runtime_is_a_clear_error():
    sock = socket.socket()
    with sock, pytest.raises(RuntimeError, match='must be called from a task'):
        sock.recv(10)


def test_sends_take_any_bytes_like_object_as_the_stdlib_does():
    """bytes, bytearray, a memoryview slice or an array go out as their bytes, through the
    stream and the socket alike; anything else is the stdlib's TypeError (a released memoryview
    its ValueError)."""

    def main():
        left, right = socket.socketpair()
        with left, right:
            sender, receiver = net.SocketStream(left), net.SocketStream(right)
            sends = [
                sender.send_all,
                left.sendall,
                lambda data: left.send(data),
            ]
            payloads = [
                b'abc',
                bytearray(b'def'),
                memoryview(b'xghix')[1:4],
                array.array('i', [7, 8]),
            ]
            for send in sends:
                for payload in payloads:
                    expected = bytes(payload)
                    yield send(payload)
                    received = b''
                    while len(received) < len(expected):
                        received += yield receiver.receive_some()
                    assert received == expected
                for wrong in ('text', 5, None):
                    with pytest.raises(TypeError, match='bytes-like object is required'):
                        yield send(wrong)
                released = memoryview(b'abc')
                released.release()
                with pytest.raises(ValueError, match='released memoryview'):
                    yield send(released)
        return 'ok'

    assert run_bounded(main(), threads=1) == 'ok'


def test_a_stream_outlives_its_runtime_and_works_on_the_next():
    """A stream registers its socket with the runtime that uses it: on a second runtime it
    registers again (the first registration is gone with its runtime), and outside any runtime
    it is the clear error, not a stale registration."""
    left, right = socket.socketpair()
    streams = net.SocketStream(left), net.SocketStream(right)

    def exchange(payload):
        def main():
            yield streams[0].send_all(payload)
            received = b''
            while len(received) < len(payload):
                received += yield streams[1].receive_some()
            return received

        return main()

    with left, right:
        for threads in (1, 2, 1):
            payload = os.urandom(5000)
            assert run_bounded(exchange(payload), threads=threads) == payload
        with pytest.raises(RuntimeError, match='must be called from a task'):
            streams[1].receive_some()
        with pytest.raises(RuntimeError, match='must be called from a task'):
            streams[0].send_all(b'x')


def test_nowait_and_readiness_helpers():
    def main():
        left, right = socket.socketpair()
        with left, right:
            stream = net.SocketStream(left)
            assert stream.receive_some_nowait() is stream.NotReady
            with pytest.raises(tonio.exceptions.WouldBlock):
                stream.try_receive_some()
            assert (yield stream.wait_readable(timeout=0.01)) is False
            yield right.sendall(b'ready')
            assert (yield stream.wait_readable()) is True
            with stream.watch_readable() as watcher:
                assert watcher.ready()
            assert stream.try_receive_some() == b'ready'
            fired = None
            stop = tonio.Event()
            stop.set()
            with stream.watch_readable() as watcher:
                if (waiter := watcher.waiter()) is not None:
                    fired = yield waiter | stop.wait()
            if fired is None:
                # Still marked readable from the last read: the next read tells.
                assert stream.receive_some_nowait() is stream.NotReady
                with stream.watch_readable() as watcher:
                    fired = yield watcher.waiter() | stop.wait()
            return fired, (yield stream.wait_writable())

    assert run_bounded(main()) == (1, True)
