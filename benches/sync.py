"""The synchronization benchmark: lock hand-offs and channel throughput.

*Lock*: ``TASKS`` tasks share one lock for ``ACQUISITIONS`` acquisitions in total, each holding it
across one suspension (tonio: a bare ``yield`` / ``yield_now()``; asyncio: ``sleep(0)``; trio:
``sleep(0)``), so every release hands the lock to a waiting task: the rate is hand-offs per second.

*Channels*: ``MESSAGES`` integers pass from P producers to C consumers (1→1 and 4→4) through a
bounded channel of capacity 64 and through an unbounded one; consumers run until the channel is
closed (asyncio: one stop sentinel per consumer). Bounded sends suspend while the buffer is full
(tonio ``sender.send``, ``asyncio.Queue.put``, trio ``send``); unbounded sends never wait
(tonio's sync ``send``, ``put_nowait``, trio ``send_nowait``). The rate is messages per second.

Run one measurement: ``python benches/sync.py 'SCENARIO @ IMPL'`` (prints JSON);
``benches/run.py --bench sync`` runs them all in fresh processes and prints the tables.
"""

from __future__ import annotations

import json
import math
import resource
import sys
import time

TASKS = 10
ACQUISITIONS = 100_000
MESSAGES = 100_000
BOUND = 64

SCENARIOS = {
    'lock': None,
    'channel 1→1, bounded 64': (1, 1, BOUND),
    'channel 4→4, bounded 64': (4, 4, BOUND),
    'channel 1→1, unbounded': (1, 1, None),
    'channel 4→4, unbounded': (4, 4, None),
}


def _done(elapsed, operations):
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {'total': elapsed * 1e3, 'rate': operations / elapsed, 'peak_mb': peak_mb}


