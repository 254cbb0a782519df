"""Synchronization primitives and channels in generator syntax (mirrored in tests/colored).

Cancel-safety tests cancel a waiter's scope and make the competing hand-off in the same step of
the main task (no suspension in between), so with one worker the order of the two is exact:
"cancel, then hand-off" must skip the cancelled waiter, "hand-off, then cancel" must leave the
waiter with what it was handed (it raises at its next suspension point). Those tests run on one
worker (the free-threaded default is one per CPU); the ones taking ``threads`` run on four too,
and count with ``Occupancy``, whose counters stay exact when tasks run truly in parallel.
"""

import gc
import threading
import weakref

import pytest
from tests.conftest import run_bounded

import tonio
from tonio import sync
from tonio.exceptions import CancelledError, ChannelClosedError, WouldBlock
from tonio.sync import channel


def until(predicate):
    """Yields to the scheduler until ``predicate()`` holds."""
    while not predicate():
        yield


def cancellable(scopes, body):
    """Runs ``body`` in a scope whose handle goes to ``scopes`` (cancelling it cancels body)."""
    with tonio.scope() as scope:
        scopes.append(scope)
        return (yield body)
    return 'cancelled'


class Occupancy:
    """How many tasks are inside a section at once, exact under free threading."""

    def __init__(self):
        self._lock = threading.Lock()
        self.inside = 0
        self.most = 0

    def enter(self):
        """Counts a task in; returns how many are inside now."""
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            return self.inside

    def leave(self):
        with self._lock:
            self.inside -= 1


# Lock


def test_lock_admits_one_task_at_a_time(threads):
    lock = sync.Lock()
    occupancy = Occupancy()

    def worker():
        for _ in range(50):
            with (yield lock()):
                occupancy.enter()
                yield
                occupancy.leave()

    def main():
        yield tonio.spawn(*(worker() for _ in range(8)))

    run_bounded(main(), threads=threads)
    assert occupancy.most == 1
    assert not lock.locked()


def test_lock_goes_to_waiters_in_arrival_order_without_barging():
    lock = sync.Lock()
    order = []

    def waiter(index):
        with (yield lock()):
            order.append(index)

    def main():
        guard = yield lock()
        handles = []
        for index in range(5):
            handles.append(tonio.spawn(waiter(index)))
            yield from until(lambda n=index: lock.statistics().tasks_waiting == n + 1)
        guard.release()
        # Handed straight to the first waiter: a newcomer cannot take it in between.
        with pytest.raises(WouldBlock):
            lock.try_acquire()
        for handle in handles:
            assert (yield handle) is None

    run_bounded(main(), threads=1)
    assert order == [0, 1, 2, 3, 4]


def test_lock_non_blocking_forms_and_misuse():
    lock = sync.Lock()
    assert lock.try_acquire() is None
    assert lock.locked()
    with pytest.raises(WouldBlock, match='Lock is held'):
        lock.try_acquire()
    with pytest.raises(WouldBlock):
        lock.or_raise()
    lock.release()
    with pytest.raises(RuntimeError, match='not locked'):
        lock.release()
    with lock.or_raise() as entered:
        assert entered is None
        assert lock.locked()
    assert not lock.locked()
    guard = lock.or_raise()
    guard.release()
    with pytest.raises(RuntimeError, match='already released'):
        guard.release()
    with pytest.raises(RuntimeError, match='already released'), guard:
        pass
    assert repr(lock) == '<tonio.sync.Lock unlocked waiting=0>'


def test_lock_statistics_count_the_waiters():
    lock = sync.Lock()

    def waiter():
        with (yield lock()):
            pass

    def main():
        with (yield lock()):
            handle = tonio.spawn(waiter(), waiter())
            yield from until(lambda: lock.statistics().tasks_waiting == 2)
            stats = lock.statistics()
        yield handle
        return stats, lock.statistics()

    held, free = run_bounded(main(), threads=1)
    assert (held.locked, held.tasks_waiting) == (True, 2)
    assert (free.locked, free.tasks_waiting) == (False, 0)


