"""The Waiter's protocol in generator syntax: `yield waiter` and `yield from waiter` resume with
exactly the value handed over (the `am_send` slot on 3.11, the `send`/`__next__` methods on
3.12+)."""

import pytest

import tonio
from tonio.sync import channel

pytestmark = pytest.mark.tonio

ODD_VALUES = [(1, 2), (), ValueError('a value, not an error'), StopIteration(7), None, [None]]


def test_a_yield_resumes_with_exactly_the_value_handed_over():
    sender, receiver = channel.unbounded()
    for value in ODD_VALUES:
        sender.send(value)
    received = []
    for _ in ODD_VALUES:
        received.append((yield receiver.receive()))
    assert all(got is sent for got, sent in zip(received, ODD_VALUES, strict=True))


def test_a_value_passes_through_yield_from():
    sender, receiver = channel.unbounded()
    event = tonio.Event()
    event.set()
    assert (yield from event.wait()) is True
    for value in ODD_VALUES:
        sender.send(value)
        assert (yield from receiver.receive()) is value


def test_a_waiter_spawned_as_a_task_resumes_with_its_value():
    sender, receiver = channel.unbounded()
    sender.send((3, 4))
    event = tonio.Event()
    event.set()
    assert (yield tonio.spawn(receiver.receive(), event.wait())) == [(3, 4), True]


def test_a_second_yield_from_of_a_resumed_waiter_raises():
    sender, receiver = channel.unbounded()
    sender.send('m')
    waiter = receiver.receive()
    assert (yield from waiter) == 'm'
    with pytest.raises(RuntimeError, match='already awaited'):
        yield from waiter


def test_stepping_yield_from_by_hand_follows_the_state_machine():
    def wait_for(waiter):
        return (yield from waiter)

    event = tonio.Event()
    waiter = event.wait()
    generator = wait_for(waiter)
    assert generator.send(None) is waiter
    with pytest.raises(TypeError, match="can't send a non-None value"):
        generator.send(5)
    again = wait_for(event.wait())
    assert again.send(None) is not None
    with pytest.raises(TypeError, match='not by iterating it'):
        again.send(None)


def test_a_throw_into_an_offered_waiter_ends_it():
    def wait_for(waiter):
        return (yield from waiter)

    waiter = tonio.Event().wait()
    generator = wait_for(waiter)
    generator.send(None)
    with pytest.raises(KeyError):
        generator.throw(KeyError('thrown'))

    def main():
        yield from waiter

    with pytest.raises(RuntimeError, match='already awaited'):
        tonio.run(main())
