"""A minimal HTTP/1.1 server on tonio: keep-alive, pipelined requests, GET and HEAD.

::

    python examples/http_server.py --port 8000 --threads 2
    curl -i http://127.0.0.1:8000/

``GET /`` answers ``Hello, world!``; any other path is a 404, any other method a 405. A
connection stays open for the next request (HTTP/1.1's default; HTTP/1.0 asks with
``Connection: keep-alive``) until the client closes it, asks to close, or stays idle for
``IDLE_TIMEOUT`` seconds. A malformed request gets a 400 (or 413, 431, 501, 505) and the
connection is closed. Request bodies (``Content-Length``) are read and ignored.

Two parts: the protocol (``parse_head``, ``respond``: bytes in, bytes out, no I/O) and the
connection handler, in generator syntax, that ``serve_tcp`` runs for every connection. The
benchmark's asyncio server (``benches/http.py``) reuses the protocol part unchanged.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import time

import tonio
import tonio.net

IDLE_TIMEOUT = 60.0  # seconds a connection may take to send the next request head
MAX_HEAD = 16 * 1024  # bytes of request line and headers
MAX_BODY = 1024 * 1024

ROUTES = {
    b'/': (b'text/plain; charset=utf-8', b'Hello, world!\n'),
}

REASONS = {
    200: b'OK',
    400: b'Bad Request',
    404: b'Not Found',
    405: b'Method Not Allowed',
    413: b'Content Too Large',
    431: b'Request Header Fields Too Large',
    501: b'Not Implemented',
    505: b'HTTP Version Not Supported',
}

_TOKEN = frozenset(b"!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class BadRequest(Exception):
    """A request the server will not serve: answered with ``status``, then the connection
    closes (after a malformed request, where the next one starts is unknown)."""

    def __init__(self, status, reason):
        super().__init__(reason)
        self.status = status


class Request:
    __slots__ = ('body_length', 'headers', 'keep_alive', 'method', 'target', 'version')

    def __init__(self, method, target, version, headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers  # lower-case name -> value, both bytes
        connection = {
            token.strip().lower() for token in headers.get(b'connection', b'').split(b',')
        }
        if version == b'HTTP/1.1':
            self.keep_alive = b'close' not in connection
        else:
            self.keep_alive = b'keep-alive' in connection
        self.body_length = _body_length(headers)


def _body_length(headers):
    if b'transfer-encoding' in headers:
        raise BadRequest(501, 'chunked request bodies are not supported')
    value = headers.get(b'content-length')
    if value is None:
        return 0
    if not value.isdigit():
        raise BadRequest(400, f'bad Content-Length {value!r}')
    length = int(value)
    if length > MAX_BODY:
        raise BadRequest(413, f'a body of {length} bytes (at most {MAX_BODY})')
    return length


def parse_head(head):
    """The ``Request`` in ``head`` (the bytes before the blank line); ``BadRequest`` if it is
    not valid HTTP/1.x."""
    request_line, *lines = head.split(b'\r\n')
    parts = request_line.split(b' ')
    if len(parts) != 3:
        raise BadRequest(400, f'bad request line {request_line[:100]!r}')
    method, target, version = parts
    if not method or not _TOKEN.issuperset(method):
        raise BadRequest(400, f'bad method {method[:100]!r}')
    if not target.startswith(b'/') and target != b'*':
        raise BadRequest(400, f'bad request target {target[:100]!r}')
    if version not in (b'HTTP/1.1', b'HTTP/1.0'):
        if version.startswith(b'HTTP/'):
            raise BadRequest(505, f'unsupported version {version[:20]!r}')
        raise BadRequest(400, f'bad version {version[:20]!r}')
    headers = {}
    for line in lines:
        name, colon, value = line.partition(b':')
        if not colon or not name or not _TOKEN.issuperset(name):
            # Also a line folded onto the previous one (RFC 9112 §5.2: reject it).
            raise BadRequest(400, f'bad header line {line[:100]!r}')
        name = name.lower()
        value = value.strip(b' \t')
        if name in headers:
            if name in (b'content-length', b'host'):
                raise BadRequest(400, f'{name.decode()} given twice')
            value = headers[name] + b', ' + value
        headers[name] = value
    if version == b'HTTP/1.1' and b'host' not in headers:
        raise BadRequest(400, 'an HTTP/1.1 request needs a Host header')
    return Request(method, target, version, headers)


class _Clock:
    """The ``Date`` header's value, formatted at most once a second."""

    second = -1
    value = b''

    @classmethod
    def date(cls):
        now = int(time.time())
        if now != cls.second:
            cls.value = email.utils.formatdate(now, usegmt=True).encode()
            cls.second = now
        return cls.value


