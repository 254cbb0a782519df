"""The driver poll turned by idle workers: no wake-up is lost between the worker that sleeps in
the poll, the workers parked on their threads, the busy ones and the lobby (the thread that
called `run_until_complete`).

Each scenario is repeated, on one worker and on four (truly parallel on the free-threaded
build), and bounded in time, so a lost wake-up fails instead of hanging: the virtual clock must
jump whenever everything waits, timers must fire while every worker is busy (yielding or not),
and a task woken from a plain thread must run while a worker sleeps in the poll.
"""

import sys
import threading

import pytest
from tests.conftest import FREE_THREADED, run_bounded

import tonio
from tonio import time

REPEAT = 200 if FREE_THREADED else 100


def test_the_virtual_clock_jumps_whenever_every_worker_waits(threads):
    def relay(inbox, outbox, delay):
        yield inbox.wait()
        yield tonio.sleep(delay)
        outbox.set()

    def busy(steps):
        for _ in range(steps):
            yield tonio.yield_now()

    def main():
        start = time.time()
        events = [tonio.Event() for _ in range(11)]
        relays = (relay(events[i], events[i + 1], 0.5) for i in range(10))
        chain = tonio.spawn(*relays, busy(100), busy(100))
        events[0].set()
        yield chain
        yield tonio.sleep(1)
        return round(time.time() - start, 6)

    def runs():
        # Several runs on one runtime: its workers (and whichever sleeps in the poll) carry over.
        with tonio.runtime(threads=threads, virtual_clock=True) as runtime:
            return [runtime.run_until_complete(main()) for _ in range(REPEAT)]

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(elapsed=runs()), daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), 'the virtual clock stopped jumping: a lost wake-up?'
    assert outcome['elapsed'] == [6.0] * REPEAT


def test_timers_fire_while_every_worker_is_busy(threads):
    def spinner(stop):
        while not stop.is_set():
            yield tonio.yield_now()

    def main():
        stop = tonio.Event()
        spinners = tonio.spawn(*(spinner(stop) for _ in range(threads * 2)))
        for _ in range(10):
            yield tonio.sleep(0.001)
        stop.set()
        yield spinners

    for _ in range(REPEAT // 20):
        run_bounded(main(), timeout=30, threads=threads)


def test_a_deadline_reaches_a_task_that_never_yields(threads):
    # No worker is idle and none looks at the poll: the lobby fires the deadline.
    def main():
        with tonio.move_on_after(0.005) as scope:
            while not scope.cancelled:
                pass
        return scope.cancelled
        yield  # a generator-style task

    for _ in range(REPEAT // 20):
        assert run_bounded(main(), timeout=30, threads=threads)


def test_a_plain_thread_wakes_a_task_while_a_worker_sleeps_in_the_poll(threads):
    # A far deadline is pending (the lobby looks at the poll while no worker drives it) and
    # every worker is idle: the task a plain thread wakes must run at once, not at the deadline.
    def main():
        events = [tonio.Event() for _ in range(50)]

        def setter():
            for event in events:
                threading.Event().wait(0.0005)
                event.set()

        with tonio.move_on_after(3600) as scope:
            thread = threading.Thread(target=setter)
            thread.start()
            for event in events:
                yield event.wait()
        thread.join()
        return scope.cancelled

    for _ in range(REPEAT // 20):
        assert run_bounded(main(), timeout=30, threads=threads) is False


def voluntary_switches(native_id):
    with open(f'/proc/self/task/{native_id}/status') as status:
        for line in status:
            if line.startswith('voluntary_ctxt_switches:'):
                return int(line.split()[1])
    raise AssertionError('no voluntary_ctxt_switches line')


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='reads /proc')
def test_the_lobby_sleeps_while_an_idle_worker_turns_the_poll():
    lobby = {}

    def main():
        yield tonio.sleep(0.01)  # the workers are up and one of them drives the poll
        before = voluntary_switches(lobby['id'])
        yield tonio.sleep(0.5)
        return voluntary_switches(lobby['id']) - before

    def target():
        lobby['id'] = threading.get_native_id()
        lobby['switches'] = tonio.run(main(), threads=2)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(30)
    assert not thread.is_alive()
    # The old reactor slept through the whole wait (one wake-up at its end).
    assert lobby['switches'] < 10
