"""Timeouts, intervals and the virtual clock in async syntax."""

import time as wall

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio
from tonio.colored import time


async def value_after(value, seconds, log=None):
    try:
        await tonio.sleep(seconds)
        return value
    finally:
        if log is not None:
            log.append('unwound')


def test_timeout_returns_the_result_and_true_in_time(threads):
    async def main():
        return await time.timeout(value_after('v', 0.001), 5)

    assert run_bounded(main(), threads=threads) == ('v', True)


def test_timeout_cancels_the_coroutine_and_returns_none_false(threads):
    log = []

    async def main():
        result = await time.timeout(value_after('v', 3600, log), 0.01)
        return result, list(log)

    assert run_bounded(main(), threads=threads) == ((None, False), ['unwound'])


def test_interval_ticks_without_drift_on_the_virtual_clock():
    async def main():
        interval = time.interval(1.0)
        start = time.time()
        ticks = []
        for _ in range(5):
            await interval.tick()
            ticks.append(time.time() - start)
            await tonio.sleep(0.3)
        return ticks

    ticks = run_bounded(main(), virtual_clock=True)
    assert ticks == pytest.approx([0.0, 1.0, 2.0, 3.0, 4.0], abs=1e-6)


def test_interval_starts_at_the_given_time():
    async def main():
        start = time.time()
        interval = time.interval(0.5, at=start + 10)
        await interval.tick()
        return time.time() - start

    assert run_bounded(main(), virtual_clock=True) == pytest.approx(10.0, abs=1e-6)


def test_virtual_clock_sleeps_an_hour_at_once():
    async def main():
        start = time.time()
        await tonio.sleep(3600)
        return time.time() - start

    began = wall.perf_counter()
    assert run_bounded(main(), virtual_clock=True) == pytest.approx(3600, abs=1e-6)
    assert wall.perf_counter() - began < 5


def test_virtual_clock_fires_timeouts_and_deadlines(threads):
    async def main():
        start = time.time()
        result = await time.timeout(value_after('late', 100), 5)
        with tonio.move_on_after(7):
            await tonio.Event().wait()
        async with tonio.scope(timeout=2) as s:
            s.spawn(value_after('child', 50))
        return result, s.timed_out, time.time() - start

    assert run_bounded(main(), virtual_clock=True, threads=threads) == (
        (None, False),
        True,
        pytest.approx(14),
    )
