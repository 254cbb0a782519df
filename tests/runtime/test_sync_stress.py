"""Invariant stress for the synchronization primitives and channels under real parallelism.

On the free-threaded interpreter these run with four workers truly in parallel (full size); on a
GIL build a smaller version checks the same invariants. Each scenario is repeated, with and
without a canceller task that cancels waiters at random moments (also at the very moment of a
hand-off, since it runs on another worker): every invariant must hold either way. The counters
that check an invariant are guarded by a threading.Lock, so the check itself is exact.
"""

import random
import threading
from collections import deque

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
from tonio import sync
from tonio.sync import channel

SCALE = 1 if FREE_THREADED else 10
REPEAT = 2
LOCK_ACQUISITIONS = 100_000 // SCALE
MESSAGES = 200_000 // SCALE
BARRIER_ROUNDS = 1_000 // max(1, SCALE // 4)
RW_ACQUISITIONS = 40_000 // SCALE
CONDITION_ITEMS = 20_000 // SCALE


class Canceller:
    """Cancels random scopes of ``slots`` until stopped; counts what it cancelled."""

    def __init__(self, slots, seed):
        self.slots = slots
        self.rng = random.Random(seed)
        self.stopped = False
        self.cancels = 0

    def run(self):
        while not self.stopped:
            scope = self.slots[self.rng.randrange(len(self.slots))]
            if scope is not None and scope.cancel():
                self.cancels += 1
            for _ in range(self.rng.randrange(4)):
                yield


