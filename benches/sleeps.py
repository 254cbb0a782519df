"""The timer benchmark: 100,000 tasks each sleeping a random 0-50 ms.

Every implementation sleeps the same seeded delays, all tasks started together and awaited. The
ideal total is 50 ms (the longest sleep); what each reports beyond it (``overhead``) is the cost
of arming, firing and resuming 100k timers plus spawning and collecting the tasks, in
milliseconds.

Run one measurement: ``python benches/sleeps.py IMPL`` (prints JSON); ``benches/run.py`` runs
them all in fresh processes and prints the table.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time

N = 100_000
LONGEST = 0.05
DELAYS = [random.Random(2026).uniform(0, LONGEST) for _ in range(N)]


def _done(elapsed):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    total = elapsed * 1e3
    return {'total': total, 'overhead': total - LONGEST * 1e3, 'peak_mb': peak_mb}


def _tonio_yield(threads):
    import tonio

    def sleeper(delay):
        yield tonio.sleep(delay)

    def main():
        t0 = time.perf_counter()
        yield tonio.spawn.without_results(*(sleeper(delay) for delay in DELAYS))
        return time.perf_counter() - t0

    return _done(tonio.run(main(), threads=threads))


def _tonio_colored(threads):
    import tonio.colored as tonio

    async def sleeper(delay):
        await tonio.sleep(delay)

    async def main():
        t0 = time.perf_counter()
        await tonio.spawn.without_results(*(sleeper(delay) for delay in DELAYS))
        return time.perf_counter() - t0

    return _done(tonio.run(main(), threads=threads))


def _asyncio(loop_factory):
    import asyncio

    async def main():
        t0 = time.perf_counter()
        await asyncio.gather(*(asyncio.sleep(delay) for delay in DELAYS))
        return time.perf_counter() - t0

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return _done(runner.run(main()))


def asyncio_gather():
    return _asyncio(None)


def uvloop_gather():
    import uvloop

    return _asyncio(uvloop.new_event_loop)


def trio_nursery():
    import trio

    async def main():
        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for delay in DELAYS:
                nursery.start_soon(trio.sleep, delay)
        return time.perf_counter() - t0

    return _done(trio.run(main))


IMPLEMENTATIONS = {
    'tonio yield, 1 thread': lambda: _tonio_yield(1),
    'tonio yield, 2 threads': lambda: _tonio_yield(2),
    'tonio colored, 1 thread': lambda: _tonio_colored(1),
    'asyncio (gather)': asyncio_gather,
    'uvloop (gather)': uvloop_gather,
    'trio (nursery)': trio_nursery,
}

if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
