"""The TCP echo benchmark: requests per second and latency of echo servers under a closed loop.

The load generator (``benches/echo_load``, Rust, standard library only) opens ``CONNECTIONS``
loopback connections; each sends ``size`` bytes, reads them all back, and starts again, for
``WARMUP + DURATION`` seconds (the warm-up is not counted). It reports requests per second and
p50/p99 latency; the server's CPU time per request (user + system, all its threads, read from
``/proc``) is added here: it moves least when other processes compete for the cores.

Every implementation below serves the same echo (read up to 64 KiB, write it all back) on
127.0.0.1, in a fresh server process per measurement, on this interpreter.

tonio's rows run ``examples/echo_server.py`` itself, in both syntaxes, with one or two workers.

Serve one implementation: ``python benches/echo.py serve NAME`` (prints ``listening on
HOST:PORT``); ``benches/run.py --bench echo`` measures them all and prints the tables.
"""

from __future__ import annotations

import functools
import json
import shutil
import socket
import statistics
import subprocess
import sys
from pathlib import Path

from serving import announce, running

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / 'examples'
LOAD_MANIFEST = HERE / 'echo_load' / 'Cargo.toml'
LOAD_BINARY = HERE / 'echo_load' / 'target' / 'release' / 'echo_load'

SIZES = [1024, 10 * 1024, 100 * 1024]
CONNECTIONS = 4
DURATION = 2.0
WARMUP = 0.5
RECEIVE = 65536

# Servers ------------------------------------------------------------------------------------------


def _tonio(syntax, threads):
    sys.path.insert(0, str(EXAMPLES))
    import echo_server

    import tonio

    main = echo_server.main if syntax == 'yield' else echo_server.main_async
    tonio.run(main(0, '127.0.0.1'), threads=threads)


def _listening_socket():
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(('127.0.0.1', 0))
    listener.listen(1024)
    listener.setblocking(False)
    return listener


def _asyncio(serve, loop_factory=None):
    import asyncio

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(serve())


async def _asyncio_sock():
    """``loop.sock_accept`` / ``sock_recv`` / ``sock_sendall``: no transports."""
    import asyncio

    loop = asyncio.get_running_loop()
    listener = _listening_socket()

    async def handle(conn):
        with conn:
            while data := await loop.sock_recv(conn, RECEIVE):
                await loop.sock_sendall(conn, data)

    tasks = set()
    announce(listener.getsockname()[1])
    while True:
        conn, _ = await loop.sock_accept(listener)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        task = asyncio.create_task(handle(conn))
        tasks.add(task)
        task.add_done_callback(tasks.discard)


async def _asyncio_streams():
    import asyncio

    async def handle(reader, writer):
        while data := await reader.read(RECEIVE):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(handle, '127.0.0.1', 0, backlog=1024)
    announce(server.sockets[0].getsockname()[1])
    await server.serve_forever()


async def _asyncio_protocol():
    import asyncio

    class Echo(asyncio.Protocol):
        def connection_made(self, transport):
            self.transport = transport

        def data_received(self, data):
            self.transport.write(data)

    server = await asyncio.get_running_loop().create_server(Echo, '127.0.0.1', 0, backlog=1024)
    announce(server.sockets[0].getsockname()[1])
    await server.serve_forever()


def _trio():
    import trio

    async def handle(stream):
        while data := await stream.receive_some(RECEIVE):
            await stream.send_all(data)

    async def main():
        async with trio.open_nursery() as nursery:
            serve = functools.partial(trio.serve_tcp, handle, 0, host='127.0.0.1')
            listeners = await nursery.start(serve)
            announce(listeners[0].socket.getsockname()[1])

    trio.run(main)


def _uvloop():
    import uvloop

    return uvloop.new_event_loop


IMPLEMENTATIONS = {
    'tonio yield, 1 worker': lambda: _tonio('yield', 1),
    'tonio yield, 2 workers': lambda: _tonio('yield', 2),
    'tonio colored, 1 worker': lambda: _tonio('colored', 1),
    'tonio colored, 2 workers': lambda: _tonio('colored', 2),
    'asyncio (sock_recv/sock_sendall)': lambda: _asyncio(_asyncio_sock),
    'asyncio (streams)': lambda: _asyncio(_asyncio_streams),
    'asyncio (Protocol)': lambda: _asyncio(_asyncio_protocol),
    'uvloop (Protocol)': lambda: _asyncio(_asyncio_protocol, _uvloop()),
    'uvloop (streams)': lambda: _asyncio(_asyncio_streams, _uvloop()),
    'trio (serve_tcp)': _trio,
}

# Measuring --------------------------------------------------------------------------------------


def load_generator():
    """The load generator's path, built first if needed (cargo does nothing when it is current)."""
    cargo = shutil.which('cargo')
    if cargo is None:
        if LOAD_BINARY.exists():
            return LOAD_BINARY
        raise RuntimeError('cargo is needed to build the load generator in benches/echo_load')
    subprocess.run(
        [cargo, 'build', '--release', '--quiet', '--manifest-path', str(LOAD_MANIFEST)], check=True
    )
    return LOAD_BINARY


