"""A typed ``async def`` program: ``make lint`` checks it with ``mypy --strict`` (every
``assert_type`` must hold, so a regressed annotation fails), and
tests/runtime/test_typing_samples.py runs it."""

import subprocess
import tempfile
import threading
from typing import Any, assert_type

import tonio.colored as tonio
import tonio.colored.fs as fs
from tonio.colored import sync
from tonio.colored.sync import channel
from tonio.typing import RuntimeOptions


async def add(x: int) -> int:
    await tonio.sleep(0.001)
    return x + 1


async def name(x: int) -> str:
    await tonio.yield_now()
    return str(x)


def square(x: int) -> int:
    return x * x


@tonio.mark.blocking
def on_the_pool(x: int, *, times: int = 1) -> list[int]:
    return [x] * times


@tonio.mark.max_concurrency(2)
async def limited(x: int) -> str:
    await tonio.sleep(0)
    return f'limited {x}'


@tonio.mark.cpu_bound(2)
def crunch(x: int) -> float:
    return x / 2


async def waits() -> None:
    event = tonio.Event()
    event.set()
    assert_type(event.wait(), tonio.Waiter[bool])
    assert_type(await event.wait(), bool)
    assert_type(await tonio.Event().wait(0.001), bool)
    assert_type(await tonio.sleep(0), None)
    assert_type(await tonio.yield_now(), None)
    assert_type(await (event.wait() | tonio.Event().wait()), int | None)
    assert_type(await tonio.Waiter.any(event, timeout=0), int | None)
    assert_type(await (event.wait() & event.wait()), bool)
    assert_type(await tonio.Waiter.all(event, timeout=0), bool)
    assert_type(await tonio.Waiter(event), bool)
    assert_type(await tonio.time.interval(0.001).tick(), None)
    assert_type(tonio.time.time(), float)


async def spawns() -> None:
    handle = tonio.spawn(add(1))
    assert_type(handle, tonio.Spawned[int])
    assert_type(await handle, int)
    assert_type(await tonio.spawn(add(1), add(2)), list[int])
    assert_type(await tonio.spawn(add(1), name(2)), list[int | str])
    assert_type(await tonio.spawn(*[add(i) for i in range(3)]), list[int])
    assert_type(await tonio.spawn.without_results(add(1), name(2)), None)
    assert_type(tonio.spawn.without_tracking(add(1)), None)
    assert_type(await tonio.spawn_blocking(square, 3), int)
    assert_type(await tonio.map_blocking(square, [1, 2]), list[int])


async def scopes_and_combinators() -> None:
    async with tonio.scope(timeout=1) as scope:
        assert_type(scope, tonio.Scope)
        assert_type(scope.spawn(add(1)), bool)
    assert_type(scope.timed_out, bool)
    with tonio.move_on_after(0.001) as deadline:
        await tonio.sleep(1)
    assert deadline.timed_out
    assert_type(await tonio.select(add(1), add(5)), int)
    assert_type(await tonio.select(add(1), tonio.sleep(1)), int | None)
    assert_type(await tonio.time.timeout(add(1), 1), tuple[int | None, bool])
    assert_type(await tonio.map(add, [1, 2]), list[int])
    async for value in tonio.as_completed(add(1), add(2)):
        assert_type(value, int)


async def marks() -> None:
    assert_type(await on_the_pool(1, times=2), list[int])
    assert_type(await limited(1), str)
    assert_type(await crunch(3), float)
    assert_type(await tonio.spawn(limited(1), limited(2)), list[str])


async def files_and_processes() -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = fs.Path(directory) / 'sample.txt'
        assert_type(path, fs.Path)
        assert_type(await path.write_text('one\ntwo\n'), int)
        async with await fs.open(path) as f:
            assert_type(f, fs.IOWrapper[str])
            assert_type([line async for line in f], list[str])
        binary = await path.open('rb')
        assert_type(await binary.read(), bytes)
        await binary.close()
        assert_type(await path.exists(), bool)
        assert_type(await fs.Path(directory).iterdir(), list[fs.Path])
    result = await tonio.run_process(['echo', 'hi'], capture_stdout=True)
    assert_type(result, subprocess.CompletedProcess[bytes])
    process = await tonio.open_process(['true'])
    assert_type(await process.wait(), int)


async def total(numbers: channel.ChannelReceiver[float]) -> float:
    return sum([number async for number in numbers])


async def sync_and_channels() -> None:
    lock, semaphore, condition = sync.Lock(), sync.Semaphore(2), sync.Condition()
    async with lock, semaphore:
        assert_type(lock.locked(), bool)
        assert_type(semaphore.tokens(), int)
    async with condition:
        assert_type(condition.notify(), int)
    guard = await lock.acquire()
    assert_type(guard.held, bool)
    guard.release()
    with lock.or_raise() as held:
        assert_type(held, None)
    rwlock = sync.RWLock()
    async with rwlock.reader:
        assert_type(rwlock.statistics().readers, int)
    assert_type(await sync.Barrier(1).wait(), int)

    pair: tuple[channel.ChannelSender[int], channel.ChannelReceiver[int]] = channel.channel(2)
    sender, receiver = pair
    await sender.send(1)
    assert sender.send_nowait(2) is None
    assert sender.send_nowait(3) is sender.Full
    assert_type(await receiver.receive(), int)
    assert_type(receiver.try_receive(), int)
    assert receiver.receive_nowait() is receiver.Empty
    await sender.send(4)
    sender.close()
    drained = [message async for message in receiver]
    assert_type(drained, list[int])
    assert drained == [4]
    assert receiver.receive_nowait() is receiver.Closed
    # Without an annotation the message type is Any.
    anything, _ = channel.unbounded()
    assert_type(anything, channel.UnboundedChannelSender[Any])
    texts: tuple[channel.UnboundedChannelSender[str], channel.UnboundedChannelReceiver[str]]
    texts = channel.unbounded()
    texts[0].send('one')
    assert_type(texts[1].try_receive(), str)
    # A receiver of ints serves where one of floats is expected (it only gives messages out).
    ints: tuple[channel.ChannelSender[int], channel.ChannelReceiver[int]] = channel.channel(1)
    await ints[0].send(2)
    ints[0].close()
    assert await total(ints[1]) == 2


async def main() -> tuple[str, int]:
    await waits()
    await spawns()
    await scopes_and_combinators()
    await marks()
    await files_and_processes()
    await sync_and_channels()
    return 'done', threading.active_count()


@tonio.main(threads=2)
async def entry(x: int) -> int:
    return await add(x)


def run() -> None:
    options: RuntimeOptions = {'threads': 2, 'virtual_clock': False}
    result = tonio.run(main(), **options)
    assert_type(result, tuple[str, int])
    assert result[0] == 'done'
    assert_type(entry(1), int)
    with tonio.runtime(context=True) as runtime:
        assert_type(runtime.run_until_complete(add(1)), int)


if __name__ == '__main__':
    run()
