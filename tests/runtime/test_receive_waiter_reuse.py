"""A receiver hands out its Waiters again once nobody holds them (GIL builds), and that must not
be observable: a Waiter someone still holds (a variable, a spawn, an awaiting coroutine) is never
reset under them, and tasks parked on a receive do not need theirs any more. Both syntaxes; the
ones taking ``threads`` run on four workers too.
"""

import sys
import sysconfig

import pytest
from tests.conftest import run_bounded

import tonio
from tonio.sync import channel

RECEIVE_FORMS = ['receive', 'next', '__anext__']

# The build, not whether the GIL is on: a free-threaded build never reuses (`wait/reusable.rs`).
FREE_THREADED_BUILD = bool(sysconfig.get_config_var('Py_GIL_DISABLED'))


@pytest.mark.skipif(FREE_THREADED_BUILD, reason='free-threaded builds make a new Waiter every time')
@pytest.mark.parametrize('form', RECEIVE_FORMS)
def test_a_receive_loop_reuses_one_waiter(form):
    sender, receiver = channel.unbounded()
    receive = getattr(receiver, form)
    seen = set()

    def main():
        for message in range(20):
            sender.send(message)
            assert (yield receive()) == message
            waiter, plain = receive(), object()
            # One more reference than a plain local's: the receiver's keeper.
            assert sys.getrefcount(waiter) == sys.getrefcount(plain) + 1
            seen.add(id(waiter))
            del waiter

    run_bounded(main())
    assert len(seen) == 1


@pytest.mark.skipif(FREE_THREADED_BUILD, reason='free-threaded builds make a new Waiter every time')
def test_an_await_loop_reuses_one_waiter():
    sender, receiver = channel.unbounded()
    seen = set()

    async def main():
        for message in range(20):
            sender.send(message)
            assert await receiver.receive() == message
            waiter, plain = receiver.receive(), object()
            assert sys.getrefcount(waiter) == sys.getrefcount(plain) + 1
            seen.add(id(waiter))
            del waiter
        sender.close()
        async for _ in receiver:
            pass

    run_bounded(main())
    assert len(seen) == 1


def test_a_waiter_left_in_any_state_is_reused_fresh():
    sender, receiver = channel.unbounded()
    event = tonio.Event()

    def main():
        # Iterated instead of waited on (left OFFERED), refused by a combined wait (left DONE),
        # cancelled while parked (the task was thrown a CancelledError): each time the next
        # receive still works.
        with pytest.raises(TypeError):
            list(receiver.next())
        with pytest.raises(TypeError):
            receiver.receive() | event.wait()
        with tonio.move_on_after(0.01) as deadline:
            yield receiver.next()
        assert deadline.cancelled_caught
        for message in ('a', 'b'):
            sender.send(message)
            assert (yield receiver.next()) == message

    run_bounded(main())


def test_a_task_parked_on_a_reused_waiter_is_not_disturbed_by_its_reuse():
    sender, receiver = channel.unbounded()
    scopes = []

    def cancellable():
        with tonio.scope() as scope:
            scopes.append(scope)
            yield receiver.next()
        return 'cancelled'

    def receive():
        return (yield receiver.next())

    def main():
        first = tonio.spawn(cancellable())
        while receiver.statistics().tasks_waiting_receive < 1:
            yield
        # The first task's Waiter is free again: the second task gets it, parks on it too.
        second = tonio.spawn(receive())
        while receiver.statistics().tasks_waiting_receive < 2:
            yield
        scopes[0].cancel()
        sender.send('message')
        return (yield first), (yield second)

    assert run_bounded(main(), threads=1) == ('cancelled', 'message')


def test_a_finalizer_receiving_while_a_message_is_dropped(threads):
    sender, receiver = channel.unbounded()
    _, other = channel.unbounded()

    class Message:
        def __del__(self):
            # Makes and drops receive Waiters of another channel, and of this one, from a
            # finalizer running in the middle of a receive loop.
            other.next()
            other.receive()
            receiver.__anext__()

    got = []

    def consumer():
        while (message := (yield receiver.next())) is not receiver.Closed:
            got.append(type(message))

    def main():
        consumers = tonio.spawn(consumer(), consumer())
        for _ in range(2_000):
            sender.send(Message())
        sender.close()
        yield consumers

    run_bounded(main(), threads=threads)
    assert got == [Message] * 2_000


