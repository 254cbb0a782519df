"""The HTTP benchmark: ``wrk`` against ``examples/http_server.py`` and an asyncio equivalent.

``wrk -c 32 -t 2 -d 5s --latency`` requests ``GET /`` over keep-alive connections on 127.0.0.1,
against a fresh server process per measurement. The asyncio server (and the same on uvloop) is
the example's program with only the I/O changed: it imports the example's request parser and
responses, and reads and writes through asyncio streams, with ``asyncio.timeout`` where tonio
has ``move_on_after``. Reported: requests per second, p50 and p99 latency, the server's CPU
time per request (user + system, all threads: the figure that moves least when other processes
compete for the cores), and any errors wrk counted (a non-zero count voids the row).

(Not ``http.py``: this folder is put first on ``sys.path``, where that name would hide the
standard library's ``http`` package.)

Serve one implementation: ``python benches/http_wrk.py serve NAME``; ``benches/run.py --bench
http`` measures them all and prints the table.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from serving import announce, running

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / 'examples'
sys.path.insert(0, str(EXAMPLES))

import http_server  # noqa: E402
from http_server import MAX_HEAD, BadRequest, error_response, parse_head, respond  # noqa: E402

CONNECTIONS = 32
THREADS = 2
DURATION = 5

# Servers ------------------------------------------------------------------------------------------


def _tonio(threads):
    import tonio

    tonio.run(http_server.main(0, '127.0.0.1'), threads=threads)


async def _asyncio_read_head(reader, buffer):
    searched = 0
    while (end := buffer.find(b'\r\n\r\n', searched)) < 0:
        if len(buffer) > MAX_HEAD:
            raise BadRequest(431, f'a request head over {MAX_HEAD} bytes')
        searched = max(len(buffer) - 3, 0)
        data = await reader.read(65536)
        if not data:
            if buffer:
                raise BadRequest(400, 'the connection closed in the middle of a request')
            return None
        buffer += data
    head = bytes(buffer[:end])
    del buffer[: end + 4]
    return head


async def _asyncio_skip_body(reader, buffer, length):
    while len(buffer) < length:
        length -= len(buffer)
        buffer.clear()
        data = await reader.read(min(length, 65536))
        if not data:
            raise BadRequest(400, 'the connection closed in the middle of a request body')
        buffer += data
    del buffer[:length]


async def _asyncio_handle(reader, writer):
    buffer = bytearray()
    try:
        while True:
            head = None
            try:
                async with asyncio.timeout(http_server.IDLE_TIMEOUT):
                    head = await _asyncio_read_head(reader, buffer)
            except TimeoutError:
                pass
            if head is None:
                return
            request = parse_head(head)
            await _asyncio_skip_body(reader, buffer, request.body_length)
            writer.write(respond(request))
            await writer.drain()
            if not request.keep_alive:
                return
    except BadRequest as error:
        writer.write(error_response(error))
        await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _asyncio(loop_factory=None):
    async def main():
        server = await asyncio.start_server(_asyncio_handle, '127.0.0.1', 0, backlog=1024)
        announce(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        runner.run(main())


def _uvloop():
    import uvloop

    _asyncio(uvloop.new_event_loop)


IMPLEMENTATIONS = {
    'tonio, 1 worker': lambda: _tonio(1),
    'tonio, 2 workers': lambda: _tonio(2),
    'asyncio (streams)': _asyncio,
    'uvloop (streams)': _uvloop,
}

# Measuring --------------------------------------------------------------------------------------

_UNITS = {'us': 1.0, 'ms': 1e3, 's': 1e6}


def _latency_us(output, percentile):
    found = re.search(rf'^\s*{percentile}%\s+([\d.]+)(us|ms|s)\s*$', output, re.M)
    if found is None:
        raise RuntimeError(f'no {percentile}% latency in the wrk output:\n{output}')
    return float(found[1]) * _UNITS[found[2]]


def parse_wrk(output):
    """Requests (per second and in all), p50/p99 latency (µs) and the errors of one wrk run."""
    rate = re.search(r'^Requests/sec:\s+([\d.]+)', output, re.M)
    count = re.search(r'^\s*(\d+) requests in ', output, re.M)
    if rate is None or count is None:
        raise RuntimeError(f'no request rate in the wrk output:\n{output}')
    errors = 0
    socket_errors = re.search(
        r'Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)', output
    )
    if socket_errors:
        errors += sum(int(count) for count in socket_errors.groups())
    bad_status = re.search(r'Non-2xx or 3xx responses: (\d+)', output)
    if bad_status:
        errors += int(bad_status[1])
    return {
        'requests_per_s': float(rate[1]),
        'requests': int(count[1]),
        'p50_us': _latency_us(output, 50),
        'p99_us': _latency_us(output, 99),
        'errors': errors,
    }


def measure(name, repeat, duration=DURATION):
    wrk = shutil.which('wrk')
    if wrk is None:
        raise RuntimeError('wrk is not installed: `make deps` installs it')
    runs = []
    for _ in range(repeat):
        with running([sys.executable, str(Path(__file__).resolve()), 'serve', name]) as server:
            cpu_before = server.cpu_seconds()
            output = subprocess.run(
                [
                    wrk,
                    '--connections', str(CONNECTIONS),
                    '--threads', str(THREADS),
                    '--duration', f'{duration}s',
                    '--timeout', '5s',
                    '--latency',
                    f'http://127.0.0.1:{server.port}/',
                ],
                check=True,
                capture_output=True,
                text=True,
                timeout=duration + 60,
            ).stdout  # fmt: skip
            cpu_after = server.cpu_seconds()
            result = parse_wrk(output)
            if cpu_before is not None and cpu_after is not None:
                result['cpu_us'] = (cpu_after - cpu_before) * 1e6 / max(result['requests'], 1)
            else:
                result['cpu_us'] = float('nan')
            runs.append(result)
    return {key: statistics.median(run[key] for run in runs) for key in runs[0]}


def report(args, interpreter, available):
    duration = int(getattr(args, 'duration', None) or DURATION)
    print(
        f'\n## HTTP/1.1 keep-alive, wrk -c {CONNECTIONS} -t {THREADS} -d {duration}s against '
        f'examples/http_server.py: {interpreter}, median of {args.repeat}\n'
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
    baseline = results.get('asyncio (streams)', {}).get('requests_per_s')
    print(
        '\n| implementation | requests/s | p50 µs | p99 µs | server CPU µs/request | errors '
        '| this / asyncio (streams) |'
    )
    print('|---|---|---|---|---|---|---|')
    for name, result in results.items():
        ratio = f'{result["requests_per_s"] / baseline:.2f}x' if baseline else '-'
        print(
            f'| {name} | {result["requests_per_s"]:,.0f} | {result["p50_us"]:.0f} | '
            f'{result["p99_us"]:.0f} | {result["cpu_us"]:.1f} | {result["errors"]:.0f} | {ratio} |'
        )
    one, two = results.get('tonio, 1 worker'), results.get('tonio, 2 workers')
    if one and two:
        ratio = two['requests_per_s'] / one['requests_per_s']
        print(f'\ntonio: 2 workers / 1 worker: {ratio:.2f}x')


if __name__ == '__main__':
    if len(sys.argv) != 3 or sys.argv[1] != 'serve' or sys.argv[2] not in IMPLEMENTATIONS:
        sys.exit(f'usage: {sys.argv[0]} serve NAME, NAME one of {list(IMPLEMENTATIONS)}')
    IMPLEMENTATIONS[sys.argv[2]]()
