"""The subprocess benchmark: many short child processes, a bounded number at a time.

Two phases, in milliseconds: ``spawn`` runs 1,000 ``true`` (at most 64 at once) and checks every
exit code; ``pipe`` runs 200 ``cat``, 64 at once, each fed 64 KiB on stdin and drained from
stdout (checked). ``total`` is both; ``cpu`` is the CPU time the parent process used (all its
threads, from its start, imports included; the children's own time is not in it). Every
implementation uses its library's ordinary API: tonio's ``run_process`` under
``mark.max_concurrency``, asyncio's ``create_subprocess_exec`` + ``communicate`` under a
Semaphore (uvloop the same on its loop), trio's ``run_process`` under a CapacityLimiter.

Run one measurement: ``python benches/processes.py IMPL`` (prints JSON); ``benches/run.py`` runs
them all in fresh processes and prints the table.
"""

from __future__ import annotations

import json
import resource
import sys
import time

SHORT = 1_000
PIPED = 200
LIMIT = 64
DATA = bytes(range(256)) * 256  # 64 KiB


def _cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _done(t0, t1, t2):
    return {
        'spawn': (t1 - t0) * 1e3,
        'pipe': (t2 - t1) * 1e3,
        'total': (t2 - t0) * 1e3,
        # This process's CPU time (every thread, not the children), from its start: what a
        # loaded machine disturbs least.
        'cpu': _cpu_seconds() * 1e3,
        'peak_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def _tonio_yield(threads):
    import tonio

    @tonio.mark.max_concurrency(LIMIT)
    def short():
        return (yield tonio.run_process(['true'])).returncode

    @tonio.mark.max_concurrency(LIMIT)
    def piped():
        return (yield tonio.run_process(['cat'], stdin=DATA, capture_stdout=True)).stdout

    def main():
        t0 = time.perf_counter()
        codes = yield tonio.spawn(*[short() for _ in range(SHORT)])
        t1 = time.perf_counter()
        outputs = yield tonio.spawn(*[piped() for _ in range(PIPED)])
        t2 = time.perf_counter()
        assert codes == [0] * SHORT and outputs == [DATA] * PIPED
        return t0, t1, t2

    return _done(*tonio.run(main(), threads=threads))


def _tonio_colored(threads):
    import tonio.colored as tonio

    @tonio.mark.max_concurrency(LIMIT)
    async def short():
        return (await tonio.run_process(['true'])).returncode

    @tonio.mark.max_concurrency(LIMIT)
    async def piped():
        return (await tonio.run_process(['cat'], stdin=DATA, capture_stdout=True)).stdout

    async def main():
        t0 = time.perf_counter()
        codes = await tonio.spawn(*[short() for _ in range(SHORT)])
        t1 = time.perf_counter()
        outputs = await tonio.spawn(*[piped() for _ in range(PIPED)])
        t2 = time.perf_counter()
        assert codes == [0] * SHORT and outputs == [DATA] * PIPED
        return t0, t1, t2

    return _done(*tonio.run(main(), threads=threads))


async def _asyncio_main():
    import asyncio

    limit = asyncio.Semaphore(LIMIT)

    async def short():
        async with limit:
            process = await asyncio.create_subprocess_exec('true')
            return await process.wait()

    async def piped():
        async with limit:
            process = await asyncio.create_subprocess_exec(
                'cat', stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
            )
            output, _ = await process.communicate(DATA)
            return output

    t0 = time.perf_counter()
    codes = await asyncio.gather(*[short() for _ in range(SHORT)])
    t1 = time.perf_counter()
    outputs = await asyncio.gather(*[piped() for _ in range(PIPED)])
    t2 = time.perf_counter()
    assert codes == [0] * SHORT and outputs == [DATA] * PIPED
    return t0, t1, t2


def _asyncio():
    import asyncio

    return _done(*asyncio.run(_asyncio_main()))


def _uvloop():
    import uvloop

    return _done(*uvloop.run(_asyncio_main()))


def _trio():
    import trio

    async def main():
        limit = trio.CapacityLimiter(LIMIT)
        codes, outputs = [], []

        async def short():
            async with limit:
                codes.append((await trio.run_process(['true'])).returncode)

        async def piped():
            async with limit:
                result = await trio.run_process(['cat'], stdin=DATA, capture_stdout=True)
                outputs.append(result.stdout)

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(SHORT):
                nursery.start_soon(short)
        t1 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(PIPED):
                nursery.start_soon(piped)
        t2 = time.perf_counter()
        assert codes == [0] * SHORT and outputs == [DATA] * PIPED
        return t0, t1, t2

    return _done(*trio.run(main))


IMPLEMENTATIONS = {
    'tonio yield, 1 thread': lambda: _tonio_yield(1),
    'tonio yield, 2 threads': lambda: _tonio_yield(2),
    'tonio colored, 1 thread': lambda: _tonio_colored(1),
    'asyncio': _asyncio,
    'uvloop': _uvloop,
    'trio': _trio,
}


if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
