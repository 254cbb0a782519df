"""The limiter behind tonio.mark.max_concurrency under real parallelism, with cancels landing at
every moment, the handoff of a permit included: never more holders than permits, and every permit
back at the end (none lost to a cancelled waiter, none handed out twice)."""

import random
import threading

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
from tonio._limiter import limiter

TASKS = 4000 if FREE_THREADED else 1500
PERMITS = 3


@pytest.mark.parametrize('round_', range(3))
def test_permits_are_never_exceeded_nor_lost_under_cancels(round_):
    guard = limiter(PERMITS)
    lock = threading.Lock()
    state = {'now': 0, 'most': 0, 'done': 0, 'cancelled': 0}
    rng = random.Random(round_)

    def hold(pause):
        yield from guard.acquire()
        with lock:
            state['now'] += 1
            state['most'] = max(state['most'], state['now'])
        try:
            if pause:
                yield tonio.sleep(pause)
            else:
                yield tonio.yield_now()
        finally:
            with lock:
                state['now'] -= 1
            guard.release()
        with lock:
            state['done'] += 1

    def maybe_cancelled(pause, deadline):
        # A deadline of about a holder's time: some expire while queued, some just as the
        # permit is handed over, some while holding it.
        finished = False
        with tonio.move_on_after(deadline):
            yield hold(pause)
            finished = True
        if not finished:
            with lock:
                state['cancelled'] += 1

    def main():
        coros = [
            maybe_cancelled(rng.choice([0, 0.0001, 0.0005]), rng.choice([0.0002, 0.001, 1]))
            for _ in range(TASKS)
        ]
        yield tonio.spawn.without_results(*coros)
        # Every permit is back: PERMITS holders at once, and not one more.
        gate = tonio.Event()
        entered = []

        def holder(index):
            yield from guard.acquire()
            entered.append(index)
            yield gate.wait()
            guard.release()

        handles = tonio.spawn(*(holder(i) for i in range(PERMITS + 1)))
        yield tonio.sleep(0.05)
        held = len(entered)
        gate.set()
        yield handles
        return held

    held = run_bounded(main(), threads=4)
    assert held == PERMITS
    assert state['most'] <= PERMITS
    assert state['done'] + state['cancelled'] == TASKS
    assert state['done'] and state['cancelled']
    assert (guard.tokens(), guard.statistics().tasks_waiting) == (PERMITS, 0)
