"""A typed ``async def`` program: ``make lint`` checks it with ``mypy --strict`` (every
``assert_type`` must hold, so a regressed annotation fails), and
tests/runtime/test_typing_samples.py runs it."""

import subprocess
import tempfile
import threading
from typing import assert_type

import tonio.colored as tonio
import tonio.colored.fs as fs
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


async def main() -> tuple[str, int]:
    await waits()
    await spawns()
    await scopes_and_combinators()
    await marks()
    await files_and_processes()
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
