"""An `await` of a channel receive with a message ready completes inside the awaiting coroutine,
without the trip through the scheduler, but only in a task with no cancellation due: otherwise
the scheduler decides, exactly as for a receive that has to wait. So a cancelled task never takes
a message it will not get to use, and waits in a handler of the cancellation still work.
"""

import sys

import pytest
from tests.conftest import run_bounded

import tonio
from tonio.exceptions import CancelledError
from tonio.sync import channel


async def receive(receiver):
    return await receiver.receive()


async def next_message(receiver):
    return await receiver.next()


async def first_of_async_for(receiver):
    async for message in receiver:
        return message


async def nested(receiver):
    return await receive(receiver)


AWAITS = [receive, next_message, first_of_async_for, nested]


@pytest.mark.parametrize('form', AWAITS, ids=lambda form: form.__name__)
def test_a_ready_message_is_received(form):
    sender, receiver = channel.unbounded()

    async def main():
        sender.send('ready')
        return await form(receiver)

    assert run_bounded(main()) == 'ready'


@pytest.mark.parametrize('form', AWAITS, ids=lambda form: form.__name__)
def test_a_cancelled_scope_takes_no_ready_message(form):
    sender, receiver = channel.unbounded()
    sender.send('kept')

    async def main():
        async with tonio.scope() as scope:
            scope.cancel()
            await form(receiver)
            return 'not reached'
        return receiver.receive_nowait()

    assert run_bounded(main()) == 'kept'


@pytest.mark.parametrize('form', AWAITS, ids=lambda form: form.__name__)
def test_a_cancel_right_after_a_handoff_stops_the_next_ready_receive(form):
    # The consumer is handed 'first' and cancelled before it runs: it resumes with 'first'
    # (hand-off beats cancel), and its next receive, with 'second' ready, raises instead.
    sender, receiver = channel.unbounded()
    scopes, got = [], []

    async def consumer():
        async with tonio.scope() as scope:
            scopes.append(scope)
            got.append(await receiver.receive())
            got.append(await form(receiver))
        return 'cancelled'

    async def main():
        handle = tonio.spawn(consumer())
        while receiver.statistics().tasks_waiting_receive < 1:
            await tonio.yield_now()
        sender.send('first')
        sender.send('second')
        scopes[0].cancel()
        return await handle

    assert run_bounded(main(), threads=1) == 'cancelled'
    assert got == ['first']
    assert receiver.receive_nowait() == 'second'


def test_a_handler_of_the_cancellation_can_still_receive():
    sender, receiver = channel.unbounded()

    async def main():
        async with tonio.scope() as scope:
            scope.cancel()
            try:
                await tonio.yield_now()
            except CancelledError:
                sender.send('cleanup')
                assert await receiver.receive() == 'cleanup'
                raise
        return 'cancelled'

    assert run_bounded(main()) == 'cancelled'


def test_outside_a_task_an_await_still_yields_its_waiter():
    sender, receiver = channel.unbounded()
    sender.send('ready')
    coroutine = receive(receiver)
    waiter = coroutine.send(None)
    assert type(waiter).__name__ == 'Waiter'
    coroutine.close()
    assert receiver.receive_nowait() == 'ready'


def test_a_coroutine_stepped_by_hand_in_a_task():
    # Where `await` steps the Waiter through its `am_send` slot (3.11), the await completes in
    # the coroutine's first step; from 3.12 on `await` calls `__next__`, which completes only an
    # `__anext__` Waiter (made for `async for` to await), and otherwise hands back the Waiter.
    # Either way no message is lost.
    sender, receiver = channel.unbounded()

    async def main():
        sender.send('by async for')
        sender.send('by receive')
        coroutine = first_of_async_for(receiver)
        with pytest.raises(StopIteration) as stop:
            coroutine.send(None)
        got = [stop.value.value]
        coroutine = receive(receiver)
        if sys.version_info < (3, 12):
            with pytest.raises(StopIteration) as stop:
                coroutine.send(None)
            got.append(stop.value.value)
        else:
            waiter = coroutine.send(None)
            assert type(waiter).__name__ == 'Waiter'
            coroutine.close()
            got.append(receiver.receive_nowait())
        return got

    assert run_bounded(main()) == ['by async for', 'by receive']


def test_stepping_an_anext_waiter_by_hand_ends_with_the_message():
    sender, receiver = channel.unbounded()

    async def main():
        got = []
        for step in (next, lambda waiter: waiter.__next__()):
            sender.send(len(got))
            with pytest.raises(StopIteration) as stop:
                step(receiver.__anext__())
            got.append(stop.value.value)
        return got

    assert run_bounded(main()) == [0, 1]


