"""spawn_blocking, map_blocking and block_on in generator syntax."""

import threading
import time

import pytest
from tests.conftest import run_bounded

import tonio


def test_spawn_blocking_returns_the_value_with_args_and_kwargs():
    def add(a, b, *, c):
        return a + b + c

    def main():
        return (yield tonio.spawn_blocking(add, 1, 2, c=3))

    assert run_bounded(main()) == 6


def test_spawn_blocking_runs_off_the_worker_threads():
    def main():
        worker = threading.get_native_id()
        blocking = yield tonio.spawn_blocking(threading.get_native_id)
        return worker, blocking

    worker, blocking = run_bounded(main())
    assert len({worker, blocking, threading.get_native_id()}) == 3


def test_spawn_blocking_raises_the_function_exception():
    def main():
        yield tonio.spawn_blocking(int, 'not a number')

    with pytest.raises(ValueError, match='invalid literal'):
        run_bounded(main())


def test_spawn_blocking_rejects_what_is_not_callable():
    def main():
        with pytest.raises(TypeError, match='callable'):
            tonio.spawn_blocking(42)
        yield

    run_bounded(main())


def test_map_blocking_gives_results_in_order(threads):
    def slow_square(value):
        time.sleep(0.001 * (10 - value))
        return value * value

    def main():
        return (yield tonio.map_blocking(slow_square, range(10)))

    assert run_bounded(main(), threads=threads) == [value * value for value in range(10)]


def test_map_blocking_of_nothing_is_an_empty_list():
    def main():
        return (yield tonio.map_blocking(abs, []))

    assert run_bounded(main()) == []


def test_block_on_runs_a_coroutine_from_a_blocking_function(threads):
    def child(value):
        yield tonio.sleep(0.01)
        return value * 2

    def blocking(value):
        return tonio.block_on(child(value))

    def main():
        return (yield tonio.map_blocking(blocking, [1, 2, 3]))

    assert run_bounded(main(), threads=threads) == [2, 4, 6]


def test_block_on_raises_the_coroutine_exception():
    def child():
        yield
        raise KeyError('inside')

    def main():
        yield tonio.spawn_blocking(tonio.block_on, child())

    with pytest.raises(KeyError, match='inside'):
        run_bounded(main())


def test_block_on_inside_a_task_is_refused():
    def child():
        yield

    def main():
        coroutine = child()
        with pytest.raises(RuntimeError, match='worker'):
            tonio.block_on(coroutine)
        coroutine.close()
        yield

    run_bounded(main())


def test_block_on_outside_a_runtime_is_refused():
    def child():
        yield

    coroutine = child()
    with pytest.raises(RuntimeError, match='runtime'):
        tonio.block_on(coroutine)
    coroutine.close()


def test_a_cancelled_wait_drops_the_result_and_the_thread_takes_the_next_job(unraisable):
    release = threading.Event()
    log = []

    def slow():
        release.wait(10)
        log.append('slow finished')
        raise ValueError('dropped, nobody waits any more')

    def waiter():
        try:
            yield tonio.spawn_blocking.uninterruptible(slow)
        except tonio.CancelledError:
            log.append('waiter cancelled')
            raise

    def main():
        with tonio.scope() as s:
            s.spawn(waiter())
            yield tonio.sleep(0.01)
            s.cancel()
        yield s()
        release.set()
        value = yield tonio.spawn_blocking(lambda: 'next job')
        return value, tonio._tonio._runtime_stats()['blocking_threads']

    assert run_bounded(main(), blocking_threadpool_size=1) == ('next job', 1)
    assert log == ['waiter cancelled', 'slow finished']
    assert unraisable == []


def test_block_on_after_the_run_ended_fails_instead_of_hanging(unraisable):
    started = tonio.Event()

    def child():
        yield

    started = tonio.Event()

    def late():
        started.set()
        # Until the runtime is closing (its close waits for this thread).
        while not tonio._tonio._runtime_stats()['closing']:
            time.sleep(0.01)
        return tonio.block_on(child())

    def main():
        tonio.spawn_blocking(late)  # nobody waits for it
        # Once it runs: a job still queued when the runtime closes is dropped, never run.
        yield started.wait()

    run_bounded(main(), timeout=30)
    assert [type(report.exc_value) for report in unraisable] == [RuntimeError]
    assert 'closing' in str(unraisable[0].exc_value)


def test_a_huge_idle_ttl_is_a_value_error_not_a_crash():
    with pytest.raises(ValueError, match='blocking_threadpool_idle_ttl'):
        tonio.runtime(blocking_threadpool_idle_ttl=1e30)


def test_spawning_from_a_blocking_thread_after_the_runtime_closed_is_an_error(unraisable):
    def child():
        yield

    started = tonio.Event()

    def late():
        started.set()
        # Until the runtime has closed its registry (its close waits for this thread).
        while not tonio._tonio._runtime_stats()['closed']:
            time.sleep(0.01)
        tonio.spawn(child())

    def main():
        tonio.spawn_blocking(late)  # nobody waits for it
        yield started.wait()

    run_bounded(main(), timeout=30)
    assert [type(report.exc_value) for report in unraisable] == [RuntimeError]
    assert 'closed' in str(unraisable[0].exc_value)


def test_a_cancelled_wait_stops_the_function_and_the_thread_comes_out_clean():
    log = []

    def spin():
        try:
            while True:
                pass
        except tonio.CancelledError:
            log.append('stopped')
            raise

    def main():
        with tonio.move_on_after(0.05):
            yield tonio.spawn_blocking(spin)
        # Same single thread, next job: no exception left pending for it.
        value = yield tonio.spawn_blocking(lambda: sum(range(1000)))
        return value, tonio._tonio._runtime_stats()['blocking_threads']

    assert run_bounded(main(), blocking_threadpool_size=1) == (499500, 1)
    assert log == ['stopped']


def test_an_uninterruptible_call_runs_to_its_end():
    log = []

    def steady(started):
        started.set()
        for step in range(5):
            time.sleep(0.01)
            log.append(step)

    def main():
        # Given up once running (a call still queued when its waiter gives up never runs).
        started = tonio.Event()
        call = tonio.spawn_blocking.uninterruptible(steady, started)
        yield started.wait()
        with tonio.move_on_after(0.005) as deadline:
            yield call
        assert deadline.timed_out
        # The waiter went on at once; the call finishes on its thread.
        return (yield tonio.spawn_blocking(lambda: 'after'))

    assert run_bounded(main(), blocking_threadpool_size=1) == 'after'
    assert log == [0, 1, 2, 3, 4]


def test_a_queued_call_whose_waiter_gave_up_never_runs():
    ran = []
    release = threading.Event()

    def main():
        occupying = tonio.spawn_blocking.uninterruptible(release.wait, 10)
        with tonio.move_on_after(0.01):
            yield tonio.spawn_blocking(ran.append, 'queued')
        release.set()
        yield occupying
        return (yield tonio.spawn_blocking(lambda: 'next'))

    assert run_bounded(main(), blocking_threadpool_size=1) == 'next'
    assert ran == []


def test_blocking_calls_run_in_a_copy_of_the_task_context():
    import contextvars

    var = contextvars.ContextVar('var', default='unset')

    def reads_and_writes():
        seen = var.get()
        var.set('set by the blocking call')
        return seen

    def main():
        var.set('the task value')
        seen = yield tonio.spawn_blocking(reads_and_writes)
        mapped = yield tonio.map_blocking(lambda _: reads_and_writes(), range(3))
        return seen, mapped, var.get()

    assert run_bounded(main(), context=True) == (
        'the task value',
        ['the task value'] * 3,
        'the task value',
    )