def _split(total, parts):
    return [total // parts + (index < total % parts) for index in range(parts)]


# tonio, generator syntax


def _tonio_yield_lock(threads):
    import tonio
    from tonio import sync

    lock = sync.Lock()

    def worker(count):
        for _ in range(count):
            with (yield lock()):
                yield

    def main():
        t0 = time.perf_counter()
        yield tonio.spawn.without_results(*(worker(n) for n in _split(ACQUISITIONS, TASKS)))
        return time.perf_counter() - t0

    return _done(tonio.run(main(), threads=threads), ACQUISITIONS)


def _tonio_yield_channel(threads, producers, consumers, bound):
    import tonio
    from tonio.sync import channel

    if bound is None:
        sender, receiver = channel.unbounded()

        def producer(count):
            send = sender.send
            for message in range(count):
                send(message)
            yield

    else:
        sender, receiver = channel.channel(bound)

        def producer(count):
            send = sender.send
            for message in range(count):
                yield send(message)

    received = []

    def consumer():
        count = 0
        closed, receive = receiver.Closed, receiver.next
        while (yield receive()) is not closed:
            count += 1
        received.append(count)

    def main():
        t0 = time.perf_counter()
        consuming = tonio.spawn.without_results(*(consumer() for _ in range(consumers)))
        yield tonio.spawn.without_results(*(producer(n) for n in _split(MESSAGES, producers)))
        sender.close()
        yield consuming
        return time.perf_counter() - t0

    elapsed = tonio.run(main(), threads=threads)
    assert sum(received) == MESSAGES
    return _done(elapsed, MESSAGES)


# tonio, async def syntax


def _tonio_colored_lock(threads):
    import tonio.colored as tonio
    from tonio.colored import sync

    lock = sync.Lock()

    async def worker(count):
        for _ in range(count):
            async with lock:
                await tonio.yield_now()

    async def main():
        t0 = time.perf_counter()
        await tonio.spawn.without_results(*(worker(n) for n in _split(ACQUISITIONS, TASKS)))
        return time.perf_counter() - t0

    return _done(tonio.run(main(), threads=threads), ACQUISITIONS)


def _tonio_colored_channel(threads, producers, consumers, bound):
    import tonio.colored as tonio
    from tonio.colored.sync import channel

    if bound is None:
        sender, receiver = channel.unbounded()

        async def producer(count):
            send = sender.send
            for message in range(count):
                send(message)

    else:
        sender, receiver = channel.channel(bound)

        async def producer(count):
            send = sender.send
            for message in range(count):
                await send(message)

    received = []

    async def consumer():
        count = 0
        async for _ in receiver:
            count += 1
        received.append(count)

    async def main():
        t0 = time.perf_counter()
        consuming = tonio.spawn.without_results(*(consumer() for _ in range(consumers)))
        await tonio.spawn.without_results(*(producer(n) for n in _split(MESSAGES, producers)))
        sender.close()
        await consuming
        return time.perf_counter() - t0

    elapsed = tonio.run(main(), threads=threads)
    assert sum(received) == MESSAGES
    return _done(elapsed, MESSAGES)


# asyncio and uvloop


def _asyncio_run(loop_factory, main):
    import asyncio

    with asyncio.Runner(loop_factory=loop_factory) as runner:
        return runner.run(main())


def _asyncio_lock(loop_factory):
    import asyncio

    async def main():
        lock = asyncio.Lock()

        async def worker(count):
            for _ in range(count):
                async with lock:
                    await asyncio.sleep(0)

        t0 = time.perf_counter()
        await asyncio.gather(*(worker(n) for n in _split(ACQUISITIONS, TASKS)))
        return time.perf_counter() - t0

    return _done(_asyncio_run(loop_factory, main), ACQUISITIONS)


def _asyncio_channel(loop_factory, producers, consumers, bound):
    import asyncio

    stop = object()
    received = []

    async def main():
        queue = asyncio.Queue(maxsize=bound or 0)

        async def producer(count):
            if bound is None:
                put = queue.put_nowait
                for message in range(count):
                    put(message)
            else:
                put = queue.put
                for message in range(count):
                    await put(message)

        async def consumer():
            count = 0
            get = queue.get
            while (await get()) is not stop:
                count += 1
            received.append(count)

        t0 = time.perf_counter()
        consuming = [asyncio.ensure_future(consumer()) for _ in range(consumers)]
        await asyncio.gather(*(producer(n) for n in _split(MESSAGES, producers)))
        for _ in range(consumers):
            await queue.put(stop)
        await asyncio.gather(*consuming)
        return time.perf_counter() - t0

    elapsed = _asyncio_run(loop_factory, main)
    assert sum(received) == MESSAGES
    return _done(elapsed, MESSAGES)


def _uvloop_factory():
    import uvloop

    return uvloop.new_event_loop


# trio


def _trio_lock():
    import trio

    async def main():
        lock = trio.Lock()

        async def worker(count):
            for _ in range(count):
                async with lock:
                    await trio.sleep(0)

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery:
            for n in _split(ACQUISITIONS, TASKS):
                nursery.start_soon(worker, n)
        return time.perf_counter() - t0

    return _done(trio.run(main), ACQUISITIONS)


def _trio_channel(producers, consumers, bound):
    import trio

    received = []

    async def main():
        send, receive = trio.open_memory_channel(math.inf if bound is None else bound)

        async def producer(channel, count):
            async with channel:
                if bound is None:
                    put = channel.send_nowait
                    for message in range(count):
                        put(message)
                else:
                    put = channel.send
                    for message in range(count):
                        await put(message)

        async def consumer(channel):
            count = 0
            async with channel:
                async for _ in channel:
                    count += 1
            received.append(count)

        t0 = time.perf_counter()
        async with trio.open_nursery() as nursery, send, receive:
            for _ in range(consumers):
                nursery.start_soon(consumer, receive.clone())
            for n in _split(MESSAGES, producers):
                nursery.start_soon(producer, send.clone(), n)
        return time.perf_counter() - t0

    elapsed = trio.run(main)
    assert sum(received) == MESSAGES
    return _done(elapsed, MESSAGES)


def _for(scenario, lock, channel):
    shape = SCENARIOS[scenario]
    return (lambda: lock()) if shape is None else (lambda: channel(*shape))


PEERS = {
    'tonio yield, 1 thread': (
        lambda: _tonio_yield_lock(1),
        lambda *shape: _tonio_yield_channel(1, *shape),
    ),
    'tonio yield, 2 threads': (
        lambda: _tonio_yield_lock(2),
        lambda *shape: _tonio_yield_channel(2, *shape),
    ),
    'tonio colored, 1 thread': (
        lambda: _tonio_colored_lock(1),
        lambda *shape: _tonio_colored_channel(1, *shape),
    ),
    'tonio colored, 2 threads': (
        lambda: _tonio_colored_lock(2),
        lambda *shape: _tonio_colored_channel(2, *shape),
    ),
    'asyncio': (lambda: _asyncio_lock(None), lambda *shape: _asyncio_channel(None, *shape)),
    'uvloop': (
        lambda: _asyncio_lock(_uvloop_factory()),
        lambda *shape: _asyncio_channel(_uvloop_factory(), *shape),
    ),
    'trio': (_trio_lock, _trio_channel),
}

IMPLEMENTATIONS = {
    f'{scenario} @ {name}': _for(scenario, *runs)
    for scenario in SCENARIOS
    for name, runs in PEERS.items()
}

if __name__ == '__main__':
    print(json.dumps(IMPLEMENTATIONS[sys.argv[1]]()))
