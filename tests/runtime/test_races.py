"""Races between cancellation, deadlines and completion, under real parallelism.

On the free-threaded interpreter these run four workers truly in parallel. Each scenario runs
many racing instances at once and is repeated; every run is bounded so a lost wakeup or a lost
cancel fails instead of hanging. The invariants: exactly one winner, every coroutine finishes
exactly once, nothing is left pending.
"""

import itertools
import threading

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
import tonio.colored

RACES = 2_000 if FREE_THREADED else 500
REPEAT = 5


def finishes_once(value, started, finished, spin):
    started.append(value)
    try:
        for _ in range(spin):
            yield
        return value
    finally:
        finished.append(value)


@pytest.mark.parametrize('round_', range(REPEAT))
def test_select_has_exactly_one_winner_and_every_loser_unwinds(round_):
    started, finished = [], []

    def racer(index):
        first = (index, 'a')
        second = (index, 'b')
        winner = yield tonio.select(
            finishes_once(first, started, finished, spin=index % 3),
            finishes_once(second, started, finished, spin=round_ % 3),
        )
        assert winner in (first, second)
        # The loser has unwound by the time select returns: whatever of it started, finished
        # (one cancelled before it ever ran never starts).
        mine = [entry for entry in started if entry[0] == index]
        assert sorted(mine) == sorted(entry for entry in finished if entry[0] == index)
        assert winner in mine
        return winner

    def main():
        return (yield tonio.spawn(*(racer(index) for index in range(RACES))))

    winners = run_bounded(main(), threads=4)
    assert len(winners) == RACES
    assert len(set(finished)) == len(finished)
    assert sorted(started) == sorted(finished)


@pytest.mark.parametrize('round_', range(REPEAT))
def test_timeout_racing_completion_gives_a_consistent_answer(round_):
    async def work(index, log):
        try:
            await tonio.colored.sleep(0.001 * (index % 5))
            return index
        finally:
            log.append(index)

    async def racer(index, log):
        result = await tonio.colored.time.timeout(work(index, log), 0.001 * ((index + round_) % 5))
        assert result in ((index, True), (None, False))
        assert log.count(index) == 1
        return result[1]

    async def main():
        log = []
        outcomes = await tonio.colored.spawn(*(racer(index, log) for index in range(RACES)))
        return outcomes, log

    outcomes, log = run_bounded(main(), threads=4)
    assert len(outcomes) == RACES
    assert sorted(log) == list(range(RACES))


@pytest.mark.parametrize('round_', range(REPEAT))
def test_scope_cancel_racing_spawns_from_children_leaves_nothing_behind(round_):
    started = []
    finished = []

    def grandchild(index):
        started.append(index)
        try:
            yield tonio.sleep(3600)
        finally:
            finished.append(index)

    def child(s, base):
        for offset in range(20):
            s.spawn(grandchild(base + offset))
            yield

    def canceller(s):
        for _ in range(round_ * 7):
            yield
        s.cancel()

    def main():
        with tonio.scope() as s:
            for index in range(RACES // 20):
                s.spawn(child(s, index * 20))
            s.spawn(canceller(s))
        yield s()
        return s.pending

    assert run_bounded(main(), threads=4) == 0
    assert sorted(started) == sorted(finished)
    assert len(set(finished)) == len(finished)


@pytest.mark.parametrize('round_', range(REPEAT))
def test_deadline_racing_an_event_set_from_a_thread_loses_nothing(round_):
    events = [tonio.Event() for _ in range(RACES)]
    outcomes = [None] * RACES

    def waiter(index):
        with tonio.move_on_after(0.0005 * (index % 4)) as deadline:
            yield events[index].wait()
            outcomes[index] = 'set'
        if deadline.timed_out and outcomes[index] is None:
            outcomes[index] = 'timed out'

    def setter():
        for event in events:
            event.set()

    def main():
        handle = tonio.spawn.without_results(*(waiter(index) for index in range(RACES)))
        thread = threading.Thread(target=setter)
        thread.start()
        yield handle
        thread.join()

    run_bounded(main(), threads=4)
    assert None not in outcomes


@pytest.mark.parametrize('round_', range(REPEAT))
def test_cancelling_waiters_of_spawned_groups_cancels_and_awaits_every_member(round_):
    entered = []
    unwound = []

    def member(index):
        entered.append(index)
        try:
            yield tonio.sleep(3600)
        finally:
            unwound.append(index)

    def parent(base):
        yield tonio.spawn.without_results(*(member(base + offset) for offset in range(10)))

    def main():
        with tonio.move_on_after(0.001 * (round_ + 1)):
            yield tonio.spawn.without_results(*(parent(index * 10) for index in range(RACES // 10)))
        return sorted(entered) == sorted(unwound)

    assert run_bounded(main(), threads=4)


@pytest.mark.parametrize('round_', range(REPEAT))
def test_a_deadline_firing_as_its_owner_leaves_never_cancels_code_after_the_block(round_):
    strays = []

    def child():
        yield tonio.sleep(3600)

    def owner():
        for _ in range(25):
            deadline = tonio.move_on_after(0.001)
            with deadline:
                for _ in range(50):
                    deadline.spawn(child())
                # Leave right as the deadline is cancelling the children.
                while not deadline.cancelled:
                    pass
            try:
                yield deadline()
                yield tonio.yield_now()
            except tonio.CancelledError:
                strays.append(True)

    def main():
        yield tonio.spawn(*(owner() for _ in range(4)))

    run_bounded(main(), threads=4)
    assert strays == []


@pytest.mark.parametrize('round_', range(REPEAT))
def test_an_inner_scope_exit_never_eats_an_enclosing_scopes_cancel(round_):
    lost = []

    def body(outer, started):
        with outer:
            started.set()
            for attempt in itertools.count():
                inner = tonio.scope()
                with inner:
                    inner.cancel()
                if outer.cancelled:
                    yield tonio.yield_now()  # must raise the outer scope's CancelledError
                    lost.append(True)
                    return
                if attempt % 64 == 63:
                    # Let the cancellers run where workers are few (a GIL build).
                    yield

    def canceller(outer, started, spin):
        yield started.wait()
        for _ in range(spin):
            pass
        outer.cancel()

    def trial(spin):
        outer = tonio.scope()
        started = tonio.Event()
        yield tonio.spawn(body(outer, started), canceller(outer, started, spin))

    def main():
        yield tonio.spawn(*(trial(index * 7 % 2000) for index in range(RACES // 2)))

    run_bounded(main(), threads=4)
    assert lost == []
