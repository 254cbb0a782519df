"""examples/echo_server.py: both syntaxes echo every byte back, to many clients at once, close a
connection when the client closes its side, and run as a program that Ctrl-C stops."""

import os
import socket

import echo_server
import pytest
from tests.conftest import run_bounded

import tonio
import tonio.net

HANDLERS = {'yield': echo_server.echo, 'colored': echo_server.echo_async}


def exchange(port, payload):
    """Sends ``payload`` while reading the echo (a large one could not fit the buffers), closes
    the sending side, and returns everything read until the server closed the connection."""
    stream = yield tonio.net.open_tcp_stream('127.0.0.1', port)
    with stream:

        def send():
            for start in range(0, len(payload), 50_000):
                yield stream.send_all(payload[start : start + 50_000])
            stream.send_eof()

        received = bytearray()
        with tonio.scope() as sending:
            sending.spawn(send())
            while data := (yield stream.receive_some()):
                received += data
        yield sending()
    return bytes(received)


@pytest.mark.parametrize('syntax', HANDLERS)
def test_echoes_to_concurrent_clients(syntax, threads):
    payloads = [os.urandom(size) for size in (1, 1000, 65_536, 1_000_000)] * 3

    def main():
        with tonio.scope() as server:
            listeners = yield server.start(
                tonio.net.serve_tcp, HANDLERS[syntax], 0, host='127.0.0.1'
            )
            port = listeners[0].socket.getsockname()[1]
            echoed = yield tonio.spawn(*(exchange(port, payload) for payload in payloads))
            server.cancel()
        return echoed

    echoed = run_bounded(main(), timeout=60, threads=threads)
    assert echoed == payloads


@pytest.mark.parametrize('syntax', HANDLERS)
def test_a_client_that_sends_nothing_gets_nothing(syntax):
    def main():
        with tonio.scope() as server:
            listeners = yield server.start(
                tonio.net.serve_tcp, HANDLERS[syntax], 0, host='127.0.0.1'
            )
            echoed = yield exchange(listeners[0].socket.getsockname()[1], b'')
            server.cancel()
        return echoed

    assert run_bounded(main(), timeout=30) == b''


@pytest.mark.parametrize('syntax', HANDLERS)
def test_the_program_serves_and_stops_on_ctrl_c(syntax, example_server):
    port = example_server('echo_server.py', '--syntax', syntax, '--threads', '2')
    with socket.create_connection(('127.0.0.1', port), timeout=10) as client:
        for message in (b'hello', b'x' * 10_000):
            client.sendall(message)
            received = b''
            while len(received) < len(message):
                received += client.recv(65536)
            assert received == message
        client.shutdown(socket.SHUT_WR)
        assert client.recv(1) == b''
    # The fixture then stops the server with Ctrl-C and checks it exits cleanly.
