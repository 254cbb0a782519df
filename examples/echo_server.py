"""A TCP echo server on tonio, written twice: in generator syntax and with ``async def``.

``serve_tcp`` gives every connection a task of its own, which sends back whatever it receives
until the client closes its side. The two versions are the same program, line for line; pick
one with ``--syntax``::

    python examples/echo_server.py --port 7000 --syntax colored --threads 2

It runs until Ctrl-C. With ``--port 0`` (the default) it listens on a free port; either way it
prints ``listening on HOST:PORT`` once it accepts connections.
"""

from __future__ import annotations

import argparse
import contextlib

import tonio
import tonio.colored
import tonio.colored.net
import tonio.net

# Generator syntax: every wait is yielded.


def echo(stream):
    while data := (yield stream.receive_some()):
        yield stream.send_all(data)


def main(port=0, host='127.0.0.1'):
    with tonio.scope() as server:
        listeners = yield server.start(tonio.net.serve_tcp, echo, port, host=host)
        print(f'listening on {host}:{listeners[0].socket.getsockname()[1]}', flush=True)
    yield server()


# async def syntax: every wait is awaited.


async def echo_async(stream):
    while data := await stream.receive_some():
        await stream.send_all(data)


async def main_async(port=0, host='127.0.0.1'):
    async with tonio.colored.scope() as server:
        listeners = await server.start(tonio.colored.net.serve_tcp, echo_async, port, host=host)
        print(f'listening on {host}:{listeners[0].socket.getsockname()[1]}', flush=True)


if __name__ == '__main__':
    parser = argparse.ArgumentParser(description='A TCP echo server on tonio.')
    parser.add_argument('--port', type=int, default=0)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--syntax', choices=['yield', 'colored'], default='yield')
    parser.add_argument('--threads', type=int, default=None, help='worker threads')
    args = parser.parse_args()
    server = main if args.syntax == 'yield' else main_async
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C stops the server
        tonio.run(server(args.port, args.host), threads=args.threads)
