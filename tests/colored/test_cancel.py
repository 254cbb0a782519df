"""Cancellation of tasks left running when main returns, at every kind of suspension point."""

import time

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio


async def at_event():
    await tonio.Event().wait()


async def at_timed_event():
    await tonio.Event().wait(3600)


async def at_sleep():
    await tonio.sleep(3600)


async def at_join():
    await tonio.spawn(at_sleep())


async def at_yield():
    while True:
        await tonio.yield_now()


async def at_nested():
    await at_sleep()


def busy_forever():
    # Python bytecode all along: a cancelled waiter's CancelledError stops it (were it not
    # stopped, the runtime could not close and the test would fail on its time bound).
    while True:
        time.sleep(0.001)


async def at_blocking_result():
    await tonio.spawn_blocking(busy_forever)


async def at_scope():
    async with tonio.scope() as s:
        s.spawn(at_sleep())


async def at_select():
    await tonio.select(at_sleep(), at_event())


async def at_timeout():
    await tonio.time.timeout(at_sleep(), 3600)


async def at_interval_tick():
    interval = tonio.time.interval(3600, at=tonio.time.time() + 3600)
    await interval.tick()


async def at_deadline_scope():
    with tonio.move_on_after(3600):
        await at_sleep()


@pytest.mark.parametrize(
    'suspended',
    [
        at_event,
        at_timed_event,
        at_sleep,
        at_join,
        at_yield,
        at_nested,
        at_blocking_result,
        at_scope,
        at_select,
        at_timeout,
        at_interval_tick,
        at_deadline_scope,
    ],
)
def test_a_cancel_reaches_the_task_wherever_it_waits(suspended, threads):
    seen = []

    async def victim():
        try:
            await suspended()
        except tonio.CancelledError:
            seen.append('cancelled')
            raise
        finally:
            seen.append('finally')

    async def main():
        tonio.spawn.without_tracking(victim())
        await tonio.sleep(0.01)

    run_bounded(main(), timeout=30, threads=threads)
    assert seen == ['cancelled', 'finally']