def test_a_waiter_cancelled_before_the_release_never_gets_the_lock():
    lock = sync.Lock()
    scopes, got = [], []

    def waiter(name):
        with (yield lock()):
            got.append(name)

    def main():
        guard = yield lock()
        first = tonio.spawn(cancellable(scopes, waiter('cancelled')))
        yield from until(lambda: lock.statistics().tasks_waiting == 1)
        second = tonio.spawn(waiter('next'))
        yield from until(lambda: lock.statistics().tasks_waiting == 2)
        scopes[0].cancel()
        guard.release()
        return (yield first), (yield second)

    assert run_bounded(main(), threads=1) == ('cancelled', None)
    assert got == ['next']
    assert not lock.locked()


def test_a_lock_handed_over_is_kept_when_the_cancel_comes_right_after():
    lock = sync.Lock()
    scopes, events = [], []

    def waiter():
        with (yield lock()):
            events.append('acquired')
            yield tonio.sleep(0)
            events.append('not reached')

    def main():
        guard = yield lock()
        handle = tonio.spawn(cancellable(scopes, waiter()))
        yield from until(lambda: lock.statistics().tasks_waiting == 1)
        guard.release()
        scopes[0].cancel()
        return (yield handle)

    assert run_bounded(main(), threads=1) == 'cancelled'
    assert events == ['acquired']
    assert not lock.locked()


def test_a_lock_taken_and_released_by_a_plain_thread_is_handed_to_a_task(threads):
    lock = sync.Lock()
    taken, release = threading.Event(), threading.Event()
    order = []

    def holder():
        lock.try_acquire()
        taken.set()
        release.wait(10)
        order.append('thread releases')
        lock.release()

    def waiter():
        with (yield lock()):
            order.append('task acquires')

    def main():
        thread = threading.Thread(target=holder)
        thread.start()
        yield tonio.spawn_blocking(taken.wait, 10)
        handle = tonio.spawn(waiter())
        yield from until(lambda: lock.statistics().tasks_waiting == 1)
        release.set()
        yield handle
        thread.join()

    run_bounded(main(), threads=threads)
    assert order == ['thread releases', 'task acquires']
    assert not lock.locked()


def test_a_plain_thread_sends_to_waiting_tasks(threads):
    sender, receiver = channel.unbounded()
    got = []

    def consumer():
        while (message := (yield receiver.next())) is not receiver.Closed:
            got.append(message)

    def produce():
        for message in range(1000):
            sender.send(message)
        sender.close()

    def main():
        consumers = tonio.spawn(consumer(), consumer())
        yield from until(lambda: receiver.statistics().tasks_waiting_receive == 2)
        thread = threading.Thread(target=produce)
        thread.start()
        yield consumers
        thread.join()

    run_bounded(main(), threads=threads)
    assert sorted(got) == list(range(1000))


def test_sync_waits_cannot_be_combined():
    def main():
        waits = [
            sync.Lock()(),
            sync.Semaphore(1)(),
            sync.Barrier(2).wait(),
            channel.channel(1)[1].receive(),
        ]
        errors = []
        for wait in waits:
            try:
                tonio.Waiter.any(wait, tonio.Event())
            except TypeError as error:
                errors.append(str(error))
        yield
        return errors

    errors = run_bounded(main(), threads=1)
    assert len(errors) == 4
    assert all('cannot be combined' in error for error in errors)


# Semaphore


def test_semaphore_never_admits_more_than_its_tokens(threads):
    semaphore = sync.Semaphore(3)
    occupancy = Occupancy()
    full = tonio.Event()

    def worker():
        for _ in range(30):
            with (yield semaphore()):
                if occupancy.enter() == 3:
                    full.set()
                # The first holders wait inside for each other, so three are inside at once
                # whatever the timing; one admitting fewer times out here (`most` tells).
                if not (yield full.wait(10)):
                    full.set()
                yield
                occupancy.leave()

    def main():
        yield tonio.spawn(*(worker() for _ in range(10)))

    run_bounded(main(), threads=threads)
    assert occupancy.most == 3
    assert semaphore.tokens() == 3


def test_semaphore_tokens_statistics_and_misuse():
    semaphore = sync.Semaphore(2)
    assert semaphore.tokens() == 2
    semaphore.try_acquire()
    with semaphore.or_raise():
        assert semaphore.tokens() == 0
        with pytest.raises(WouldBlock, match='no free token'):
            semaphore.try_acquire()
        stats = semaphore.statistics()
        assert (stats.borrowed_tokens, stats.total_tokens, stats.tasks_waiting) == (2, 2, 0)
    semaphore.release()
    with pytest.raises(ValueError, match='released more times'):
        semaphore.release()
    assert semaphore.tokens() == 2
    with pytest.raises(ValueError, match='non-negative'):
        sync.Semaphore(-1)
    with pytest.raises(ValueError, match='int'):
        sync.Semaphore('3')
    assert sync.Semaphore(0).tokens() == 0


