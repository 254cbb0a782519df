"""Stress under real parallelism: many tasks, events set from tasks and from plain threads.

On the free-threaded interpreter these run with four workers truly in parallel; on a GIL build
they still check the same invariants. Each scenario is repeated, and every run is bounded so that
a lost wakeup fails the test instead of hanging it.
"""

import random
import threading

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
import tonio.colored

TASKS = 100_000 if FREE_THREADED else 20_000
REPEAT = 3


@pytest.mark.parametrize('round_', range(REPEAT))
def test_every_waiter_wakes_exactly_once_when_set_from_tasks_and_threads(round_):
    events = [tonio.Event() for _ in range(TASKS)]
    woken = [0] * TASKS
    results = []

    def waiter(index):
        result = yield events[index].wait()
        woken[index] += 1
        return result

    def task_setter(indices):
        for count, index in enumerate(indices):
            events[index].set()
            if count % 64 == 0:
                yield

    def thread_setter(indices):
        for index in indices:
            events[index].set()

    def main():
        handle = tonio.spawn(*(waiter(index) for index in range(TASKS)))
        order = list(range(TASKS))
        random.Random(round_).shuffle(order)
        quarter = TASKS // 4
        threads = [
            threading.Thread(target=thread_setter, args=(order[i * quarter : (i + 1) * quarter],))
            for i in range(2)
        ]
        for thread in threads:
            thread.start()
        yield tonio.spawn(
            task_setter(order[2 * quarter : 3 * quarter]), task_setter(order[3 * quarter :])
        )
        for thread in threads:
            thread.join()
        results.extend((yield handle))

    run_bounded(main(), threads=4)
    assert woken == [1] * TASKS
    assert results == [True] * TASKS


@pytest.mark.parametrize('round_', range(REPEAT))
def test_timeouts_racing_sets_resolve_each_wait_exactly_once(round_):
    count = TASKS // 10
    events = [tonio.Event() for _ in range(count)]
    outcomes = [[] for _ in range(count)]
    rng = random.Random(round_)
    timeouts = [rng.uniform(0, 0.02) for _ in range(count)]

    def waiter(index):
        outcomes[index].append((yield events[index].wait(timeouts[index])))

    def setter():
        for index in rng.sample(range(count), count):
            events[index].set()
            if index % 16 == 0:
                yield tonio.sleep(0)

    def main():
        yield tonio.spawn(*(waiter(index) for index in range(count)), setter())

    run_bounded(main(), threads=4)
    assert all(len(outcome) == 1 for outcome in outcomes)
    # Whatever won each race, a True means the event really was set.
    assert all(events[index].is_set() for index in range(count) if outcomes[index] == [True])


@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_relay_of_events_across_workers_keeps_its_order(round_):
    length = 2_000
    events = [tonio.colored.Event() for _ in range(length + 1)]
    seen = []

    async def runner(index):
        await events[index].wait()
        seen.append(index)
        events[index + 1].set()

    async def main():
        handle = tonio.colored.spawn(*(runner(index) for index in reversed(range(length))))
        events[0].set()
        await events[length].wait()
        await handle

    run_bounded(main(), threads=4)
    assert seen == list(range(length))


@pytest.mark.parametrize('round_', range(REPEAT))
def test_many_spawners_each_task_finishes_exactly_once(round_):
    finished = [0] * TASKS
    per_spawner = TASKS // 100

    def leaf(index):
        yield
        finished[index] += 1
        return index

    def spawner(base):
        results = yield tonio.spawn(*(leaf(base + i) for i in range(per_spawner)))
        return sum(results)

    async def main():
        return await tonio.colored.spawn(*(spawner(i * per_spawner) for i in range(100)))

    totals = run_bounded(main(), threads=4)
    assert finished == [1] * TASKS
    assert sum(totals) == sum(range(TASKS))
