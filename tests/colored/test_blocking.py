"""spawn_blocking, map_blocking and block_on in async syntax."""

import threading
import time

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio
from tonio._tonio import _runtime_stats


def test_spawn_blocking_returns_the_value_with_args_and_kwargs():
    def add(a, b, *, c):
        return a + b + c

    async def main():
        return await tonio.spawn_blocking(add, 1, 2, c=3)

    assert run_bounded(main()) == 6


def test_spawn_blocking_raises_the_function_exception():
    async def main():
        await tonio.spawn_blocking(int, 'not a number')

    with pytest.raises(ValueError, match='invalid literal'):
        run_bounded(main())


def test_map_blocking_gives_results_in_order(threads):
    def slow_square(value):
        time.sleep(0.001 * (10 - value))
        return value * value

    async def main():
        return await tonio.map_blocking(slow_square, range(10))

    assert run_bounded(main(), threads=threads) == [value * value for value in range(10)]


def test_block_on_runs_a_coroutine_from_a_blocking_function(threads):
    async def child(value):
        await tonio.sleep(0.01)
        return value * 2

    def blocking(value):
        return tonio.block_on(child(value))

    async def main():
        return await tonio.map_blocking(blocking, [1, 2, 3])

    assert run_bounded(main(), threads=threads) == [2, 4, 6]


def test_block_on_inside_a_task_is_refused():
    async def child():
        pass

    async def main():
        coroutine = child()
        with pytest.raises(RuntimeError, match='worker'):
            tonio.block_on(coroutine)
        coroutine.close()

    run_bounded(main())


def test_a_cancelled_wait_drops_the_result_and_the_thread_takes_the_next_job(unraisable):
    release = threading.Event()
    log = []

    def slow():
        release.wait(10)
        log.append('slow finished')
        return 'dropped'

    async def waiter():
        try:
            await tonio.spawn_blocking.uninterruptible(slow)
        except tonio.CancelledError:
            log.append('waiter cancelled')
            raise

    async def main():
        async with tonio.scope() as s:
            s.spawn(waiter())
            await tonio.sleep(0.01)
            s.cancel()
        release.set()
        value = await tonio.spawn_blocking(lambda: 'next job')
        return value, _runtime_stats()['blocking_threads']

    assert run_bounded(main(), blocking_threadpool_size=1) == ('next job', 1)
    assert log == ['waiter cancelled', 'slow finished']
    assert unraisable == []


def test_a_cancelled_wait_stops_the_function_and_the_thread_comes_out_clean():
    log = []

    def spin():
        try:
            while True:
                pass
        except tonio.CancelledError:
            log.append('stopped')
            raise

    async def main():
        with tonio.move_on_after(0.05):
            await tonio.spawn_blocking(spin)
        value = await tonio.spawn_blocking(lambda: sum(range(1000)))
        return value, _runtime_stats()['blocking_threads']

    assert run_bounded(main(), blocking_threadpool_size=1) == (499500, 1)
    assert log == ['stopped']


def test_an_uninterruptible_call_runs_to_its_end():
    log = []

    def steady(started):
        started.set()
        for step in range(5):
            time.sleep(0.01)
            log.append(step)

    async def main():
        # Given up once running (a call still queued when its waiter gives up never runs).
        started = tonio.Event()
        call = tonio.spawn_blocking.uninterruptible(steady, started)
        await started.wait()
        with tonio.move_on_after(0.005):
            await call
        return await tonio.spawn_blocking(lambda: 'after')

    assert run_bounded(main(), blocking_threadpool_size=1) == 'after'
    assert log == [0, 1, 2, 3, 4]


def test_blocking_calls_run_in_a_copy_of_the_task_context():
    import contextvars

    var = contextvars.ContextVar('var', default='unset')

    def reads_and_writes():
        seen = var.get()
        var.set('set by the blocking call')
        return seen

    async def main():
        var.set('the task value')
        seen = await tonio.spawn_blocking(reads_and_writes)
        return seen, var.get()

    assert run_bounded(main(), context=True) == ('the task value', 'the task value')
