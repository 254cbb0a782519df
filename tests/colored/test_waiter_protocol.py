"""The Waiter's await protocol: what `await waiter` evaluates to and raises, however the
interpreter steps it (the `am_send` slot on 3.11, the `send`/`__next__` methods on 3.12+)."""

import types

import pytest

import tonio.colored as tonio
from tonio.colored.sync import channel

pytestmark = pytest.mark.tonio

# Values a hand-off can carry that `StopIteration(value)` would treat specially if it were built
# from them the wrong way (a tuple spread into arguments, an exception, None).
ODD_VALUES = [(1, 2), (), ValueError('a value, not an error'), StopIteration(7), None, [None]]


async def test_an_await_resumes_with_exactly_the_value_handed_over():
    sender, receiver = channel.unbounded()
    for value in ODD_VALUES:
        sender.send(value)
    received = [await receiver.receive() for _ in ODD_VALUES]
    assert all(got is sent for got, sent in zip(received, ODD_VALUES, strict=True))


async def test_a_value_passes_through_yield_from_in_a_types_coroutine():
    sender, receiver = channel.unbounded()

    @types.coroutine
    def through(waiter):
        return (yield from waiter)

    event = tonio.Event()
    event.set()
    assert await through(event.wait()) is True
    for value in ODD_VALUES:
        sender.send(value)
        assert await through(receiver.receive()) is value


async def test_a_waiter_spawned_as_a_task_resumes_with_its_value():
    sender, receiver = channel.unbounded()
    sender.send((3, 4))
    event = tonio.Event()
    event.set()
    assert await tonio.spawn(receiver.receive(), event.wait()) == [(3, 4), True]


async def test_a_second_await_of_a_resumed_waiter_raises():
    sender, receiver = channel.unbounded()
    sender.send('m')
    waiter = receiver.receive()
    assert await waiter == 'm'
    with pytest.raises(RuntimeError, match='already awaited'):
        await waiter


def test_stepping_by_hand_follows_the_state_machine():
    async def wait_for(waiter):
        return await waiter

    event = tonio.Event()
    waiter = event.wait()
    coroutine = wait_for(waiter)
    # First step: the Waiter yields itself to whoever drives the coroutine.
    assert coroutine.send(None) is waiter
    # Nobody took it (no scheduler): a value cannot be sent, and a second bare step means the
    # Waiter is being iterated.
    with pytest.raises(TypeError, match="can't send a non-None value"):
        coroutine.send(5)
    again = wait_for(event.wait())
    assert again.send(None) is not None
    with pytest.raises(TypeError, match='not by iterating it'):
        again.send(None)


def test_a_throw_into_an_offered_waiter_ends_it():
    async def wait_for(waiter):
        return await waiter

    waiter = tonio.Event().wait()
    coroutine = wait_for(waiter)
    coroutine.send(None)
    with pytest.raises(KeyError):
        coroutine.throw(KeyError('thrown'))

    async def main():
        await waiter

    with pytest.raises(RuntimeError, match='already awaited'):
        tonio.run(main())
