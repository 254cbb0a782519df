"""Timers: cancelled sleeps do not stay in the heap, and many concurrent sleeps are cheap."""

from tests.conftest import FREE_THREADED, run_bounded

import tonio
from tonio._tonio import _runtime_stats

MILLION = 1_000_000


def test_a_million_cancelled_sleeps_leave_no_timers_behind():
    def sleeper():
        yield tonio.sleep(3600)

    def observer(seen):
        yield tonio.sleep(1)
        seen.append(_runtime_stats()['timers'])

    def main():
        seen = []
        # On the virtual clock the deadline passes only once every sleeper is suspended.
        with tonio.move_on_after(2) as deadline:
            sleepers = (sleeper() for _ in range(MILLION))
            yield tonio.spawn.without_results(observer(seen), *sleepers)
        # The last member wakes us just before it leaves the registry (on another worker).
        for _ in range(10_000):
            if _runtime_stats()['tasks'] == 1:
                break
            yield
        stats = _runtime_stats()
        return seen, deadline.timed_out, stats['tasks'], stats['timers']

    seen, timed_out, tasks, timers = run_bounded(main(), timeout=120, virtual_clock=True)
    assert seen == [MILLION + 1]
    assert timed_out
    assert tasks == 1
    # Stale entries are compacted away once they outnumber the live ones (and exceed 1024).
    assert timers < 1024


def test_timers_of_woken_waits_are_compacted_too():
    count = 200_000 if FREE_THREADED else 50_000

    def waiter(event):
        yield event.wait(3600)

    def main():
        events = [tonio.Event() for _ in range(count)]
        handle = tonio.spawn.without_results(*(waiter(event) for event in events))
        yield tonio.sleep(0.05)
        for event in events:
            event.set()
        yield handle
        return _runtime_stats()['timers']

    assert run_bounded(main(), timeout=120) < 1024
