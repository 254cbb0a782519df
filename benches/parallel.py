"""Parallel work: tasks doing pure-Python work between suspensions.

800 tasks each run 10 rounds of a 2,000-iteration arithmetic loop, suspending between rounds
(``yield`` / ``await yield_now()``; asyncio: ``await asyncio.sleep(0)``). On a free-threaded
interpreter tonio's workers run tasks truly in parallel, so two workers should take about half the
time of one; with a GIL they take turns. The floor is the same work on plain ``threading``
threads with no scheduler at all (the tasks split evenly between them). Reported: total ms.

Run one measurement: ``python benches/parallel.py IMPL`` (prints JSON); ``benches/run.py`` runs
them all in fresh processes and prints the table.
"""

from __future__ import annotations

import json
import resource
import sys
import time

TASKS = 800
ROUNDS = 10
ITERATIONS = 2_000


def work(iterations):
    total = 0
    for i in range(iterations):
        total += i * i % 7
    return total


EXPECTED = work(ITERATIONS) * ROUNDS


def _done(elapsed, results):
    assert len(results) == TASKS and all(result == EXPECTED for result in results), 'bad results'
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {'total': elapsed * 1e3, 'peak_mb': peak_mb}


def _tonio_yield(threads):
    import tonio

    def task():
        total = 0
        for _ in range(ROUNDS):
            total += work(ITERATIONS)
            yield
        return total

    def main():
        t0 = time.perf_counter()
        results = yield tonio.spawn(*(task() for _ in range(TASKS)))
        return time.perf_counter() - t0, results

    return _done(*tonio.run(main(), threads=threads))


def _tonio_colored(threads):
    import tonio.colored as tonio

    async def task():
        total = 0
        for _ in range(ROUNDS):
            total += work(ITERATIONS)
            await tonio.yield_now()
        return total

    async def main():
        t0 = time.perf_counter()
        results = await tonio.spawn(*(task() for _ in range(TASKS)))
        return time.perf_counter() - t0, results

    return _done(*tonio.run(main(), threads=threads))


def asyncio_gather():
    import asyncio

    async def task():
        total = 0
        for _ in range(ROUNDS):
            total += work(ITERATIONS)
            await asyncio.sleep(0)
        return total

    async def main():
        t0 = time.perf_counter()
        results = await asyncio.gather(*(task() for _ in range(TASKS)))
        return time.perf_counter() - t0, results

    return _done(*asyncio.run(main()))


def _threads(count):
    import threading

    results = []
    lock = threading.Lock()

    def run(share):
        mine = []
        for _ in range(share):
            total = 0
            for _ in range(ROUNDS):
                total += work(ITERATIONS)
            mine.append(total)
        with lock:
            results.extend(mine)

    shares = [TASKS // count + (1 if index < TASKS % count else 0) for index in range(count)]
    threads = [threading.Thread(target=run, args=(share,)) for share in shares]
    t0 = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return _done(time.perf_counter() - t0, results)


IMPLEMENTATIONS = {
    'plain threads, 1 (floor)': lambda: _threads(1),
    'plain threads, 2 (floor)': lambda: _threads(2),
    'tonio yield, 1 thread': lambda: _tonio_yield(1),
    'tonio yield, 2 threads': lambda: _tonio_yield(2),
    'tonio colored, 1 thread': lambda: _tonio_colored(1),
    'tonio colored, 2 threads': lambda: _tonio_colored(2),
    'asyncio (gather, sleep(0))': asyncio_gather,
}

if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
