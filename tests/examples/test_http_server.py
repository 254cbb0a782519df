"""examples/http_server.py: curl against the running program (GET, keep-alive, HEAD, 404, 405,
malformed requests), pipelined requests and the idle timeout over raw sockets, and the request
parser alone."""

import re
import socket
import subprocess

import http_server
import pytest
from http_server import BadRequest, parse_head
from tests.conftest import run_bounded

import tonio
import tonio.net

from .conftest import require


def curl(*args):
    """Runs curl (bounded in time) and returns what it printed."""
    finished = subprocess.run(
        [require('curl'), '--silent', '--show-error', '--max-time', '10', *args],
        capture_output=True,
        timeout=30,
    )
    assert finished.returncode == 0, finished.stderr.decode()
    return finished.stdout.decode()  # as sent: CRLF kept


@pytest.fixture
def base_url(example_server):
    return f'http://127.0.0.1:{example_server("http_server.py", "--threads", "2")}'


def statuses(*requests):
    """Runs ``requests`` (each a list of curl arguments ending with the URL) in one curl, which
    reuses its connection when it can: each request's status and how many connections it made."""
    args = []
    for request in requests:
        args += ['--next', '--output', '/dev/null', '--write-out', '%{http_code} %{num_connects}\n']
        args += request
    return curl(*args[1:]).splitlines()


def test_get(base_url):
    response = curl('--include', f'{base_url}/')
    head, body = response.split('\r\n\r\n', 1)
    lines = head.split('\r\n')
    assert lines[0] == 'HTTP/1.1 200 OK'
    headers = dict(line.split(': ', 1) for line in lines[1:])
    assert headers['Content-Type'] == 'text/plain; charset=utf-8'
    assert headers['Content-Length'] == str(len(body.encode()))
    assert headers['Date'].endswith(' GMT')
    assert 'Connection' not in headers  # HTTP/1.1: keep-alive by default
    assert body == 'Hello, world!\n'


def test_keep_alive_serves_many_requests_on_one_connection(base_url):
    paths = ['/', '/?q=1', '/missing', '/'] * 3
    # One connection made for the first request; every later one reused it.
    assert (
        statuses(*([f'{base_url}{path}'] for path in paths))
        == [
            '200 1',
            '200 0',
            '404 0',
            '200 0',
        ]
        + ['200 0', '200 0', '404 0', '200 0'] * 2
    )


def test_http_1_0_closes_unless_asked_to_keep_alive(base_url):
    plain = ['--http1.0', f'{base_url}/']
    assert statuses(plain, plain) == ['200 1', '200 1']
    keep = ['--http1.0', '--header', 'Connection: keep-alive', f'{base_url}/']
    assert statuses(keep, keep) == ['200 1', '200 0']


def test_head_has_the_get_headers_and_no_body(base_url):
    head = curl('--head', f'{base_url}/')
    assert head.startswith('HTTP/1.1 200 OK\r\n')
    assert 'Content-Length: 14\r\n' in head and head.endswith('\r\n\r\n')
    # The connection is still usable: the HEAD response had no body for curl to skip.
    assert statuses(['--head', f'{base_url}/'], [f'{base_url}/']) == ['200 1', '200 0']


def test_not_found(base_url):
    out = curl('--write-out', '|%{http_code}', f'{base_url}/nowhere')
    assert out == 'Not Found\n|404'


def test_other_methods_are_not_allowed_and_their_body_is_skipped(base_url):
    body = ['--data-binary', 'x' * 100_000, f'{base_url}/']
    assert statuses(body, [f'{base_url}/']) == ['405 1', '200 0']
    assert 'Allow: GET, HEAD' in curl('--include', '--request', 'DELETE', f'{base_url}/')


def test_malformed_requests_get_400_and_a_closed_connection(base_url):
    # A method with a space makes a request line of four words.
    out = curl('--include', '--request', 'NOT VALID', f'{base_url}/')
    assert out.startswith('HTTP/1.1 400 Bad Request\r\n') and 'Connection: close\r\n' in out
    # HTTP/1.1 without a Host header.
    assert (
        curl(
            '--write-out',
            '%{http_code}',
            '--output',
            '/dev/null',
            '--header',
            'Host:',
            f'{base_url}/',
        )
        == '400'
    )
    port = int(base_url.rsplit(':', 1)[1])
    for garbage in (b'\x16\x03\x01\x02\x00\x01\x00\r\n\r\n', b'GET / HTTP/1.1\r\nHost x\r\n\r\n'):
        with socket.create_connection(('127.0.0.1', port), timeout=10) as client:
            client.sendall(garbage)
            response = receive_until_closed(client)
        assert response.startswith(b'HTTP/1.1 400 Bad Request\r\n')