def test_a_cancelled_semaphore_waiter_keeps_no_token():
    semaphore = sync.Semaphore(1)
    scopes, got = [], []

    def waiter(name):
        with (yield semaphore()):
            got.append(name)

    def main():
        guard = yield semaphore()
        first = tonio.spawn(cancellable(scopes, waiter('cancelled')))
        yield from until(lambda: semaphore.statistics().tasks_waiting == 1)
        second = tonio.spawn(waiter('next'))
        yield from until(lambda: semaphore.statistics().tasks_waiting == 2)
        scopes[0].cancel()
        guard.release()
        return (yield first), (yield second)

    assert run_bounded(main(), threads=1) == ('cancelled', None)
    assert got == ['next']
    assert semaphore.tokens() == 1


# Condition


def test_condition_wait_and_notify_pass_items_in_order(threads):
    condition = sync.Condition()
    items, got = [], []

    def consumer():
        for _ in range(20):
            with (yield condition()):
                while not items:
                    yield condition.wait()
                got.append(items.pop(0))

    def producer():
        for item in range(60):
            with (yield condition()):
                items.append(item)
                condition.notify()
            yield

    def main():
        yield tonio.spawn(consumer(), consumer(), consumer(), producer())

    run_bounded(main(), threads=threads)
    assert sorted(got) == list(range(60))


def test_notify_wakes_waiters_in_the_order_they_waited():
    condition = sync.Condition(sync.Lock())
    order = []

    def waiter(index):
        with (yield condition()):
            yield condition.wait()
            assert condition.locked()
            order.append(index)

    def main():
        handles = []
        for index in range(4):
            handles.append(tonio.spawn(waiter(index)))
            yield from until(lambda n=index: condition.waiting == n + 1)
        with (yield condition()):
            assert condition.notify(2) == 2
        yield from until(lambda: len(order) == 2)
        with (yield condition()):
            assert condition.notify_all() == 2
            assert condition.notify() == 0
        for handle in handles:
            assert (yield handle) is None

    run_bounded(main(), threads=1)
    assert order == [0, 1, 2, 3]


def test_condition_needs_its_lock_held():
    condition = sync.Condition()

    def main():
        with pytest.raises(RuntimeError, match='lock held'):
            condition.notify()
        try:
            yield condition.wait()
        except RuntimeError as error:
            return str(error)

    assert 'lock held' in run_bounded(main(), threads=1)
    with pytest.raises(TypeError, match='Lock'):
        sync.Condition(sync.Semaphore(1))
    with pytest.raises(ValueError, match='n >= 0'):
        condition.notify(-1)


def test_a_cancelled_condition_waiter_retakes_the_lock_before_raising():
    condition = sync.Condition()
    scopes, seen = [], []

    def waiter():
        with (yield condition()):
            try:
                yield condition.wait()
            except CancelledError:
                seen.append(condition.locked())
                raise

    def main():
        handle = tonio.spawn(cancellable(scopes, waiter()))
        yield from until(lambda: condition.waiting == 1)
        with (yield condition()):
            scopes[0].cancel()
            yield tonio.sleep(0.01)
            # The cancelled waiter cannot raise before it has the lock back.
            assert seen == []
        return (yield handle)

    assert run_bounded(main(), threads=1) == 'cancelled'
    assert seen == [True]
    assert not condition.locked()


def test_a_cancelled_condition_waiter_does_not_use_up_a_notification():
    condition = sync.Condition()
    scopes, woken = [], []

    def waiter(name):
        with (yield condition()):
            yield condition.wait()
            woken.append(name)

    def main():
        first = tonio.spawn(cancellable(scopes, waiter('cancelled')))
        yield from until(lambda: condition.waiting == 1)
        second = tonio.spawn(waiter('next'))
        yield from until(lambda: condition.waiting == 2)
        with (yield condition()):
            scopes[0].cancel()
            assert condition.notify() == 1
        return (yield first), (yield second)

    assert run_bounded(main(), threads=1) == ('cancelled', None)
    assert woken == ['next']


