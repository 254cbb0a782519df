"""Cancellation of tasks left running when main returns, at every kind of suspension point."""

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


@pytest.mark.parametrize(
    'suspended', [at_event, at_timed_event, at_sleep, at_join, at_yield, at_nested]
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
