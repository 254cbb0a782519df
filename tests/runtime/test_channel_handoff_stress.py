"""Channel hand-offs racing cancels and `close`, in both syntaxes, under real parallelism.

A message in transit lives in the sending task's Waiter, then its hand-off slot, then the queue
entry of its parked send; a message handed to a parked receiver lives in the receiving task's
slot until it resumes. These tests check, while random scopes are cancelled and the channel is
closed with sends parked, that every send that returned delivered its message exactly once, that
a send that raised (cancelled, or the channel closed) delivered nothing, and that every message
object is freed once the run is over (none kept in a slot or an entry, none freed twice). The
`await` form is stepped by the Waiter's `am_send` slot on 3.11; the generator form is not.
"""

import gc
import random
import threading
import weakref

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
from tonio.exceptions import ChannelClosedError
from tonio.sync import channel

SCALE = 1 if FREE_THREADED else 8
REPEAT = 3
PRODUCERS = CONSUMERS = 6
PER_PRODUCER = 3_000 // SCALE


class Message:
    """A message that can be tracked by a weak reference."""

    __slots__ = ('__weakref__', 'key')

    def __init__(self, key):
        self.key = key


class Book:
    """What each send ended with and what each receive got (under a threading.Lock)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.sent = set()
        self.refused = set()
        self.received = []
        self.refs = []
        self.cancels = 0

    def made(self, message):
        with self.lock:
            self.refs.append(weakref.ref(message))


def make_tasks(book, sender, receiver, slots, stop, seed):
    """The producer, consumer, canceller and closer, in generator syntax."""

    def producer(name):
        for sequence in range(PER_PRODUCER):
            message = Message((name, sequence))
            book.made(message)
            waiter = sender.send(message)
            del message
            outcome = 'cancelled'
            try:
                with tonio.scope() as scope:
                    slots[name] = scope
                    try:
                        yield waiter
                        outcome = 'sent'
                    except ChannelClosedError:
                        outcome = 'closed'
            finally:
                slots[name] = None
            key = (name, sequence)
            with book.lock:
                (book.sent if outcome == 'sent' else book.refused).add(key)
            if outcome == 'closed':
                return

    def consumer(index):
        while True:
            with tonio.scope() as scope:
                slots[PRODUCERS + index] = scope
                message = yield receiver.next()
                if message is receiver.Closed:
                    return
                with book.lock:
                    book.received.append(message.key)
                del message
            slots[PRODUCERS + index] = None

    def canceller():
        rng = random.Random(seed)
        while not stop[0]:
            scope = slots[rng.randrange(len(slots))]
            if scope is not None and scope.cancel():
                book.cancels += 1
            for _ in range(rng.randrange(3)):
                yield

    return producer, consumer, canceller


def make_async_tasks(book, sender, receiver, slots, stop, seed):
    """The same tasks with `async def` and `await`."""

    async def producer(name):
        for sequence in range(PER_PRODUCER):
            message = Message((name, sequence))
            book.made(message)
            waiter = sender.send(message)
            del message
            outcome = 'cancelled'
            try:
                async with tonio.scope() as scope:
                    slots[name] = scope
                    try:
                        await waiter
                        outcome = 'sent'
                    except ChannelClosedError:
                        outcome = 'closed'
            finally:
                slots[name] = None
            key = (name, sequence)
            with book.lock:
                (book.sent if outcome == 'sent' else book.refused).add(key)
            if outcome == 'closed':
                return

    async def consumer(index):
        while True:
            async with tonio.scope() as scope:
                slots[PRODUCERS + index] = scope
                message = await receiver.next()
                if message is receiver.Closed:
                    return
                with book.lock:
                    book.received.append(message.key)
                del message
            slots[PRODUCERS + index] = None

    async def canceller():
        rng = random.Random(seed)
        while not stop[0]:
            scope = slots[rng.randrange(len(slots))]
            if scope is not None and scope.cancel():
                book.cancels += 1
            for _ in range(rng.randrange(3)):
                await tonio.yield_now()

    return producer, consumer, canceller


def check(book):
    received = sorted(book.received)
    assert len(received) == len(set(received)), 'a message was delivered twice'
    lost = book.sent - set(received)
    assert not lost, f'{len(lost)} sent messages were never received, e.g. {sorted(lost)[:3]}'
    ghosts = set(received) & book.refused
    assert not ghosts, (
        f'{len(ghosts)} messages whose send raised were received: {sorted(ghosts)[:3]}'
    )
    assert set(received) == book.sent
    gc.collect()
    alive = [ref() for ref in book.refs if ref() is not None]
    assert not alive, f'{len(alive)} messages are still alive after the run, e.g. {alive[0].key}'


@pytest.mark.parametrize('syntax', ['yield', 'await'])
@pytest.mark.parametrize('size', [0, 2], ids=['rendezvous', 'bounded2'])
@pytest.mark.parametrize('round_', range(REPEAT))
def test_close_and_cancels_racing_hand_offs_lose_and_keep_nothing(syntax, size, round_):
    book = Book()
    sender, receiver = channel.channel(size)
    slots = [None] * (PRODUCERS + CONSUMERS)
    stop = [False]
    factory = make_tasks if syntax == 'yield' else make_async_tasks
    producer, consumer, canceller = factory(book, sender, receiver, slots, stop, round_)
    rng = random.Random(round_)
    close_after = rng.randrange(PRODUCERS * PER_PRODUCER // 4, PRODUCERS * PER_PRODUCER // 2)

    def closer():
        # Close while sends are parked and hand-offs are in flight.
        while len(book.received) < close_after:
            yield tonio.sleep(0.0005)
        sender.close()

    def main():
        cancelling = tonio.spawn(canceller())
        consuming = tonio.spawn(*(consumer(index) for index in range(CONSUMERS)))
        closing = tonio.spawn(closer())
        yield tonio.spawn(*(producer(name) for name in range(PRODUCERS)))
        yield closing
        stop[0] = True
        yield cancelling
        yield consuming

    run_bounded(main(), timeout=120, threads=4)
    assert book.refused, 'nothing was refused: the close or the cancels never raced a send'
    check(book)


@pytest.mark.parametrize('syntax', ['yield', 'await'])
@pytest.mark.parametrize('round_', range(REPEAT))
def test_cancels_racing_hand_offs_on_an_open_channel(syntax, round_):
    book = Book()
    sender, receiver = channel.channel(0)
    slots = [None] * (PRODUCERS + CONSUMERS)
    stop = [False]
    factory = make_tasks if syntax == 'yield' else make_async_tasks
    producer, consumer, canceller = factory(book, sender, receiver, slots, stop, round_)

    def main():
        cancelling = tonio.spawn(canceller())
        consuming = tonio.spawn(*(consumer(index) for index in range(CONSUMERS)))
        yield tonio.spawn(*(producer(name) for name in range(PRODUCERS)))
        stop[0] = True
        yield cancelling
        sender.close()
        yield consuming

    run_bounded(main(), timeout=120, threads=4)
    assert book.cancels > 0
    check(book)