def response(
    status,
    body,
    *,
    content_type=b'text/plain; charset=utf-8',
    keep_alive=True,
    head_only=False,
    extra=b'',
):
    """A whole response; ``head_only`` for HEAD (the headers as for GET, no body)."""
    connection = b'' if keep_alive else b'Connection: close\r\n'
    return b''.join(
        (
            b'HTTP/1.1 %d %s\r\n' % (status, REASONS[status]),
            b'Content-Type: %s\r\nContent-Length: %d\r\nDate: %s\r\n'
            % (content_type, len(body), _Clock.date()),
            connection,
            extra,
            b'\r\n',
            b'' if head_only else body,
        )
    )


def respond(request):
    """The application: the response to a well-formed request."""
    head_only = request.method == b'HEAD'
    keep = request.keep_alive
    if request.method not in (b'GET', b'HEAD'):
        return response(
            405, b'Method Not Allowed\n', keep_alive=keep, extra=b'Allow: GET, HEAD\r\n'
        )
    path = request.target.partition(b'?')[0]
    route = ROUTES.get(path)
    if route is None:
        return response(404, b'Not Found\n', keep_alive=keep, head_only=head_only)
    content_type, body = route
    return response(200, body, content_type=content_type, keep_alive=keep, head_only=head_only)


def error_response(error):
    return response(
        error.status, f'{REASONS[error.status].decode()}: {error}\n'.encode(), keep_alive=False
    )


# The connection handler: generator syntax, one task per connection.


def read_head(stream, buffer):
    """Waits until ``buffer`` holds a whole request head and takes it out: the head's bytes, or
    None if the client closed the connection between requests."""
    searched = 0
    while (end := buffer.find(b'\r\n\r\n', searched)) < 0:
        if len(buffer) > MAX_HEAD:
            raise BadRequest(431, f'a request head over {MAX_HEAD} bytes')
        searched = max(len(buffer) - 3, 0)
        data = yield stream.receive_some()
        if not data:
            if buffer:
                raise BadRequest(400, 'the connection closed in the middle of a request')
            return None
        buffer += data
    head = bytes(buffer[:end])
    del buffer[: end + 4]
    return head


def skip_body(stream, buffer, length):
    """Reads and drops a request body of ``length`` bytes."""
    while len(buffer) < length:
        length -= len(buffer)
        buffer.clear()
        data = yield stream.receive_some(min(length, 65536))
        if not data:
            raise BadRequest(400, 'the connection closed in the middle of a request body')
        buffer += data
    del buffer[:length]


def handle(stream):
    """Serves one connection: its requests, in order, until one side is done with it."""
    buffer = bytearray()  # what was received and not parsed yet (pipelined requests)
    # A client that resets the connection is gone: there is no one left to answer.
    with contextlib.suppress(ConnectionError):
        try:
            while True:
                head = None
                with tonio.move_on_after(IDLE_TIMEOUT):
                    head = yield read_head(stream, buffer)
                if head is None:
                    return  # the client closed the connection, or stayed idle too long
                request = parse_head(head)
                yield skip_body(stream, buffer, request.body_length)
                yield stream.send_all(respond(request))
                if not request.keep_alive:
                    return
        except BadRequest as error:
            yield stream.send_all(error_response(error))


def main(port=0, host='127.0.0.1'):
    with tonio.scope() as server:
        listeners = yield server.start(tonio.net.serve_tcp, handle, port, host=host)
        print(f'listening on {host}:{listeners[0].socket.getsockname()[1]}', flush=True)
    yield server()


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description='A minimal HTTP/1.1 server on tonio.')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--threads', type=int, default=None, help='worker threads')
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server
        tonio.run(main(args.port, args.host), threads=args.threads)