def test_a_waiter_cancelled_after_its_notification_passes_it_on():
    condition = sync.Condition()
    scopes, woken = [], []

    def waiter(name):
        with (yield condition()):
            yield condition.wait()
            woken.append(name)

    def main():
        first = tonio.spawn(cancellable(scopes, waiter('cancelled')))
        yield from until(lambda: condition.waiting == 1)
        second = tonio.spawn(waiter('next'))
        yield from until(lambda: condition.waiting == 2)
        with (yield condition()):
            assert condition.notify() == 1
            # Notified, but cancelled before it has the lock back: it raises, and the
            # notification goes to the next waiter instead of being lost with it.
            scopes[0].cancel()
        outcome = yield first
        waiting = condition.waiting
        if waiting:
            with (yield condition()):
                condition.notify_all()  # not to leave the second waiter behind
        yield second
        return outcome, waiting

    assert run_bounded(main(), threads=1) == ('cancelled', 0)
    assert woken == ['next']


# RWLock


def test_rwlock_readers_share_and_writers_exclude(threads):
    rwlock = sync.RWLock()
    readers, writers = Occupancy(), Occupancy()
    violations = []

    shared = tonio.Event()

    def reader():
        for _ in range(20):
            with (yield rwlock.reader()):
                if readers.enter() == 2:
                    shared.set()
                if writers.inside:
                    violations.append('a reader beside a writer')
                # The first reader waits inside for a second one, so readers share the lock
                # whatever the timing; a lock that kept it out times out here (`most` tells).
                if not (yield shared.wait(10)):
                    shared.set()
                yield
                readers.leave()

    def writer():
        for _ in range(20):
            with (yield rwlock.writer()):
                writers.enter()
                if readers.inside or writers.inside > 1:
                    violations.append('a writer beside another task')
                yield
                writers.leave()

    def main():
        reading = tonio.spawn(*(reader() for _ in range(6)))
        # Writers only once two readers shared: one queued between them would (rightly) keep
        # the second reader out until the first one left.
        yield shared.wait(10)
        yield tonio.spawn(*(writer() for _ in range(3)))
        yield reading

    run_bounded(main(), threads=threads)
    assert violations == []
    assert readers.most > 1
    assert writers.most == 1
    assert rwlock.statistics().readers == 0


def test_a_waiting_writer_is_not_starved_by_new_readers():
    rwlock = sync.RWLock()
    order = []

    def writer():
        with (yield rwlock.writer()):
            order.append('writer')

    def late_reader():
        with (yield rwlock.reader()):
            order.append('late reader')

    def main():
        guard = yield rwlock.reader()
        writing = tonio.spawn(writer())
        yield from until(lambda: rwlock.statistics().tasks_waiting == 1)
        # A writer waits: a new reader queues behind it instead of joining the readers.
        with pytest.raises(WouldBlock):
            rwlock.reader.try_acquire()
        reading = tonio.spawn(late_reader())
        yield from until(lambda: rwlock.statistics().tasks_waiting == 2)
        guard.release()
        yield writing
        yield reading

    run_bounded(main(), threads=1)
    assert order == ['writer', 'late reader']


def test_cancelling_a_queued_writer_lets_the_readers_behind_it_in():
    rwlock = sync.RWLock()
    scopes, order = [], []

    def writer():
        with (yield rwlock.writer()):
            order.append('writer')

    def reader():
        with (yield rwlock.reader()):
            order.append('reader')

    def main():
        guard = yield rwlock.reader()
        writing = tonio.spawn(cancellable(scopes, writer()))
        yield from until(lambda: rwlock.statistics().tasks_waiting == 1)
        reading = tonio.spawn(reader())
        yield from until(lambda: rwlock.statistics().tasks_waiting == 2)
        scopes[0].cancel()
        yield reading
        guard.release()
        return (yield writing)

    assert run_bounded(main(), threads=1) == 'cancelled'
    assert order == ['reader']


def test_rwlock_non_blocking_forms_and_misuse():
    rwlock = sync.RWLock()
    with rwlock.reader.or_raise(), rwlock.reader.or_raise():
        assert rwlock.statistics().readers == 2
        with pytest.raises(WouldBlock):
            rwlock.writer.try_acquire()
    rwlock.writer.try_acquire()
    assert rwlock.statistics().writer
    with pytest.raises(WouldBlock):
        rwlock.reader.or_raise()
    rwlock.writer.release()
    with pytest.raises(RuntimeError, match='not held'):
        rwlock.writer.release()
    with pytest.raises(RuntimeError, match='not held'):
        rwlock.reader.release()


