"""The million-coroutine benchmark.

1,000,000 coroutines each suspend once and return ``3 ** 2``; they are spawned together and
awaited. Each implementation reports creation time (building the coroutine objects), execution
time (scheduling, running and collecting every result) and their total, in milliseconds.

Run one measurement: ``python benches/million.py IMPL`` (prints JSON); ``benches/run.py`` runs
them all in fresh processes and prints the table.
"""

from __future__ import annotations

import json
import resource
import sys
import time
import types

N = 1_000_000


def _done(t0, t1, t2, results):
    assert len(results) == N and results[0] == 9 and results[-1] == 9, 'wrong results'
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {'create': (t1 - t0) * 1e3, 'execute': (t2 - t1) * 1e3, 'peak_mb': peak_mb}


def _drive_by_send(make):
    """Creates N coroutines with ``make`` and drives each through its one suspension."""
    t0 = time.perf_counter()
    coros = [make() for _ in range(N)]
    t1 = time.perf_counter()
    for coro in coros:
        coro.send(None)
    results = []
    for coro in coros:
        try:
            coro.send(None)
        except StopIteration as stop:
            results.append(stop.value)
    return _done(t0, t1, time.perf_counter(), results)


def floor_yield():
    """No scheduler: the same generators driven by a bare loop, two sends each."""

    def task():
        yield
        return 3**2

    return _drive_by_send(task)


@types.coroutine
def _suspend():
    yield


def floor_colored():
    """No scheduler: ``async def`` coroutines awaiting a bare suspension, two sends each."""

    async def task():
        await _suspend()
        return 3**2

    return _drive_by_send(task)


def _tonio_yield(threads):
    import tonio

    def task():
        yield
        return 3**2

    def main():
        t0 = time.perf_counter()
        tasks = [task() for _ in range(N)]
        t1 = time.perf_counter()
        results = yield tonio.spawn(*tasks)
        return t0, t1, time.perf_counter(), results

    return _done(*tonio.run(main(), threads=threads))


def _tonio_colored(threads):
    import tonio.colored as tonio

    async def task():
        await tonio.yield_now()
        return 3**2

    async def main():
        t0 = time.perf_counter()
        tasks = [task() for _ in range(N)]
        t1 = time.perf_counter()
        results = await tonio.spawn(*tasks)
        return t0, t1, time.perf_counter(), results

    return _done(*tonio.run(main(), threads=threads))


def _asyncio(loop_factory, suspend):
    import asyncio

    async def main():
        done = asyncio.get_running_loop().create_future()
        done.set_result(None)

        async def task():
            if suspend:
                await asyncio.sleep(0)
            else:
                await done
            return 3**2

        t0 = time.perf_counter()
        tasks = [task() for _ in range(N)]
        t1 = time.perf_counter()
        results = await asyncio.gather(*tasks)
        return t0, t1, time.perf_counter(), results

    runner = asyncio.Runner(loop_factory=loop_factory)
    with runner:
        return _done(*runner.run(main()))


def asyncio_gather():
    return _asyncio(None, suspend=False)


def asyncio_sleep0():
    return _asyncio(None, suspend=True)


def uvloop_gather():
    import uvloop

    return _asyncio(uvloop.new_event_loop, suspend=False)


def trio_nursery():
    import trio

    async def main():
        results = [None] * N

        async def task(index):
            await trio.lowlevel.checkpoint()
            results[index] = 3**2

        t0 = time.perf_counter()
        # trio starts functions, not coroutine objects: creation is timed inside the nursery.
        async with trio.open_nursery() as nursery:
            for index in range(N):
                nursery.start_soon(task, index)
            t1 = time.perf_counter()
        return t0, t1, time.perf_counter(), results

    return _done(*trio.run(main))


IMPLEMENTATIONS = {
    'floor (yield)': floor_yield,
    'floor (async def)': floor_colored,
    'tonio yield, 1 thread': lambda: _tonio_yield(1),
    'tonio yield, 2 threads': lambda: _tonio_yield(2),
    'tonio colored, 1 thread': lambda: _tonio_colored(1),
    'tonio colored, 2 threads': lambda: _tonio_colored(2),
    'asyncio (gather, done future)': asyncio_gather,
    'asyncio (gather, sleep(0))': asyncio_sleep0,
    'uvloop (gather, done future)': uvloop_gather,
    'trio (nursery, checkpoint)': trio_nursery,
}

if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
