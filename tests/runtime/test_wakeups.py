"""Wake-ups are exact: no registration outlives its wait, a delivered hand-off is never thrown
away by a later cancel, and timers due together fire together.

Run on one worker and on four (truly parallel on the free-threaded build); the racy scenarios
run many instances at once and are repeated, each run bounded so a lost wake-up fails instead of
hanging.
"""

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
import tonio.colored

REPEAT = 5
RACES = 2_000 if FREE_THREADED else 500


def test_waiters_that_time_out_leave_no_registration(threads):
    event = tonio.Event()

    def waiter():
        return (yield event.wait(0.01))

    def main():
        results = yield tonio.spawn(*(waiter() for _ in range(5_000)))
        return results, event.waiting

    results, waiting = run_bounded(main(), threads=threads)
    assert results == [False] * 5_000
    assert waiting == 0


def test_waiters_that_are_cancelled_leave_no_registration(threads):
    event = tonio.Event()

    async def waiter():
        await event.wait()

    async def main():
        async with tonio.colored.scope() as s:
            for _ in range(5_000):
                s.spawn(waiter())
            await tonio.colored.sleep(0.01)
            parked = event.waiting
            s.cancel()
        return parked, event.waiting

    assert run_bounded(main(), threads=threads) == (5_000, 0)


@pytest.mark.parametrize('round_', range(REPEAT))
def test_registrations_racing_cancels_and_timeouts_never_leak(round_):
    # Each racer waits on a shared event while a sibling cancels it at a varying moment, some
    # with a timeout that expires at about the same time: whichever wins, the event keeps no
    # entry for a wait that ended.
    events = [tonio.Event() for _ in range(8)]

    def racer(index, s):
        timeout = 0.0005 * (index % 3) if index % 2 else None
        yield events[index % 8].wait(timeout)

    def canceller(s, spins):
        for _ in range(spins):
            yield
        s.cancel()

    def one(index):
        with tonio.scope() as s:
            s.spawn(racer(index, s))
            s.spawn(canceller(s, (index + round_) % 4))
        yield s()

    def main():
        yield tonio.spawn(*(one(index) for index in range(RACES)))
        return [event.waiting for event in events]

    assert run_bounded(main(), threads=4) == [0] * 8


@pytest.mark.parametrize('syntax', ['yield', 'colored'])
def test_a_cancel_after_an_event_handoff_waits_for_the_next_suspension(syntax):
    log = []
    event = tonio.Event()

    def waiter():
        log.append((yield event.wait()))
        try:
            yield tonio.sleep(3600)
        except tonio.CancelledError:
            log.append('cancelled at the next suspension')
            raise

    async def colored_waiter():
        log.append(await event.wait())
        try:
            await tonio.colored.sleep(3600)
        except tonio.CancelledError:
            log.append('cancelled at the next suspension')
            raise

    def main():
        with tonio.scope() as s:
            s.spawn(waiter() if syntax == 'yield' else colored_waiter())
            yield tonio.sleep(0.01)
            # In one step: the set hands True over first, the cancel comes after.
            event.set()
            s.cancel()
        yield s()

    run_bounded(main(), threads=1)
    assert log == [True, 'cancelled at the next suspension']


def test_a_cancel_after_a_join_handoff_waits_for_the_next_suspension(threads):
    # One worker orders it: `finisher` completes (handing 42 to `waiter`) before `canceller`
    # runs. With four, the cancel may also come first; then no result was handed over and the
    # waiter is simply cancelled. Never is a delivered result lost to the cancel.
    outcomes = []

    def finisher():
        return 42
        yield

    def canceller(s):
        s.cancel()
        yield

    def waiter(s, log):
        handle = tonio.spawn(finisher())
        tonio.spawn.without_tracking(canceller(s))
        log.append((yield handle))
        try:
            yield tonio.sleep(3600)
        except tonio.CancelledError:
            log.append('cancelled')
            raise

    def main():
        for _ in range(200):
            log = []
            with tonio.scope() as s:
                s.spawn(waiter(s, log))
            yield s()
            outcomes.append(tuple(log))

    run_bounded(main(), threads=threads)
    assert set(outcomes) <= {(42, 'cancelled'), ()}
    if threads == 1:
        assert set(outcomes) == {(42, 'cancelled')}


@pytest.mark.parametrize('clock', ['real', 'virtual'])
@pytest.mark.parametrize('syntax', ['yield', 'colored'])
def test_children_failing_after_the_same_sleep_both_fail(threads, syntax, clock):
    # Their timers are due in the same reactor turn: both are woken before either runs, so the
    # first failure (which cancels the scope) cannot turn the second into a cancellation. On
    # the real clock "the same sleep" is one shared deadline (relative sleeps started a
    # preempted moment apart end that moment apart); on the virtual clock it is sleep(0.002).
    def fails(message, deadline):
        if deadline is None:
            yield tonio.sleep(0.002)
        else:
            yield tonio.time.sleep_until(deadline)
        raise ValueError(message)

    async def colored_fails(message, deadline):
        if deadline is None:
            await tonio.colored.sleep(0.002)
        else:
            await tonio.colored.time.sleep_until(deadline)
        raise ValueError(message)

    make = fails if syntax == 'yield' else colored_fails

    def main():
        groups = []
        for _ in range(40):
            deadline = None if clock == 'virtual' else tonio.time.time() + 0.015
            try:
                with tonio.scope() as s:
                    s.spawn(make('a', deadline))
                    s.spawn(make('b', deadline))
                yield s()
            except ExceptionGroup as group:
                groups.append(sorted(str(error) for error in group.exceptions))
            except ValueError as error:
                groups.append([str(error)])
        return groups

    groups = run_bounded(main(), threads=threads, virtual_clock=clock == 'virtual')
    assert groups == [['a', 'b']] * 40


def test_a_combined_wait_withdraws_every_registration(threads):
    a, b, c = tonio.Event(), tonio.Event(), tonio.Event()

    def setter(event):
        yield tonio.sleep(0.005)
        event.set()

    def main():
        tonio.spawn.without_tracking(setter(b))
        fired = yield a.wait() | b.wait() | c.wait()
        after_any = (a.waiting, b.waiting, c.waiting)
        timed_out = yield tonio.Waiter.any(a, c, timeout=0.005)
        after_timeout = (a.waiting, c.waiting)
        tonio.spawn.without_tracking(setter(a), setter(c))
        every = yield a.wait() & b.wait() & c.wait()
        late = yield tonio.Waiter.all(tonio.Event(), a, timeout=0.005)
        return fired, after_any, timed_out, after_timeout, every, late

    assert run_bounded(main(), threads=threads) == (1, (0, 0, 0), None, (0, 0), True, False)
