"""Abandoning one event: N tasks wait on an event that is never set, and all time out together.

Every waiter's registration must be taken back when its timeout passes. With O(1) removal the
time per waiter stays flat as N grows; with a list scan (asyncio's `Event` keeps its waiters in
a deque and removes each with `deque.remove`) it grows with N, so the total is quadratic.

So that the timeouts are not spread over the time it takes to start N tasks, every waiter's
timeout ends at one shared deadline, set far enough ahead for all of them to be waiting by then
(checked: a run where one started late is an error). Reported per waiter, in microseconds:
*start* (spawning N tasks until the last one waits) and *timeout* (from the deadline until every
task has resumed with False and finished), plus the total in ms. A control row runs the same
tasks sleeping until the deadline, with no event: the growth it shows is what a larger working
set costs any task (cache and TLB misses), not removal.

Run one measurement: ``python benches/waiters.py 'IMPL @ N'`` (prints JSON); ``benches/run.py``
runs them all in fresh processes and prints the table.
"""

from __future__ import annotations

import contextlib
import json
import resource
import sys
import threading
import time

SIZES = [25_000, 50_000, 100_000, 200_000]
# asyncio's quadratic removal makes larger runs take minutes: it is measured up to this size.
ASYNCIO_MAX = 50_000


class Clock:
    """The shared deadline (``margin_us`` per waiter ahead of the start, plus 50 ms) and the
    moments the phases end."""

    def __init__(self, n, margin_us):
        self.n = n
        self.t0 = time.perf_counter()
        self.deadline = self.t0 + 0.05 + n * margin_us * 1e-6
        self.started = 0
        self.last_started = self.t0
        self.lock = threading.Lock()

    def remaining(self):
        now = time.perf_counter()
        # Workers of a free-threaded runtime start tasks in parallel: `+=` alone would race.
        with self.lock:
            self.started += 1
            self.last_started = max(self.last_started, now)
        return self.deadline - now

    def result(self, done):
        assert self.started == self.n
        assert self.last_started < self.deadline, 'the deadline came before every task waited'
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        per = 1e6 / self.n
        return {
            'total': (done - self.t0) * 1e3,
            'start_us': (self.last_started - self.t0) * per,
            'timeout_us': (done - self.deadline) * per,
            'peak_mb': peak_mb,
        }


def _tonio_yield(threads, n):
    import tonio

    def waiter(event, clock):
        yield event.wait(clock.remaining())

    def main():
        event = tonio.Event()
        clock = Clock(n, margin_us=20)
        yield tonio.spawn.without_results(*(waiter(event, clock) for _ in range(n)))
        assert event.waiting == 0, 'a registration outlived its wait'
        return clock.result(time.perf_counter())

    return tonio.run(main(), threads=threads)


def _tonio_sleep_control(n):
    """The same tasks and timers, with no event: what N alone costs (memory, timers, tasks)."""
    import tonio

    def sleeper(clock):
        yield tonio.sleep(clock.remaining())

    def main():
        clock = Clock(n, margin_us=20)
        yield tonio.spawn.without_results(*(sleeper(clock) for _ in range(n)))
        return clock.result(time.perf_counter())

    return tonio.run(main(), threads=1)


def _tonio_colored(threads, n):
    import tonio.colored as tonio

    async def waiter(event, clock):
        await event.wait(clock.remaining())

    async def main():
        event = tonio.Event()
        clock = Clock(n, margin_us=20)
        await tonio.spawn.without_results(*(waiter(event, clock) for _ in range(n)))
        assert event.waiting == 0, 'a registration outlived its wait'
        return clock.result(time.perf_counter())

    return tonio.run(main(), threads=threads)


def _asyncio(loop_factory, n):
    import asyncio

    async def waiter(event, clock):
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), clock.remaining())

    async def main():
        event = asyncio.Event()
        clock = Clock(n, margin_us=120)
        await asyncio.gather(*(waiter(event, clock) for _ in range(n)))
        return clock.result(time.perf_counter())

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())


def _uvloop(n):
    import uvloop

    return _asyncio(uvloop.new_event_loop, n)


def _trio(n):
    import trio

    async def waiter(event, clock):
        with trio.move_on_after(clock.remaining()):
            await event.wait()

    async def main():
        event = trio.Event()
        clock = Clock(n, margin_us=200)
        async with trio.open_nursery() as nursery:
            for _ in range(n):
                nursery.start_soon(waiter, event, clock)
        return clock.result(time.perf_counter())

    return trio.run(main)


PEERS = {
    'tonio yield, 1 thread': lambda n: _tonio_yield(1, n),
    'tonio yield, 2 threads': lambda n: _tonio_yield(2, n),
    'tonio colored, 1 thread': lambda n: _tonio_colored(1, n),
    'tonio yield, 1 thread, sleeping instead (control)': _tonio_sleep_control,
    'asyncio (wait_for)': lambda n: _asyncio(None, n),
    'uvloop (wait_for)': _uvloop,
    'trio (move_on_after)': _trio,
}


def _at(run, n):
    return lambda: run(n)


IMPLEMENTATIONS = {
    f'{name} @ {n}': _at(run, n)
    for name, run in PEERS.items()
    for n in SIZES
    if not (name.startswith(('asyncio', 'uvloop')) and n > ASYNCIO_MAX)
}

if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