def test_iterating_a_receive_waiter_never_takes_a_message():
    # `list()` and `next()` step a Waiter through `__next__`, not as an await: a mistake that
    # raises, leaving the message in the channel.
    sender, receiver = channel.unbounded()

    async def main():
        sender.send('kept')
        with pytest.raises(TypeError, match='iterat'):
            list(receiver.receive())
        waiter = receiver.next()
        assert next(waiter) is waiter
        return receiver.receive_nowait()

    assert run_bounded(main()) == 'kept'


def test_a_traced_await_receives_the_message():
    # With a trace function, 3.11's `await` steps the Waiter through `__next__`/`send` instead
    # of the slot (a debugger, coverage): the normal path, with the same result.
    sender, receiver = channel.unbounded()

    def tracer(frame, event, arg):
        return tracer

    async def main():
        for message in ('first', 'second', 'third'):
            sender.send(message)
        sys.settrace(tracer)
        try:
            got = [await receiver.receive(), await first_of_async_for(receiver)]
        finally:
            sys.settrace(None)
        return got, receiver.receive_nowait()

    assert run_bounded(main()) == (['first', 'second'], 'third')


def test_yield_from_and_a_spawned_waiter_receive_a_ready_message():
    sender, receiver = channel.unbounded()

    def generator_main():
        sender.send('by yield from')
        got = yield from receiver.receive()
        sender.send('spawned')
        spawned = yield tonio.spawn(receiver.receive())
        return got, spawned

    assert run_bounded(generator_main()) == ('by yield from', 'spawned')


def test_a_receive_that_must_wait_still_parks_and_wakes():
    # The await's first step asked the channel and found it empty: the task parks without the
    # scheduler asking again, and a message sent after that still wakes it (ping-pong).
    ping, ping_receiver = channel.unbounded()
    pong, pong_receiver = channel.unbounded()

    async def echo():
        async for message in ping_receiver:
            pong.send(message)

    async def main():
        echoing = tonio.spawn(echo())
        got = []
        for message in range(200):
            ping.send(message)
            got.append(await pong_receiver.receive())
        ping.close()
        await echoing
        return got

    assert run_bounded(main(), threads=1) == list(range(200))


def test_a_closed_drained_channel_ends_async_for_and_raises_for_receive():
    sender, receiver = channel.unbounded()

    async def main():
        sender.send(1)
        sender.close()
        got = [message async for message in receiver]
        assert await receiver.next() is receiver.Closed
        with pytest.raises(tonio.exceptions.ChannelClosedError):
            await receiver.receive()
        return got

    assert run_bounded(main()) == [1]


def test_cancel_from_another_worker_stops_a_consumer_that_never_waits():
    # The consumer always finds a message ready, so it never suspends: the cancel (pending on
    # the running task, its scope cancelled), made by a task on another worker while it runs,
    # must still stop it at a receive, and nothing is lost: what it did not receive is still in
    # the channel.
    sender, receiver = channel.unbounded()
    scopes, got = [], []
    total = 200_000
    for message in range(total):
        sender.send(message)

    async def consumer():
        async with tonio.scope() as scope:
            scopes.append(scope)
            async for message in receiver:
                got.append(message)
                if len(got) == 1_000:
                    started.set()
                # About a microsecond a message: draining everything takes a good fraction of
                # a second, plenty for the cancel to arrive while it runs (with a GIL, the
                # cancelling worker gets its turn within a switch interval).
                for _ in range(20):
                    pass
        return 'cancelled'

    started = tonio.Event()

    async def main():
        handle = tonio.spawn(consumer())
        await started.wait()
        scopes[0].cancel()
        return await handle

    assert run_bounded(main(), threads=4) == 'cancelled'
    rest = []
    while (message := receiver.receive_nowait()) is not receiver.Empty:
        rest.append(message)
    assert got + rest == list(range(total))
    assert rest, 'the consumer drained everything: the cancel was not delivered at a receive'


def test_the_anext_builtin_with_and_without_a_default():
    sender, receiver = channel.unbounded()

    async def main():
        sender.send('a')
        sender.send('b')
        got = [await anext(receiver, 'default'), await anext(receiver)]
        sender.close()
        got.append(await anext(receiver, 'default'))
        with pytest.raises(StopAsyncIteration):
            await anext(receiver)
        return got

    assert run_bounded(main()) == ['a', 'b', 'default']