def receive_until_closed(client):
    received = b''
    while data := client.recv(65536):
        received += data
    return received


def test_pipelined_requests_are_answered_in_order(base_url):
    port = int(base_url.rsplit(':', 1)[1])
    requests = (
        b'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
        b'GET /missing HTTP/1.1\r\nHost: x\r\n\r\n'
        b'HEAD / HTTP/1.1\r\nHost: x\r\n\r\n'
        b'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    )
    with socket.create_connection(('127.0.0.1', port), timeout=10) as client:
        # One byte at a time, then all at once: the parser must not care where reads split.
        for byte in requests[:40]:
            client.sendall(bytes([byte]))
        client.sendall(requests[40:])
        response = receive_until_closed(client)
    assert re.findall(rb'HTTP/1\.1 [^\r]*', response) == [
        b'HTTP/1.1 200 OK',
        b'HTTP/1.1 404 Not Found',
        b'HTTP/1.1 200 OK',
        b'HTTP/1.1 200 OK',
    ]
    assert response.count(b'Hello, world!\n') == 2  # not for HEAD
    assert response.endswith(b'Hello, world!\n')  # the last asked to close: the server did


def test_an_idle_connection_is_closed(monkeypatch):
    monkeypatch.setattr(http_server, 'IDLE_TIMEOUT', 0.1)

    def main():
        with tonio.scope() as server:
            listeners = yield server.start(
                tonio.net.serve_tcp, http_server.handle, 0, host='127.0.0.1'
            )
            stream = yield tonio.net.open_tcp_stream(
                '127.0.0.1', listeners[0].socket.getsockname()[1]
            )
            with stream:
                yield stream.send_all(b'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
                response = b''
                while data := (yield stream.receive_some()):
                    response += data
            server.cancel()
        return response

    response = run_bounded(main(), timeout=30)
    assert response.startswith(b'HTTP/1.1 200 OK') and response.endswith(b'Hello, world!\n')


def test_a_slow_request_head_is_cut_off(monkeypatch):
    monkeypatch.setattr(http_server, 'IDLE_TIMEOUT', 0.1)

    def main():
        with tonio.scope() as server:
            listeners = yield server.start(
                tonio.net.serve_tcp, http_server.handle, 0, host='127.0.0.1'
            )
            stream = yield tonio.net.open_tcp_stream(
                '127.0.0.1', listeners[0].socket.getsockname()[1]
            )
            with stream:
                yield stream.send_all(b'GET / HTTP/1.1\r\n')
                yield tonio.sleep(0.3)
                closed = (yield stream.receive_some()) == b''
            server.cancel()
        return closed

    assert run_bounded(main(), timeout=30)


# The parser alone.


def test_parse_head():
    request = parse_head(
        b'GET /path?x=1 HTTP/1.1\r\nHost: example\r\nX-Many: a\r\nx-many:  b \r\nContent-Length: 3'
    )
    assert (request.method, request.target, request.version) == (b'GET', b'/path?x=1', b'HTTP/1.1')
    assert request.headers == {b'host': b'example', b'x-many': b'a, b', b'content-length': b'3'}
    assert request.keep_alive and request.body_length == 3
    assert not parse_head(b'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, Close').keep_alive
    assert not parse_head(b'GET / HTTP/1.0').keep_alive
    assert parse_head(b'GET / HTTP/1.0\r\nConnection: Keep-Alive').keep_alive


@pytest.mark.parametrize(
    ('head', 'status'),
    [
        (b'', 400),
        (b'GET /', 400),
        (b'GET  / HTTP/1.1', 400),
        (b'G(T / HTTP/1.1\r\nHost: x', 400),
        (b'GET nowhere HTTP/1.1\r\nHost: x', 400),
        (b'GET / HTTP/2.0\r\nHost: x', 505),
        (b'GET / FTP/1.1\r\nHost: x', 400),
        (b'GET / HTTP/1.1', 400),  # no Host
        (b'GET / HTTP/1.1\r\nHost: x\r\n folded', 400),
        (b'GET / HTTP/1.1\r\nHost : x', 400),
        (b'GET / HTTP/1.1\r\nHost: x\r\nHost: y', 400),
        (b'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -1', 400),
        (b'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2', 400),
        (b'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999', 413),
        (b'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked', 501),
    ],
)
def test_parse_head_rejects(head, status):
    with pytest.raises(BadRequest) as rejected:
        parse_head(head)
    assert rejected.value.status == status