# Barrier


def test_barrier_releases_each_round_together_with_arrival_indices(threads):
    barrier = sync.Barrier(4)
    rounds = 25
    guard = threading.Lock()
    arrived = [0] * rounds
    passed_early = []
    indices = [[] for _ in range(rounds)]

    def party():
        for round_ in range(rounds):
            with guard:
                arrived[round_] += 1
            index = yield barrier.wait()
            with guard:
                if arrived[round_] != 4:
                    passed_early.append(round_)
                indices[round_].append(index)

    def main():
        yield tonio.spawn(*(party() for _ in range(4)))

    run_bounded(main(), threads=threads)
    assert passed_early == []
    assert all(sorted(each) == [0, 1, 2, 3] for each in indices)
    assert barrier.value() == 0


def test_barrier_value_parties_and_bad_arguments():
    barrier = sync.Barrier(3)
    assert (barrier.value(), barrier.parties) == (0, 3)
    with pytest.raises(ValueError, match='at least one'):
        sync.Barrier(0)
    with pytest.raises(TypeError, match='int'):
        sync.Barrier(2.5)

    def main():
        return (yield sync.Barrier(1).wait())

    assert run_bounded(main(), threads=1) == 0


def test_a_waiter_cancelled_before_the_round_completes_withdraws():
    barrier = sync.Barrier(3)
    scopes = []

    def party():
        return (yield barrier.wait())

    def latecomer():
        yield from until(lambda: barrier.value() == 2)
        return (yield barrier.wait())

    def main():
        cancelled = tonio.spawn(cancellable(scopes, party()))
        yield from until(lambda: barrier.value() == 1)
        first = tonio.spawn(party())
        yield from until(lambda: barrier.value() == 2)
        late = tonio.spawn(latecomer())
        scopes[0].cancel()
        # The cancel came first (its task has not even run yet): this arrival does not complete
        # the round, the latecomer's does.
        mine = yield barrier.wait()
        return (yield cancelled), sorted([(yield first), mine, (yield late)])

    assert run_bounded(main(), timeout=10, threads=1) == ('cancelled', [0, 1, 2])


def test_a_barrier_passed_is_kept_when_the_cancel_comes_right_after():
    barrier = sync.Barrier(2)
    scopes, indices = [], []

    def party():
        indices.append((yield barrier.wait()))
        yield tonio.sleep(0)
        indices.append('not reached')

    def main():
        handle = tonio.spawn(cancellable(scopes, party()))
        yield from until(lambda: barrier.value() == 1)
        mine = yield barrier.wait()
        scopes[0].cancel()
        return mine, (yield handle)

    assert run_bounded(main(), threads=1) == (1, 'cancelled')
    assert indices == [0]


# Channels


def test_a_bounded_channel_is_fifo_and_send_waits_while_full():
    sender, receiver = channel.channel(2)
    sent = []

    def producer():
        for message in range(5):
            yield sender.send(message)
            sent.append(message)

    def main():
        handle = tonio.spawn(producer())
        yield from until(lambda: sender.statistics().tasks_waiting_send == 1)
        stats = receiver.statistics()
        assert (stats.current_buffer_used, stats.max_buffer_size) == (2, 2)
        assert sent == [0, 1]
        got = []
        for _ in range(5):
            got.append((yield receiver.receive()))
        yield handle
        return got

    assert run_bounded(main(), threads=1) == [0, 1, 2, 3, 4]


def test_closing_lets_receivers_drain_then_raises():
    sender, receiver = channel.channel(4)

    def main():
        for message in 'abc':
            yield sender.send(message)
        assert sender.close() is True
        assert sender.close() is False
        assert sender.closed and receiver.closed
        with pytest.raises(ChannelClosedError, match='send on a closed channel'):
            yield sender.send('d')
        got = []
        for _ in range(3):
            got.append((yield receiver.receive()))
        with pytest.raises(ChannelClosedError, match='every buffered message'):
            yield receiver.receive()
        # TonIO code catches BrokenPipeError.
        try:
            yield receiver.receive()
        except BrokenPipeError:
            got.append('closed')
        return got

    assert run_bounded(main(), threads=1) == ['a', 'b', 'c', 'closed']