@pytest.mark.parametrize('form', RECEIVE_FORMS)
def test_a_held_waiter_is_never_handed_out_again(form):
    sender, receiver = channel.unbounded()
    receive = getattr(receiver, form)

    def main():
        held = receive()
        sender.send('first')
        assert (yield held) == 'first'
        # `held` is still named here: a new call must give another Waiter, and the used one
        # keeps refusing a second wait.
        fresh = receive()
        assert fresh is not held
        with pytest.raises(RuntimeError, match='already'):
            yield held
        sender.send('second')
        assert (yield fresh) == 'second'

    run_bounded(main())


def test_a_waiter_made_and_dropped_unyielded_takes_nothing():
    sender, receiver = channel.unbounded()

    def main():
        for _ in range(3):
            receiver.receive()
            receiver.next()
        sender.send('kept')
        assert (yield receiver.receive()) == 'kept'
        assert receiver.statistics().current_buffer_used == 0

    run_bounded(main())


def test_waiters_spawned_together_are_distinct():
    sender, receiver = channel.unbounded()

    def main():
        spawned = tonio.spawn(receiver.receive(), receiver.next(), receiver.receive())
        for message in ('a', 'b', 'c'):
            sender.send(message)
        assert sorted((yield spawned)) == ['a', 'b', 'c']

    run_bounded(main())


def test_tasks_parked_on_a_receive_each_get_one_message(threads):
    sender, receiver = channel.unbounded()
    tasks = 64
    got = []

    def consumer():
        got.append((yield receiver.next()))

    def main():
        consumers = tonio.spawn(*(consumer() for _ in range(tasks)))
        while receiver.statistics().tasks_waiting_receive < tasks:
            yield
        for message in range(tasks):
            sender.send(message)
        yield consumers

    for _ in range(5):
        got.clear()
        run_bounded(main(), threads=threads)
        assert sorted(got) == list(range(tasks))


def test_tasks_parked_on_a_receive_each_get_one_message_colored(threads):
    sender, receiver = channel.unbounded()
    tasks = 64
    got = []

    async def consumer():
        got.append(await receiver.receive())

    async def main():
        consumers = tonio.spawn(*(consumer() for _ in range(tasks)))
        while receiver.statistics().tasks_waiting_receive < tasks:
            await tonio.yield_now()
        for message in range(tasks):
            sender.send(message)
        await consumers

    for _ in range(5):
        got.clear()
        run_bounded(main(), threads=threads)
        assert sorted(got) == list(range(tasks))


def test_a_held_waiter_is_never_handed_out_again_colored():
    sender, receiver = channel.unbounded()

    async def main():
        held = receiver.receive()
        sender.send('first')
        assert await held == 'first'
        fresh = receiver.receive()
        assert fresh is not held
        with pytest.raises(RuntimeError, match='already'):
            await held
        sender.send('second')
        assert await fresh == 'second'

    run_bounded(main())


def test_async_for_loops_across_workers_deliver_each_message_once(threads):
    sender, receiver = channel.unbounded()
    per_consumer = [[] for _ in range(6)]
    messages = 6_000

    async def consumer(seen):
        async for message in receiver:
            seen.append(message)

    async def producer(base):
        for index in range(messages // 3):
            sender.send(base + index)
            if index % 50 == 0:
                await tonio.yield_now()

    async def main():
        consumers = tonio.spawn(*(consumer(seen) for seen in per_consumer))
        await tonio.spawn(*(producer(base) for base in range(0, messages, messages // 3)))
        sender.close()
        await consumers

    run_bounded(main(), threads=threads)
    everything = sorted(message for seen in per_consumer for message in seen)
    assert everything == list(range(messages))
    for seen in per_consumer:
        for producer_base in range(0, messages, messages // 3):
            from_producer = [m for m in seen if producer_base <= m < producer_base + messages // 3]
            assert from_producer == sorted(from_producer)
