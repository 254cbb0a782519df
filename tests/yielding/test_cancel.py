"""Cancellation of tasks left running when main returns, at every kind of suspension point."""

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


@pytest.mark.parametrize(
    'suspended', [at_event, at_timed_event, at_sleep, at_join, at_yield, at_nested]
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