def test_close_wakes_waiting_receivers_and_senders():
    sender, receiver = channel.channel(1)
    other_sender, other_receiver = channel.channel(0)

    def receive():
        try:
            yield receiver.receive()
        except ChannelClosedError:
            return 'receiver saw close'

    def send():
        try:
            yield other_sender.send('lost')
        except ChannelClosedError:
            return 'sender saw close'

    def main():
        receiving = tonio.spawn(receive(), receive())
        sending = tonio.spawn(send())
        yield from until(lambda: receiver.statistics().tasks_waiting_receive == 2)
        yield from until(lambda: other_sender.statistics().tasks_waiting_send == 1)
        sender.close()
        other_receiver.close()
        return (yield receiving), (yield sending)

    assert run_bounded(main(), threads=1) == (['receiver saw close'] * 2, 'sender saw close')


def test_non_blocking_channel_operations_and_sentinels():
    sender, receiver = channel.channel(1)
    assert receiver.receive_nowait() is receiver.Empty
    with pytest.raises(WouldBlock):
        receiver.try_receive()
    assert sender.send_nowait(1) is None
    assert sender.send_nowait(2) is sender.Full
    with pytest.raises(WouldBlock):
        sender.try_send(2)
    assert receiver.try_receive() == 1
    sender.try_send(3)
    sender.close()
    assert sender.send_nowait(4) is sender.Closed
    with pytest.raises(ChannelClosedError):
        sender.try_send(4)
    assert receiver.receive_nowait() == 3
    assert receiver.receive_nowait() is receiver.Closed
    with pytest.raises(ChannelClosedError):
        receiver.try_receive()
    assert sender.Closed is receiver.Closed is tonio._tonio.ChannelClosed
    assert channel.ChannelSender is type(sender)


def test_an_unbounded_channel_never_waits_to_send(threads):
    sender, receiver = channel.unbounded()
    got = []

    def producer(base):
        for index in range(500):
            sender.send(base + index)
        yield

    def consumer():
        while (message := (yield receiver.next())) is not receiver.Closed:
            got.append(message)

    def main():
        consumers = tonio.spawn(consumer(), consumer(), consumer())
        yield tonio.spawn(*(producer(base) for base in range(0, 4000, 1000)))
        sender.close()
        yield consumers

    run_bounded(main(), threads=threads)
    assert sorted(got) == sorted(
        base + index for base in range(0, 4000, 1000) for index in range(500)
    )
    assert sender.send_nowait(1) is sender.Closed
    assert sender.statistics().max_buffer_size is None


def test_many_producers_and_consumers_keep_each_producer_s_order(threads):
    sender, receiver = channel.channel(3)
    per_consumer = [[] for _ in range(4)]

    def producer(name):
        for index in range(200):
            yield sender.send((name, index))

    def consumer(seen):
        while (message := (yield receiver.next())) is not receiver.Closed:
            seen.append(message)

    def main():
        consumers = tonio.spawn(*(consumer(seen) for seen in per_consumer))
        yield tonio.spawn(*(producer(name) for name in range(4)))
        sender.close()
        yield consumers

    run_bounded(main(), threads=threads)
    everything = [message for seen in per_consumer for message in seen]
    assert sorted(everything) == [(name, index) for name in range(4) for index in range(200)]
    for seen in per_consumer:
        for name in range(4):
            indices = [index for who, index in seen if who == name]
            assert indices == sorted(indices)


def test_a_zero_capacity_channel_is_a_rendezvous():
    sender, receiver = channel.channel(0)
    events = []

    def producer():
        yield sender.send('hello')
        events.append('sent')

    def main():
        handle = tonio.spawn(producer())
        yield from until(lambda: sender.statistics().tasks_waiting_send == 1)
        assert events == []
        assert sender.send_nowait('x') is sender.Full
        events.append((yield receiver.receive()))
        yield handle

    run_bounded(main(), threads=1)
    assert events == ['hello', 'sent']


def test_a_receiver_cancelled_before_the_send_leaves_the_message_to_the_next():
    sender, receiver = channel.channel(1)
    scopes = []

    def receive():
        return (yield receiver.receive())

    def main():
        cancelled = tonio.spawn(cancellable(scopes, receiver.receive()))
        yield from until(lambda: receiver.statistics().tasks_waiting_receive == 1)
        other = tonio.spawn(receive())
        yield from until(lambda: receiver.statistics().tasks_waiting_receive == 2)
        scopes[0].cancel()
        yield sender.send('message')
        return (yield cancelled), (yield other)

    assert run_bounded(main(), threads=1) == ('cancelled', 'message')


