"""A typed generator-syntax program: ``make lint`` checks it with ``mypy --strict``, and
tests/runtime/test_typing_samples.py runs it.

What the checker can know here (see ``tonio.typing``): the result of every generator annotated
``Coro[R]`` through ``spawn``/``run``/``main``/the combinators; that only things tonio waits on
are yielded; the exact value of a wait through ``yield from`` (which runs as ``yield`` does);
and, in a generator that only waits on one kind of thing, the value of a plain ``yield``. The
value of a plain ``yield`` in a general ``Coro`` is ``Any``.
"""

import subprocess
import tempfile
from collections.abc import Generator
from typing import Any, assert_type

import tonio
import tonio.fs as fs
from tonio import sync
from tonio.sync import channel
from tonio.typing import Coro


def add(x: int) -> Coro[int]:
    yield tonio.sleep(0.001)
    return x + 1


def name(x: int) -> Coro[str]:
    yield tonio.yield_now()
    return str(x)


def square(x: int) -> int:
    return x * x


@tonio.mark.max_concurrency(2)
def limited(x: int) -> Coro[str]:
    yield tonio.sleep(0)
    return f'limited {x}'


@tonio.mark.blocking
def on_the_pool(x: int) -> bytes:
    return bytes([x])


def only_events(event: tonio.Event) -> Generator[tonio.Waiter[bool], bool, str]:
    # Waiting on one kind of thing only: the send type tells what each yield gives.
    ok = yield event.wait(0)
    assert_type(ok, bool)
    return 'set' if ok else 'not set'


def waits() -> Coro[None]:
    event = tonio.Event()
    event.set()
    assert_type((yield from event.wait()), bool)
    assert_type((yield from tonio.sleep(0)), None)
    assert_type((yield from (event.wait() | tonio.Event().wait())), int | None)
    assert_type((yield from tonio.Waiter.all(event, timeout=0)), bool)
    assert_type((yield from only_events(event)), str)
    # A plain yield runs the same, but its value is the generator's send type, Any here.
    anything = yield event.wait()
    assert_type(anything, Any)
    ok: bool = yield event.wait()  # an annotation the checker takes on trust
    assert ok


def spawns() -> Coro[None]:
    handle = tonio.spawn(add(1))
    assert_type(handle, tonio.Spawned[int])
    assert_type((yield from handle), int)
    assert_type((yield from tonio.spawn(add(1), name(2))), list[int | str])
    assert_type((yield from tonio.spawn_blocking(square, 3)), int)
    assert_type((yield from tonio.map_blocking(square, [1, 2])), list[int])
    # Sub-generators run inline, as `yield from` runs them in plain Python.
    assert_type((yield from add(2)), int)
    yield tonio.spawn.without_results(add(1))


def scopes_and_combinators() -> Coro[None]:
    with tonio.scope() as scope:
        assert_type(scope.spawn(add(1)), bool)
    assert_type(scope(), tonio.Waiter[None])
    yield scope()
    with tonio.move_on_after(0.001) as deadline:
        yield tonio.sleep(1)
    assert deadline.timed_out
    assert_type((yield from tonio.select(add(1), add(5))), int)
    assert_type((yield from tonio.time.timeout(add(1), 1)), tuple[int | None, bool])
    assert_type((yield from tonio.map(add, [1, 2])), list[int])
    for waiter in tonio.as_completed(add(1), add(2)):
        assert_type((yield from waiter), int)


def marks() -> Coro[None]:
    assert_type((yield from limited(1)), str)
    assert_type((yield from on_the_pool(7)), bytes)
    assert_type((yield from tonio.spawn(limited(1), limited(2))), list[str])


def files_and_processes() -> Coro[None]:
    with tempfile.TemporaryDirectory() as directory:
        path = fs.Path(directory) / 'sample.txt'
        assert_type(path, fs.Path)
        assert_type((yield from path.write_text('one\ntwo\n')), int)
        f = yield from fs.open(path)
        assert_type(f, fs.IOWrapper[str])
        try:
            assert_type((yield from f.readline()), str)
            assert_type((yield from f.readlines()), list[str])
        finally:
            yield f.close()
        assert_type((yield from fs.Path(directory).iterdir()), list[fs.Path])
    result = yield from tonio.run_process(['echo', 'hi'], capture_stdout=True)
    assert_type(result, subprocess.CompletedProcess[bytes])
    process = yield from tonio.open_process(['true'])
    assert_type((yield from process.wait()), int)


def sync_and_channels() -> Coro[None]:
    lock, condition = sync.Lock(), sync.Condition()
    # `yield lock()` gives the Guard (Any to the checker); `yield from` types it.
    with (yield lock()):
        assert lock.locked()
    guard = yield from lock()
    assert_type(guard.held, bool)
    with guard as held:
        assert_type(held, None)
    with (yield from condition()):
        assert_type(condition.notify_all(), int)
    with (yield from sync.Semaphore(1).acquire()), (yield from sync.RWLock().writer()):
        pass
    assert_type((yield from sync.Barrier(1).wait()), int)

    pair: tuple[channel.ChannelSender[bytes], channel.ChannelReceiver[bytes]]
    pair = channel.channel(1)
    sender, receiver = pair
    assert_type((yield from sender.send(b'one')), None)
    sender.close()
    assert_type((yield from receiver.receive()), bytes)
    assert (yield from receiver.next()) is receiver.Closed
    tell, hear = channel.unbounded()
    tell.send(1)
    assert_type(hear, channel.UnboundedChannelReceiver[Any])


def main() -> Coro[str]:
    yield waits()
    yield spawns()
    yield scopes_and_combinators()
    yield marks()
    yield files_and_processes()
    yield sync_and_channels()
    return 'done'


@tonio.main
def entry(x: int) -> Coro[int]:
    return (yield from add(x))


def run() -> None:
    result = tonio.run(main(), threads=2)
    assert_type(result, str)
    assert result == 'done'
    assert_type(entry(1), int)
    assert entry(1) == 2


if __name__ == '__main__':
    run()