def measure(name, repeat, duration=DURATION, sizes=SIZES):
    """``{size: median result}`` for one implementation: a fresh server per repeat, serving
    every size in turn."""
    binary = load_generator()
    runs = {size: [] for size in sizes}
    for _ in range(repeat):
        with running([sys.executable, str(Path(__file__).resolve()), 'serve', name]) as server:
            for size in sizes:
                cpu_before = server.cpu_seconds()
                output = subprocess.run(
                    [
                        str(binary),
                        '--port', str(server.port),
                        '--connections', str(CONNECTIONS),
                        '--size', str(size),
                        '--duration', str(duration),
                        '--warmup', str(WARMUP),
                    ],
                    check=True,
                    capture_output=True,
                    text=True,
                    timeout=duration + WARMUP + 60,
                ).stdout  # fmt: skip
                result = json.loads(output)
                cpu_after = server.cpu_seconds()
                if cpu_before is not None and cpu_after is not None:
                    used = (cpu_after - cpu_before) * 1e6
                    result['cpu_us'] = used / max(result['all_requests'], 1)
                else:
                    result['cpu_us'] = float('nan')
                runs[size].append(result)
    return {
        size: {
            key: statistics.median(run[key] for run in results)
            for key in ('requests_per_s', 'p50_us', 'p99_us', 'cpu_us')
        }
        for size, results in runs.items()
    }


def _size_label(size):
    return f'{size // 1024} KB'


def report(args, interpreter, available):
    """Measures every implementation and prints one table per size, then the targets."""
    duration = getattr(args, 'duration', None) or DURATION
    print(
        f'\n## TCP echo, {CONNECTIONS} connections, closed loop, {duration:g} s per run: '
        f'{interpreter}, median of {args.repeat}\n'
    )
    results = {}
    for name in IMPLEMENTATIONS:
        if args.only not in name:
            continue
        if not available(name):
            print(f'(skipped {name}: not installed for this interpreter)')
            continue
        try:
            results[name] = measure(name, args.repeat, duration)
        except (RuntimeError, subprocess.SubprocessError) as error:
            print(f'(failed {name}: {error})')
    baseline_name = 'asyncio (streams)'
    for size in SIZES:
        print(f'\n### {_size_label(size)} per request\n')
        print(
            f'| implementation | requests/s | p50 µs | p99 µs | server CPU µs/request '
            f'| this / {baseline_name} |'
        )
        print('|---|---|---|---|---|---|')
        baseline = results.get(baseline_name, {}).get(size, {}).get('requests_per_s')
        for name, per_size in results.items():
            result = per_size[size]
            ratio = f'{result["requests_per_s"] / baseline:.2f}x' if baseline else '-'
            print(
                f'| {name} | {result["requests_per_s"]:,.0f} | {result["p50_us"]:.0f} | '
                f'{result["p99_us"]:.0f} | {result["cpu_us"]:.1f} | {ratio} |'
            )
    _targets(results)


def _target(label, shown, met):
    print(f'- {label}: {shown}: {"met" if met else "MISSED"}')


def _targets(results):
    one_kb = {name: per_size[1024] for name, per_size in results.items() if 1024 in per_size}
    streams = one_kb.get('asyncio (streams)')
    uvloop = one_kb.get('uvloop (Protocol)')
    print('\nTargets (1 KB):')
    for syntax in ('yield', 'colored'):
        one = one_kb.get(f'tonio {syntax}, 1 worker')
        two = one_kb.get(f'tonio {syntax}, 2 workers')
        if one is None:
            continue
        rate, p99 = one['requests_per_s'], one['p99_us']
        label = f'tonio {syntax}, 1 worker'
        if streams:
            ratio = rate / streams['requests_per_s']
            _target(f'{label} >= 2.5x asyncio streams', f'{ratio:.2f}x', ratio >= 2.5)
        if uvloop:
            ratio = rate / uvloop['requests_per_s']
            _target(f'{label} >= uvloop Protocol', f'{ratio:.2f}x', ratio >= 1)
            shown = f'{p99:.0f} vs {uvloop["p99_us"]:.0f} µs'
            _target(f'{label}: p99 <= uvloop Protocol p99', shown, p99 <= uvloop['p99_us'])
        if two:
            ratio = two['requests_per_s'] / rate
            _target(f'tonio {syntax}: 2 workers faster than 1', f'{ratio:.2f}x', ratio > 1)
    costs = ', '.join(
        f'{name} {result["cpu_us"]:.1f}'
        for name, result in one_kb.items()
        if name in ('tonio yield, 1 worker', 'uvloop (Protocol)', 'asyncio (streams)')
    )
    if costs:
        # Not a target: what to look at when the machine is shared and the rates wander.
        print(f'\nServer CPU µs per 1 KB request: {costs}')


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] != 'serve' or sys.argv[2] not in IMPLEMENTATIONS:
        sys.exit(f'usage: {sys.argv[0]} serve NAME, NAME one of {list(IMPLEMENTATIONS)}')
    IMPLEMENTATIONS[sys.argv[2]]()