def test_a_message_handed_over_is_kept_when_the_cancel_comes_right_after():
    sender, receiver = channel.channel(1)
    scopes, got = [], []

    def consumer():
        got.append((yield receiver.receive()))
        yield tonio.sleep(0)
        got.append('not reached')

    def main():
        handle = tonio.spawn(cancellable(scopes, consumer()))
        yield from until(lambda: receiver.statistics().tasks_waiting_receive == 1)
        yield sender.send('message')
        scopes[0].cancel()
        return (yield handle)

    assert run_bounded(main(), threads=1) == 'cancelled'
    assert got == ['message']
    assert receiver.receive_nowait() is receiver.Empty


def test_a_sender_cancelled_while_waiting_did_not_send():
    sender, receiver = channel.channel(1)
    scopes = []

    def main():
        yield sender.send('first')
        handle = tonio.spawn(cancellable(scopes, sender.send('second')))
        yield from until(lambda: sender.statistics().tasks_waiting_send == 1)
        scopes[0].cancel()
        outcome = yield handle
        return outcome, receiver.receive_nowait(), receiver.receive_nowait()

    outcome, first, then = run_bounded(main(), threads=1)
    assert (outcome, first) == ('cancelled', 'first')
    assert then is receiver.Empty


def test_a_cancelled_send_drops_its_message_and_leaves_the_task_clean():
    # The message of a parked send travels in its queue entry: a cancel drops it (not sent) at
    # once, and the task's next receive gets only what is handed to it.
    sender, receiver = channel.channel(1)
    rendezvous_sender, rendezvous_receiver = channel.channel(0)
    scopes, refs = [], []

    class Message:
        pass

    def producer():
        message = Message()
        refs.append(weakref.ref(message))
        waiter = sender.send(message)
        del message
        with tonio.scope() as scope:
            scopes.append(scope)
            yield waiter
        del waiter
        return (yield rendezvous_receiver.receive())

    def main():
        yield sender.send('first')
        handle = tonio.spawn(producer())
        yield from until(lambda: sender.statistics().tasks_waiting_send == 1)
        scopes[0].cancel()
        yield from until(lambda: rendezvous_receiver.statistics().tasks_waiting_receive == 1)
        dropped = refs[0]() is None
        yield rendezvous_sender.send('fresh')
        return dropped, (yield handle), receiver.receive_nowait(), receiver.receive_nowait()

    dropped, received, first, then = run_bounded(main(), threads=1)
    assert dropped, 'the cancelled send kept its message alive'
    assert (received, first) == ('fresh', 'first')
    assert then is receiver.Empty


def test_a_waiting_sender_whose_message_was_taken_is_not_cancelled_after_all():
    sender, receiver = channel.channel(1)
    scopes, events = [], []

    def producer():
        yield sender.send('second')
        events.append('sent')
        yield tonio.sleep(0)
        events.append('not reached')

    def main():
        yield sender.send('first')
        handle = tonio.spawn(cancellable(scopes, producer()))
        yield from until(lambda: sender.statistics().tasks_waiting_send == 1)
        first = receiver.try_receive()
        scopes[0].cancel()
        outcome = yield handle
        return first, outcome, receiver.try_receive()

    assert run_bounded(main(), threads=1) == ('first', 'cancelled', 'second')
    assert events == ['sent']


def test_a_next_loop_ends_once_the_channel_is_closed_and_drained():
    sender, receiver = channel.channel(2)

    def main():
        yield sender.send(1)
        yield sender.send(2)
        sender.close()
        got = []
        while (message := (yield receiver.next())) is not receiver.Closed:
            got.append(message)
        return got

    assert run_bounded(main(), threads=1) == [1, 2]


def test_dropping_a_side_closes_the_channel():
    sender, receiver = channel.channel(1)
    sender.send_nowait('kept')
    del sender
    gc.collect()
    assert receiver.receive_nowait() == 'kept'
    assert receiver.receive_nowait() is receiver.Closed

    sender, receiver = channel.unbounded()
    del receiver
    gc.collect()
    with pytest.raises(ChannelClosedError):
        sender.send('nobody listens')


def test_channel_bad_arguments():
    with pytest.raises(ValueError, match='>= 0'):
        channel.channel(-1)
    with pytest.raises(TypeError, match='int'):
        channel.channel('4')
