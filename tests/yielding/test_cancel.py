"""Cancellation of tasks left running when main returns, at every kind of suspension point."""

import time

import pytest
from tests.conftest import run_bounded

import tonio


def at_event():
    yield tonio.Event().wait()


def at_timed_event():
    yield tonio.Event().wait(3600)


def at_sleep():
    yield tonio.sleep(3600)


def at_join():
    yield tonio.spawn(at_sleep())


def at_yield():
    while True:
        yield


def at_nested():
    yield at_sleep()


def busy_forever():
    # Python bytecode all along: a cancelled waiter's CancelledError stops it (were it not
    # stopped, the runtime could not close and the test would fail on its time bound).
    while True:
        time.sleep(0.001)


def at_blocking_result():
    yield tonio.spawn_blocking(busy_forever)


def at_scope():
    with tonio.scope() as s:
        s.spawn(at_sleep())
    yield s()


def at_select():
    yield tonio.select(at_sleep(), at_event())


def at_timeout():
    yield tonio.time.timeout(at_sleep(), 3600)


def at_interval_tick():
    interval = tonio.time.interval(3600, at=tonio.time.time() + 3600)
    yield interval.tick()


def at_deadline_scope():
    with tonio.move_on_after(3600):
        yield at_sleep()


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

    def victim():
        try:
            yield suspended()
        except tonio.CancelledError:
            seen.append('cancelled')
            raise
        finally:
            seen.append('finally')

    def main():
        tonio.spawn.without_tracking(victim())
        yield tonio.sleep(0.01)

    run_bounded(main(), timeout=30, threads=threads)
    assert seen == ['cancelled', 'finally']
