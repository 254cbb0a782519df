"""TLS over loopback TCP: bulk throughput (one connection, the client sends ``MIB`` MiB in 64 KiB
writes, the server reads until close_notify) and handshakes per second (``HANDSHAKES``
connections one after another, each a full TLS 1.3 handshake and a close). tonio (both syntaxes,
1 and 2 workers) against asyncio's SSL transport (and uvloop's) and trio's SSLStream, all on the
stdlib's ssl module with the same certificates, each in a fresh process.

Usage: ``python benches/tls.py`` (prints a table of ratios against asyncio), or
``python benches/tls.py NAME`` (one measurement, as JSON: what the table runs).
"""

from __future__ import annotations

import importlib.util
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIB = 64
HANDSHAKES = 200
CHUNK = b'x' * 65536


def contexts():
    sys.path.insert(0, str(HERE.parent))
    from tests.tls_support import certificates

    certs = certificates()
    return certs.server_context(), certs.client_context()


# tonio ---------------------------------------------------------------------------------------


def tonio_yield(threads):
    import tonio
    from tonio.net import tls

    server_context, client_context = contexts()

    def handler(stream):
        while (yield stream.receive_some()):
            pass

    def main():
        with tonio.scope() as s:
            listeners = yield s.start(
                tls.serve_tls_over_tcp, handler, 0, server_context, host='127.0.0.1'
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
            start = time.perf_counter()
            for _ in range(HANDSHAKES):
                stream = yield tls.open_tls_over_tcp_stream(
                    'localhost', port, ssl_context=client_context
                )
                yield stream.close()
            handshakes = time.perf_counter() - start
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=client_context
            )
            start = time.perf_counter()
            for _ in range(MIB * 16):
                yield stream.send_all(CHUNK)
            yield stream.close()
            bulk = time.perf_counter() - start
            s.cancel()
        return handshakes, bulk

    return tonio.run(main(), threads=threads)


def tonio_await(threads):
    import tonio.colored as tonio
    from tonio.colored.net import tls

    server_context, client_context = contexts()

    async def handler(stream):
        while await stream.receive_some():
            pass

    async def main():
        async with tonio.scope() as s:
            listeners = await s.start(
                tls.serve_tls_over_tcp, handler, 0, server_context, host='127.0.0.1'
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
            start = time.perf_counter()
            for _ in range(HANDSHAKES):
                stream = await tls.open_tls_over_tcp_stream(
                    'localhost', port, ssl_context=client_context
                )
                await stream.close()
            handshakes = time.perf_counter() - start
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=client_context
            )
            start = time.perf_counter()
            for _ in range(MIB * 16):
                await stream.send_all(CHUNK)
            await stream.close()
            bulk = time.perf_counter() - start
            s.cancel()
        return handshakes, bulk

    return tonio.run(main(), threads=threads)


# asyncio / uvloop ----------------------------------------------------------------------------


def asyncio_streams(use_uvloop=False):
    import asyncio

    server_context, client_context = contexts()

    async def handler(reader, writer):
        while await reader.read(65536):
            pass
        writer.close()

    async def main():
        server = await asyncio.start_server(handler, '127.0.0.1', 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        start = time.perf_counter()
        for _ in range(HANDSHAKES):
            _, writer = await asyncio.open_connection(
                '127.0.0.1', port, ssl=client_context, server_hostname='localhost'
            )
            writer.close()
            await writer.wait_closed()
        handshakes = time.perf_counter() - start
        _, writer = await asyncio.open_connection(
            '127.0.0.1', port, ssl=client_context, server_hostname='localhost'
        )
        start = time.perf_counter()
        for _ in range(MIB * 16):
            writer.write(CHUNK)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        bulk = time.perf_counter() - start
        server.close()
        return handshakes, bulk

    if use_uvloop:
        import uvloop

        return uvloop.run(main())
    return asyncio.run(main())


# trio ----------------------------------------------------------------------------------------


def trio_ssl():
    import trio

    server_context, client_context = contexts()

    async def handler(stream):
        while await stream.receive_some():
            pass
        await stream.aclose()

    async def main():
        async with trio.open_nursery() as nursery:
            listeners = await nursery.start(trio.serve_ssl_over_tcp, handler, 0, server_context)
            port = listeners[0].transport_listener.socket.getsockname()[1]
            start = time.perf_counter()
            for _ in range(HANDSHAKES):
                stream = await trio.open_ssl_over_tcp_stream(
                    'localhost', port, ssl_context=client_context
                )
                await stream.do_handshake()
                await stream.aclose()
            handshakes = time.perf_counter() - start
            stream = await trio.open_ssl_over_tcp_stream(
                'localhost', port, ssl_context=client_context
            )
            start = time.perf_counter()
            for _ in range(MIB * 16):
                await stream.send_all(CHUNK)
            await stream.aclose()
            bulk = time.perf_counter() - start
            nursery.cancel_scope.cancel()
        return handshakes, bulk

    return trio.run(main)


RUNS = {
    'tonio (yield, 1 worker)': lambda: tonio_yield(1),
    'tonio (yield, 2 workers)': lambda: tonio_yield(2),
    'tonio (await, 1 worker)': lambda: tonio_await(1),
    'asyncio': asyncio_streams,
    'uvloop': lambda: asyncio_streams(True),
    'trio': trio_ssl,
}


def measure(name, repeat=3):
    handshakes, bulk = [], []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, __file__, name], check=True, capture_output=True, text=True
        )
        result = json.loads(output.stdout)
        handshakes.append(result[0])
        bulk.append(result[1])
    return statistics.median(handshakes), statistics.median(bulk)


def report():
    """Measures every implementation in fresh processes and prints the table."""
    rows = {}
    for name in RUNS:
        module = name.split()[0]
        if module in ('uvloop', 'trio') and importlib.util.find_spec(module) is None:
            continue
        rows[name] = measure(name)
    base_handshakes, base_bulk = rows['asyncio']
    print(f'TLS over loopback, {sys.version.split()[0]}, {ssl.OPENSSL_VERSION}')
    print(f'{"":26} {"handshakes/s":>13} {"vs asyncio":>11} {"MiB/s":>8} {"vs asyncio":>11}')
    for name, (handshakes, bulk) in rows.items():
        print(
            f'{name:26} {HANDSHAKES / handshakes:13.0f} {base_handshakes / handshakes:10.2f}x'
            f' {MIB / bulk:8.0f} {base_bulk / bulk:10.2f}x'
        )


def main():
    if len(sys.argv) > 1:
        print(json.dumps(RUNS[sys.argv[1]]()))
    else:
        report()


if __name__ == '__main__':
    os.environ.setdefault('TMPDIR', tempfile.gettempdir())
    main()
