"""Timeouts, intervals and the virtual clock in generator syntax."""

import time as wall

import pytest
from tests.conftest import run_bounded

import tonio
from tonio import time


def value_after(value, seconds, log=None):
    try:
        yield tonio.sleep(seconds)
        return value
    finally:
        if log is not None:
            log.append('unwound')


def test_timeout_returns_the_result_and_true_in_time(threads):
    def main():
        return (yield time.timeout(value_after('v', 0.001), 5))

    assert run_bounded(main(), threads=threads) == ('v', True)


def test_timeout_cancels_the_coroutine_and_returns_none_false(threads):
    log = []

    def main():
        result = yield time.timeout(value_after('v', 3600, log), 0.01)
        return result, list(log)

    assert run_bounded(main(), threads=threads) == ((None, False), ['unwound'])


def test_timeout_raises_what_the_coroutine_raises():
    def broken():
        yield
        raise KeyError('inside')

    def main():
        yield time.timeout(broken(), 5)

    with pytest.raises(KeyError, match='inside'):
        run_bounded(main())


def test_timeout_rejects_bad_arguments():
    def main():
        with pytest.raises(TypeError, match='seconds'):
            yield time.timeout(value_after(1, 0), 'soon')
        with pytest.raises(TypeError, match='timeout\\(\\) argument 1'):
            yield time.timeout(42, 1)

    run_bounded(main())


def test_interval_ticks_without_drift_on_the_virtual_clock():
    def main():
        interval = time.interval(1.0)
        start = time.time()
        ticks = []
        for _ in range(5):
            yield interval.tick()
            ticks.append(time.time() - start)
            # Work that takes part of the period must not push the next tick back.
            yield tonio.sleep(0.3)
        return ticks

    ticks = run_bounded(main(), virtual_clock=True)
    assert ticks == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0], abs=1e-6)


def test_interval_starts_at_the_given_time():
    def main():
        start = time.time()
        interval = time.interval(0.5, at=start + 10)
        yield interval.tick()
        first = time.time() - start
        yield interval.tick()
        return first, time.time() - start

    first, second = run_bounded(main(), virtual_clock=True)
    assert (first, second) == (pytest.approx(10.0, abs=1e-6), pytest.approx(10.5, abs=1e-6))


def test_a_late_interval_skips_missed_ticks_but_stays_on_its_grid():
    def main():
        interval = time.interval(1.0)
        start = time.time()
        yield interval.tick()
        yield tonio.sleep(3.5)
        yield interval.tick()
        late = time.time() - start
        yield interval.tick()
        return late, time.time() - start

    late, next_tick = run_bounded(main(), virtual_clock=True)
    assert late == pytest.approx(3.5, abs=1e-6)
    assert next_tick == pytest.approx(4.0, abs=1e-6)


def test_interval_on_the_real_clock_does_not_drift():
    def main():
        interval = time.interval(0.02)
        start = time.time()
        for _ in range(20):
            yield interval.tick()
            wall.sleep(0.018)
        return time.time() - start

    elapsed = run_bounded(main())
    # Nineteen periods after the first tick plus the last work (0.398 s); were the 18 ms of
    # work between ticks added to each period, it would take 0.76 s. The margin between the
    # two absorbs a loaded machine's lateness, which does not accumulate.
    assert 0.38 <= elapsed < 0.6


@pytest.mark.parametrize('period', [0, -1, float('inf')])
def test_interval_rejects_bad_periods(period):
    def main():
        with pytest.raises(ValueError, match='period'):
            time.interval(period)
        yield

    run_bounded(main())


def test_virtual_clock_sleeps_an_hour_at_once():
    def main():
        start = time.time()
        yield tonio.sleep(3600)
        return time.time() - start

    began = wall.perf_counter()
    assert run_bounded(main(), virtual_clock=True) == pytest.approx(3600, abs=1e-6)
    assert wall.perf_counter() - began < 5


def test_virtual_clock_wakes_sleepers_in_deadline_order(threads):
    def sleeper(seconds, order):
        yield tonio.sleep(seconds)
        order.append((seconds, round(time.time() - start[0], 6)))

    start = []

    def main():
        start.append(time.time())
        order = []
        yield tonio.spawn(*(sleeper(seconds, order) for seconds in (30, 10, 20)))
        return order

    assert run_bounded(main(), virtual_clock=True, threads=threads) == [
        (10, 10.0),
        (20, 20.0),
        (30, 30.0),
    ]


def test_virtual_clock_stands_still_while_tasks_can_run():
    def spinner(stop):
        while not stop.is_set():
            yield

    def main():
        stop = tonio.Event()
        start = time.time()
        tonio.spawn.without_tracking(spinner(stop))
        for _ in range(1000):
            yield
        elapsed = time.time() - start
        stop.set()
        return elapsed

    assert run_bounded(main(), virtual_clock=True) == 0


def test_virtual_clock_does_not_jump_while_a_blocking_call_runs():
    def main():
        start = time.time()
        tonio.spawn.without_tracking(value_after(None, 10))
        yield tonio.spawn_blocking(wall.sleep, 0.05)
        return time.time() - start

    assert run_bounded(main(), virtual_clock=True) == 0


def test_virtual_clock_fires_timeouts_and_deadlines():
    def main():
        start = time.time()
        result = yield time.timeout(value_after('late', 100), 5)
        with tonio.move_on_after(7):
            yield tonio.Event().wait()
        waited = yield tonio.Event().wait(3)
        return result, waited, time.time() - start

    assert run_bounded(main(), virtual_clock=True) == ((None, False), False, pytest.approx(15))


@pytest.mark.parametrize('awaited', [True, False])
def test_virtual_clock_goes_on_after_blocking_calls_finish(awaited):
    def main():
        start = time.time()
        for _ in range(50):
            handle = tonio.spawn_blocking(wall.sleep, 0.001)
            if awaited:
                yield handle
            yield tonio.sleep(1)
            if not awaited:
                yield handle
        return time.time() - start

    assert run_bounded(main(), virtual_clock=True, timeout=30) == pytest.approx(50, abs=1e-6)


def test_virtual_clock_does_not_jump_while_a_blocking_function_resumes_after_block_on():
    def short():
        yield tonio.yield_now()
        return 1

    def blocking():
        return sum(tonio.block_on(short()) for _ in range(100))

    def main():
        start = time.time()
        with tonio.move_on_after(100) as deadline:
            total = yield tonio.spawn_blocking(blocking)
        return total, deadline.timed_out, time.time() - start

    for _ in range(5):
        assert run_bounded(main(), virtual_clock=True, threads=2) == (100, False, 0)
