"""Mistakes the annotations must catch: ``make lint`` runs ``check_errors.py`` on this file,
which passes only if mypy reports exactly the error marked on each ``# E: code`` line (and
nothing else). If an annotation regresses to ``Any``, its error disappears and the check fails.
"""

import tonio
import tonio.colored
from tonio.colored import sync
from tonio.colored.sync.channel import ChannelReceiver, ChannelSender, channel
from tonio.typing import Coro


async def add(x: int) -> int:
    await tonio.colored.sleep(0)
    return x + 1


def child() -> Coro[int]:
    yield tonio.sleep(0)
    return 1


async def awaits() -> None:
    ok: str = await tonio.colored.Event().wait()  # E: assignment
    total: str = await tonio.colored.spawn(add(1))  # E: assignment
    both: tuple[int, int] = await tonio.colored.spawn(add(1), add(2))  # E: assignment
    # The expected type flows into the call: the arguments are what mypy finds wrong.
    first: str = await tonio.colored.select(add(1), add(2))  # E: arg-type
    slept: int = await tonio.colored.sleep(1)  # E: func-returns-value, assignment
    length: str = await tonio.colored.spawn_blocking(len, 'abc')  # E: arg-type
    await tonio.colored.sleep('1')  # E: arg-type
    await tonio.colored.spawn_blocking(len, 5)  # E: arg-type
    print(ok, total, both, first, slept, length)


def yields() -> Coro[None]:
    yield 5  # E: misc
    yield tonio.Event()  # E: misc
    value: str = yield from child()  # E: assignment
    ok: str = yield from tonio.Event().wait()  # E: assignment
    print(value, ok)


@tonio.mark.blocking
def on_the_pool(x: int) -> int:
    return x


def misuse() -> None:
    tonio.spawn(5)  # E: call-overload
    tonio.run(add)  # E: arg-type
    name: str = tonio.run(add(1))  # E: assignment
    tonio.run(add(1), thread=2)  # E: call-arg
    on_the_pool('x')  # E: arg-type
    tonio.mark.max_concurrency(2)(on_the_pool(1))  # E: arg-type
    print(name)


async def sync_and_channels() -> None:
    numbers: tuple[ChannelSender[int], ChannelReceiver[int]] = channel(4)
    sender, receiver = numbers
    await sender.send('one')  # E: arg-type
    text: str = await receiver.receive()  # E: assignment
    async for number in receiver:
        number.upper()  # E: attr-defined
    sync.Semaphore('3')  # E: arg-type
    sync.Condition(sync.Semaphore(1))  # E: arg-type
    index: str = await sync.Barrier(2).wait()  # E: assignment
    print(text, index)