class Guarded:
    """Counters under a threading.Lock (tasks on different workers run truly in parallel)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.inside = 0
        self.most = 0
        self.entered = 0

    def enter(self):
        with self.lock:
            self.inside += 1
            self.entered += 1
            self.most = max(self.most, self.inside)

    def leave(self):
        with self.lock:
            self.inside -= 1


def exclusion(primitive, cancelling, round_, tasks=8):
    """Tasks share ``LOCK_ACQUISITIONS`` acquisitions of ``primitive``; returns the counters."""
    counters = Guarded()
    slots = [None] * tasks
    canceller = Canceller(slots, round_)
    per_task = LOCK_ACQUISITIONS // tasks

    def worker(index):
        rng = random.Random(index * 1000 + round_)
        done = 0
        while done < per_task:
            with tonio.scope() as scope:
                slots[index] = scope
                with (yield primitive()):
                    counters.enter()
                    try:
                        if rng.random() < 0.25:
                            yield
                    finally:
                        counters.leave()
                done += 1
            slots[index] = None

    def main():
        cancelling_task = tonio.spawn(canceller.run()) if cancelling else None
        yield tonio.spawn(*(worker(index) for index in range(tasks)))
        canceller.stopped = True
        if cancelling_task is not None:
            yield cancelling_task

    run_bounded(main(), timeout=120, threads=4)
    return counters, canceller


@pytest.mark.parametrize('cancelling', [False, True], ids=['plain', 'cancels'])
@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_lock_never_has_two_tasks_inside(round_, cancelling):
    lock = sync.Lock()
    counters, canceller = exclusion(lock, cancelling, round_)
    assert counters.most == 1
    assert counters.entered >= LOCK_ACQUISITIONS - 8
    assert not lock.locked()
    assert lock.statistics().tasks_waiting == 0
    if cancelling:
        assert canceller.cancels > 0


@pytest.mark.parametrize('cancelling', [False, True], ids=['plain', 'cancels'])
@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_semaphore_never_admits_more_than_k(round_, cancelling):
    semaphore = sync.Semaphore(3)
    counters, _ = exclusion(semaphore, cancelling, round_, tasks=12)
    assert counters.most == 3
    assert semaphore.tokens() == 3
    assert semaphore.statistics().tasks_waiting == 0


@pytest.mark.parametrize('cancelling', [False, True], ids=['plain', 'cancels'])
@pytest.mark.parametrize('round_', range(REPEAT))
@pytest.mark.parametrize('size', [4, 0, None], ids=['bounded4', 'rendezvous', 'unbounded'])
def test_channel_messages_are_never_lost_or_duplicated(size, round_, cancelling):
    # A rendezvous channel hands every message to a parked receiver (or takes it from a parked
    # sender); an unbounded one hands it over whenever a receiver waits, else buffers it.
    producers = consumers = 8
    per_producer = MESSAGES // producers
    sender, receiver = channel.unbounded() if size is None else channel.channel(size)
    seen = [[] for _ in range(consumers)]
    slots = [None] * (producers + consumers)
    canceller = Canceller(slots, round_)

    def producer(name):
        sequence = 0
        while sequence < per_producer:
            with tonio.scope() as scope:
                slots[name] = scope
                if size is None:
                    sender.send((name, sequence))
                    sequence += 1
                    yield
                    continue
                yield sender.send((name, sequence))
                # Only reached when the send happened; a cancelled send is retried.
                sequence += 1
            slots[name] = None

    def consumer(index):
        mine = seen[index]
        while True:
            with tonio.scope() as scope:
                slots[producers + index] = scope
                message = yield receiver.next()
                if message is receiver.Closed:
                    return
                mine.append(message)
            slots[producers + index] = None

    def main():
        cancelling_task = tonio.spawn(canceller.run()) if cancelling else None
        consuming = tonio.spawn(*(consumer(index) for index in range(consumers)))
        yield tonio.spawn(*(producer(name) for name in range(producers)))
        canceller.stopped = True
        if cancelling_task is not None:
            yield cancelling_task
        sender.close()
        yield consuming

    run_bounded(main(), timeout=120, threads=4)
    everything = sorted(message for mine in seen for message in mine)
    expected = [(name, sequence) for name in range(producers) for sequence in range(per_producer)]
    assert len(everything) == len(expected), 'a message was lost or duplicated'
    assert everything == expected
    for mine in seen:
        for name in range(producers):
            sequences = [sequence for sender_name, sequence in mine if sender_name == name]
            assert sequences == sorted(sequences), "a producer's messages arrived out of order"
    for mine in seen:
        last = {}
        for name, sequence in mine:
            assert sequence > last.get(name, -1), 'a producer order was broken'
            last[name] = sequence
    if cancelling:
        assert canceller.cancels > 0


@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_barrier_of_8_over_many_rounds(round_):
    parties = 8
    barrier = sync.Barrier(parties)
    guard = threading.Lock()
    arrived = [0] * BARRIER_ROUNDS
    early = []
    indices = [[] for _ in range(BARRIER_ROUNDS)]

    def party():
        for number in range(BARRIER_ROUNDS):
            with guard:
                arrived[number] += 1
            index = yield barrier.wait()
            with guard:
                if arrived[number] != parties:
                    early.append(number)
                indices[number].append(index)

    def main():
        yield tonio.spawn(*(party() for _ in range(parties)))

    run_bounded(main(), timeout=120, threads=4)
    assert early == []
    assert all(sorted(each) == list(range(parties)) for each in indices)
    assert barrier.value() == 0


@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_barrier_with_random_cancels_never_releases_a_short_round(round_):
    parties, workers = 8, 10
    rounds = BARRIER_ROUNDS // 4
    barrier = sync.Barrier(parties)
    guard = threading.Lock()
    passes = [0] * parties
    slots = [None] * workers
    rng = random.Random(round_)
    cancels, cancelled = [0], [0]
    enough, round_done = tonio.Event(), tonio.Event()
    stopped = [False]

    def canceller():
        # A round needs all its tasks parked at once, so a canceller running flat out could
        # starve it (on a GIL build its worker holds the GIL for a switch interval while the
        # tasks it woke wait on other workers): one to three cancels per round, each at a
        # random moment of it.
        while not stopped[0]:
            round_done.clear()
            for _ in range(rng.randrange(1, 4)):
                for _ in range(rng.randrange(5)):
                    yield
                scope = slots[rng.randrange(workers)]
                if scope is not None and scope.cancel():
                    cancels[0] += 1
            yield round_done.wait(0.05)

    def worker(index):
        while True:
            with tonio.scope() as scope:
                slots[index] = scope
                passed = yield barrier.wait()
                with guard:
                    passes[passed] += 1
                    if passes[parties - 1] >= rounds:
                        enough.set()
                if passed == parties - 1:
                    round_done.set()
            slots[index] = None
            if scope.cancelled:
                with guard:
                    cancelled[0] += 1

    def main():
        cancelling_task = tonio.spawn(canceller())
        with tonio.scope() as everyone:
            for index in range(workers):
                everyone.spawn(worker(index))
            yield enough.wait()
            stopped[0] = True
            everyone.cancel()
        yield everyone()
        yield cancelling_task

    run_bounded(main(), timeout=120, threads=4)
    completed = passes[parties - 1]
    assert completed >= rounds
    # Each round hands out each index at most once; an index goes unused only when its task's
    # cancel raced the round's completion (that task counted as arrived and raised).
    assert all(count <= completed for count in passes)
    # (Slack for the last rounds: the final cancel of every worker may race one too.)
    assert sum(completed - count for count in passes) <= cancelled[0] + workers
    assert barrier.value() == 0
    assert cancels[0] > 0


@pytest.mark.parametrize('cancelling', [False, True], ids=['plain', 'cancels'])
@pytest.mark.parametrize('round_', range(REPEAT))
def test_an_rwlock_never_lets_a_writer_in_with_anyone_else(round_, cancelling):
    tasks = 8
    rwlock = sync.RWLock()
    guard = threading.Lock()
    inside = {'readers': 0, 'writers': 0}
    most_readers, violations, done = [0], [], [0]
    slots = [None] * tasks
    canceller = Canceller(slots, round_)
    per_task = RW_ACQUISITIONS // tasks

    def enter(kind):
        with guard:
            inside[kind] += 1
            if inside['writers'] > 1 or (inside['writers'] and inside['readers']):
                violations.append(dict(inside))
            most_readers[0] = max(most_readers[0], inside['readers'])

    def leave(kind):
        with guard:
            inside[kind] -= 1

    def worker(index):
        rng = random.Random(index * 1000 + round_)
        count = 0
        while count < per_task:
            kind = 'writers' if rng.random() < 0.25 else 'readers'
            side = rwlock.writer if kind == 'writers' else rwlock.reader
            with tonio.scope() as scope:
                slots[index] = scope
                with (yield side()):
                    enter(kind)
                    try:
                        if rng.random() < 0.5:
                            yield
                    finally:
                        leave(kind)
                count += 1
            slots[index] = None
        with guard:
            done[0] += count

    def main():
        cancelling_task = tonio.spawn(canceller.run()) if cancelling else None
        yield tonio.spawn(*(worker(index) for index in range(tasks)))
        canceller.stopped = True
        if cancelling_task is not None:
            yield cancelling_task

    run_bounded(main(), timeout=120, threads=4)
    assert violations == []
    assert done[0] == per_task * tasks
    assert most_readers[0] > 1, 'readers never shared the lock'
    statistics = rwlock.statistics()
    assert (statistics.readers, statistics.writer, statistics.tasks_waiting) == (0, False, 0)
    if cancelling:
        assert canceller.cancels > 0


@pytest.mark.parametrize('cancelling', [False, True], ids=['plain', 'cancels'])
@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_condition_guarded_buffer_loses_no_item_and_no_wake_up(round_, cancelling):
    """A bounded buffer on two Conditions of one Lock, notifying one waiter per change, with
    cancels landing in wait(), in the lock's queue and at the moment of a notification. (Whether
    a notified waiter cancelled at once passes its notification on is checked exactly in
    tests/yielding/test_sync.py: here a retrying waiter would mask it.)"""
    producers = consumers = 6
    per_producer = CONDITION_ITEMS // producers
    capacity = 4
    lock = sync.Lock()
    not_full, not_empty = sync.Condition(lock), sync.Condition(lock)
    buffer = deque()
    finished = [False]
    seen = [[] for _ in range(consumers)]
    slots = [None] * (producers + consumers)
    canceller = Canceller(slots, round_)

    def producer(name):
        sequence = 0
        while sequence < per_producer:
            with tonio.scope() as scope:
                slots[name] = scope
                with (yield lock()):
                    while len(buffer) >= capacity:
                        yield not_full.wait()
                    buffer.append((name, sequence))
                    sequence += 1
                    not_empty.notify()
            slots[name] = None

    def consumer(index):
        mine = seen[index]
        while True:
            with tonio.scope() as scope:
                slots[producers + index] = scope
                with (yield lock()):
                    while not buffer and not finished[0]:
                        yield not_empty.wait()
                    if not buffer:
                        return
                    mine.append(buffer.popleft())
                    not_full.notify()
            slots[producers + index] = None

    def main():
        cancelling_task = tonio.spawn(canceller.run()) if cancelling else None
        consuming = tonio.spawn(*(consumer(index) for index in range(consumers)))
        yield tonio.spawn(*(producer(name) for name in range(producers)))
        canceller.stopped = True
        if cancelling_task is not None:
            yield cancelling_task
        with (yield lock()):
            finished[0] = True
            not_empty.notify_all()
        yield consuming

    run_bounded(main(), timeout=120, threads=4)
    everything = sorted(item for mine in seen for item in mine)
    expected = [(name, sequence) for name in range(producers) for sequence in range(per_producer)]
    assert len(everything) == len(expected), 'an item was lost or duplicated'
    assert everything == expected
    for mine in seen:
        last = {}
        for name, sequence in mine:
            assert sequence > last.get(name, -1), 'a producer order was broken'
            last[name] = sequence
    assert not lock.locked()
    assert not_full.waiting == not_empty.waiting == 0
    if cancelling:
        assert canceller.cancels > 0
