import errno
import os
import socket as stdlib_socket

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio
from tonio.colored import net
from tonio.colored.net import socket
from tonio.exceptions import BusyResourceError


def open_fds():
    return len(os.listdir('/proc/self/fd'))


async def echo(stream):
    while True:
        data = await stream.receive_some()
        if not data:
            return
        await stream.send_all(data)


def with_server(handler, client, threads=1):
    async def main():
        async with tonio.scope() as s:
            listeners = await s.start(net.serve_tcp, handler, 0, host='127.0.0.1')
            port = listeners[0].socket.getsockname()[1]
            result = await client(port)
            s.cancel()
        return result

    return run_bounded(main(), threads=threads)


def test_echo_over_tcp(threads):
    async def client(port):
        stream = await net.open_tcp_stream('127.0.0.1', port)
        with stream:
            for size in (1, 1000, 100_000):
                payload = os.urandom(size)
                await stream.send_all(payload)
                received = b''
                while len(received) < size:
                    received += await stream.receive_some()
                assert received == payload
            return 'ok'

    fds = open_fds()
    assert with_server(echo, client, threads=threads) == 'ok'
    assert open_fds() == fds


def test_many_clients_at_once(threads):
    async def one(port, index):
        stream = await net.open_tcp_stream('127.0.0.1', port)
        with stream:
            await stream.send_all(f'client {index}'.encode())
            return await stream.receive_some()

    async def client(port):
        return await tonio.spawn(*(one(port, index) for index in range(50)))

    replies = with_server(echo, client, threads=threads)
    assert replies == [f'client {index}'.encode() for index in range(50)]


def test_eof_half_close_and_send_eof():
    async def handler(stream):
        received = b''
        while data := await stream.receive_some():
            received += data
        await stream.send_all(b'got ' + received)

    async def client(port):
        stream = await net.open_tcp_stream('localhost', port)
        with stream:
            await stream.send_all(b'everything')
            stream.send_eof()
            reply = b''
            while data := await stream.receive_some():
                reply += data
            return reply

    assert with_server(handler, client) == b'got everything'


def test_a_failing_handler_closes_its_connection_and_is_reported(unraisable):
    async def handler(stream):
        data = await stream.receive_some()
        if data == b'boom':
            raise ValueError('handler failed')
        await stream.send_all(data)

    async def client(port):
        bad = await net.open_tcp_stream('127.0.0.1', port)
        with bad:
            await bad.send_all(b'boom')
            assert await bad.receive_some() == b''
        good = await net.open_tcp_stream('127.0.0.1', port)
        with good:
            await good.send_all(b'still serving')
            return await good.receive_some()

    assert with_server(handler, client) == b'still serving'
    assert [str(report.exc_value) for report in unraisable] == ['handler failed']


def test_connect_refused_is_the_stdlib_error():
    async def main():
        with stdlib_socket.socket() as probe:
            probe.bind(('127.0.0.1', 0))
            port = probe.getsockname()[1]
        with pytest.raises(ConnectionRefusedError):
            await net.open_tcp_stream('127.0.0.1', port)

    run_bounded(main())


def test_the_socket_module_mirrors_the_stdlib():
    async def main():
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        await listener.bind(('127.0.0.1', 0))
        listener.listen()
        client = socket.socket()
        connected = tonio.spawn(client.connect(listener.getsockname()))
        server, _ = await listener.accept()
        await connected
        await client.sendall(b'abcdef')
        received = b''
        while len(received) < 6:
            received += await server.recv(10)
        for sock in (client, server, listener):
            sock.close()
        return received

    assert run_bounded(main()) == b'abcdef'


def test_udp_sendto_and_recvfrom():
    async def main():
        with (
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as a,
            socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as b,
        ):
            await a.bind(('127.0.0.1', 0))
            await b.sendto(b'datagram', a.getsockname())
            data, _ = await a.recvfrom(100)
            return data

    assert run_bounded(main()) == b'datagram'


def test_unix_sockets(tmp_path):
    path = tmp_path / 'server.sock'

    async def main():
        async with tonio.scope() as s:
            await s.start(net.serve_unix, echo, path)
            stream = await net.open_unix_socket(path)
            with stream:
                await stream.send_all(b'over unix')
                reply = await stream.receive_some()
            s.cancel()
        return reply

    assert run_bounded(main()) == b'over unix'


def test_closing_a_socket_wakes_the_task_waiting_on_it():
    async def main():
        left, right = socket.socketpair()
        with right:

            async def reader():
                try:
                    await left.recv(10)
                except OSError as error:
                    return error.errno

            waiting = tonio.spawn(reader())
            await tonio.sleep(0.01)
            left.close()
            return await waiting

    assert run_bounded(main()) == errno.EBADF


def test_two_readers_at_once_get_busy_resource_error():
    async def main():
        left, right = socket.socketpair()
        with left, right:
            first = tonio.spawn(left.recv(10))
            await tonio.sleep(0.01)
            with pytest.raises(BusyResourceError):
                await left.recv(10)
            await right.sendall(b'x')
            return await first

    assert run_bounded(main()) == b'x'


def test_a_reader_that_never_has_to_wait_still_lets_other_tasks_run():
    # 128 KiB wait in the socket buffer, read 1 KiB at a time: no read has to wait, yet the other
    # task of the (single) worker gets turns in between (the I/O budget), and no byte is lost.
    payload = os.urandom(128 * 1024)

    async def main():
        left, right = socket.socketpair()
        with left, right:
            for sock, option in ((left, stdlib_socket.SO_RCVBUF), (right, stdlib_socket.SO_SNDBUF)):
                sock.setsockopt(stdlib_socket.SOL_SOCKET, option, 1 << 20)
            await right.sendall(payload)
            ticks, turns, done = [0], [], []

            async def ticker():
                while not done:
                    ticks[0] += 1
                    await tonio.yield_now()

            async def reader():
                received = b''
                while len(received) < len(payload):
                    received += await left.recv(1024)
                    turns.append(ticks[0])
                done.append(True)
                return received

            received, _ = await tonio.spawn(reader(), ticker())
            return received, turns

    received, turns = run_bounded(main(), threads=1)
    assert received == payload
    assert turns[-1] - turns[0] >= 8, 'the ticker never ran while the reader read'
