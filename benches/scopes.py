"""The scope benchmark: create a scope, start 100,000 tasks in it, cancel it, wait for all.

Each task suspends forever (a long sleep); once every task is suspended the scope is cancelled
and the run waits until all have unwound. Reported in milliseconds: ``start`` (spawn until all
are suspended), ``cancel`` (cancel until the scope is done) and ``total``.

Run one measurement: ``python benches/scopes.py IMPL`` (prints JSON); ``benches/run.py`` runs
them all in fresh processes and prints the table.
"""

from __future__ import annotations

import json
import resource
import sys
import time

N = 100_000


def _done(t0, t1, t2):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        'start': (t1 - t0) * 1e3,
        'cancel': (t2 - t1) * 1e3,
        'total': (t2 - t0) * 1e3,
        'peak_mb': peak_mb,
    }


def _tonio_yield(threads):
    import tonio

    def main():
        started = [0]
        all_started = tonio.Event()

        def sleeper():
            started[0] += 1
            if started[0] == N:
                all_started.set()
            yield tonio.sleep(3600)

        t0 = time.perf_counter()
        with tonio.scope() as scope:
            for _ in range(N):
                scope.spawn(sleeper())
            yield all_started.wait()
            t1 = time.perf_counter()
            scope.cancel()
        yield scope()
        return t0, t1, time.perf_counter()

    return _done(*tonio.run(main(), threads=threads))


def _tonio_colored(threads):
    import tonio.colored as tonio

    async def main():
        started = [0]
        all_started = tonio.Event()

        async def sleeper():
            started[0] += 1
            if started[0] == N:
                all_started.set()
            await tonio.sleep(3600)

        t0 = time.perf_counter()
        async with tonio.scope() as scope:
            for _ in range(N):
                scope.spawn(sleeper())
            await all_started.wait()
            t1 = time.perf_counter()
            scope.cancel()
        return t0, t1, time.perf_counter()

    return _done(*tonio.run(main(), threads=threads))


def trio_nursery():
    import trio

    async def main():
        started = [0]
        all_started = trio.Event()

        async def sleeper():
            started[0] += 1
            if started[0] == N:
                all_started.set()
            await trio.sleep(3600)

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for _ in range(N):
                nursery.start_soon(sleeper)
            await all_started.wait()
            t1 = time.perf_counter()
            nursery.cancel_scope.cancel()
        return t0, t1, time.perf_counter()

    return _done(*trio.run(main))


def _asyncio(loop_factory):
    import asyncio

    async def main():
        started = [0]
        all_started = asyncio.Event()

        async def sleeper():
            started[0] += 1
            if started[0] == N:
                all_started.set()
            await asyncio.sleep(3600)

        t0 = time.perf_counter()
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(sleeper()) for _ in range(N)]
            await all_started.wait()
            t1 = time.perf_counter()
            for task in tasks:
                task.cancel()
        return t0, t1, time.perf_counter()

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return _done(*runner.run(main()))


def asyncio_taskgroup():
    return _asyncio(None)


def uvloop_taskgroup():
    import uvloop

    return _asyncio(uvloop.new_event_loop)


IMPLEMENTATIONS = {
    'tonio yield, 1 thread': lambda: _tonio_yield(1),
    'tonio colored, 1 thread': lambda: _tonio_colored(1),
    'trio (nursery cancel)': trio_nursery,
    'asyncio (TaskGroup, cancel each)': asyncio_taskgroup,
    'uvloop (TaskGroup, cancel each)': uvloop_taskgroup,
}

if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
