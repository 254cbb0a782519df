"""Subprocesses below the public API: the exit-wait fallbacks, a spawn cancelled in the pool's
queue, generators closed mid-wait, a reaping interrupted, another runtime, and random
cancellations on four workers. Zombies and descriptors are checked through /proc
(tests/proc_checks.py)."""

import errno
import os
import random
import signal
import subprocess
import threading
import time

import pytest
from tests.conftest import run_bounded
from tests.proc_checks import assert_gone, children, leaked, pipes_and_pidfds, wait_for_child

import tonio
from tonio._process import _exit
from tonio._tonio import _runtime_stats


@pytest.fixture(params=['waitid', 'poll'])
def fallback(request, monkeypatch):
    """No pidfd: wait for exits the way systems without one do."""
    monkeypatch.setattr(_exit, 'USE_PIDFD', False)
    monkeypatch.setattr(_exit, 'FALLBACK', request.param)
    return request.param


def test_the_fallbacks_run_wait_and_kill_on_cancel(fallback):
    before = pipes_and_pidfds()

    def main():
        result = yield tonio.run_process(['cat'], stdin=b'data', capture_stdout=True)
        assert result.stdout == b'data'
        process = yield tonio.open_process(['sleep', '30'])
        assert not process._exit.uses_pidfd
        in_flight = []

        def watch():
            yield tonio.sleep(0.05)
            in_flight.append(_runtime_stats()['blocking_in_flight'])

        with tonio.move_on_after(0.1):
            yield tonio.spawn(process.wait(), watch())
        assert process.returncode == -signal.SIGKILL
        assert_gone(process.pid)
        codes = yield tonio.spawn(*[tonio.run_process(['true']) for _ in range(20)])
        return in_flight, [result.returncode for result in codes]

    in_flight, codes = run_bounded(main(), timeout=30)
    assert codes == [0] * 20
    # waitid waits on a blocking thread; polling sleeps on the runtime.
    assert in_flight == ([1] if fallback == 'waitid' else [0])
    assert not children('cat')
    assert not children('sleep')
    assert not children('true')
    assert not leaked(before)


def test_a_kernel_refusing_pidfds_falls_back(monkeypatch):
    def refuse(pid):
        raise OSError(errno.ENOSYS, 'pidfd_open')

    monkeypatch.setattr(os, 'pidfd_open', refuse)

    def main():
        process = yield tonio.open_process(['true'])
        assert not process._exit.uses_pidfd
        return (yield process.wait())

    assert run_bounded(main(), timeout=30) == 0


def test_a_spawn_cancelled_in_the_queue_closes_the_child_ends_and_starts_nothing():
    occupied = threading.Event()
    before = pipes_and_pidfds()

    def main():
        busy = tonio.spawn_blocking(occupied.wait, 10)
        with tonio.move_on_after(0.05):
            yield tonio.open_process(['sleep', '30'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        occupied.set()
        yield busy

    run_bounded(main(), blocking_threadpool_size=1)
    assert not children('sleep')
    assert not leaked(before)


def test_a_wait_closed_mid_way_kills_the_child():
    before = pipes_and_pidfds()

    def main():
        process = yield tonio.open_process(['sleep', '30'])
        waiting = process.wait()
        next(waiting)  # suspended on the pidfd
        waiting.close()  # a generator dropped mid-wait: GeneratorExit, nothing can be awaited
        assert (yield process.wait()) == -signal.SIGKILL
        return process.pid

    assert_gone(run_bounded(main()))
    assert not leaked(before)


def test_a_reaping_interrupted_by_a_second_cancel_finishes_on_the_pool():
    before = pipes_and_pidfds()

    def main():
        process = yield tonio.open_process(['sleep', '30'])
        kill = process.kill
        process._kill_quietly = lambda: None  # so that the child is still there to wait for
        reaping = process._kill_and_reap()
        next(reaping)  # waiting for the exit
        with pytest.raises(tonio.CancelledError):
            reaping.throw(tonio.CancelledError())
        kill()  # the reaping left for the pool ends with the child
        deadline = time.monotonic() + 10
        while process._returncode is None and time.monotonic() < deadline:
            yield tonio.sleep(0.005)
        return process

    process = run_bounded(main())
    assert process._returncode == -signal.SIGKILL
    assert_gone(process.pid)
    assert not leaked(before)


def test_a_process_outlives_the_runtime_that_started_it():
    def start():
        return (yield tonio.open_process(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE))

    def finish(process):
        yield process.stdin.send_all(b'later')
        process.stdin.close()
        output = yield process.stdout.receive_some()
        process.stdout.close()
        return output, (yield process.wait())

    process = run_bounded(start())
    assert run_bounded(finish(process)) == (b'later', 0)


def test_random_cancellations_on_four_workers_leave_no_zombie_and_no_descriptor():
    before = pipes_and_pidfds()
    rng = random.Random(12)

    def one(seconds, limit):
        with tonio.move_on_after(limit) as deadline:
            result = yield tonio.run_process(
                ['sh', '-c', f'cat; sleep {seconds}'], stdin=b'x' * 1000, capture_stdout=True
            )
            assert result.stdout == b'x' * 1000
        return deadline.timed_out

    def main():
        # A third get all the time they need; the others a deadline anywhere in their run.
        runs = [
            one(rng.choice([0, 0.01, 0.05]), rng.choice([rng.uniform(0, 0.1)] * 2 + [30]))
            for _ in range(150)
        ]
        return (yield tonio.spawn(*runs))

    for _ in range(2):
        outcomes = run_bounded(main(), timeout=60, threads=4)
        assert True in outcomes
        assert False in outcomes
        assert not children('sh')
        assert not children('cat')
        assert not leaked(before)


def test_wait_for_child_helper_sees_a_child():
    def main():
        process = yield tonio.open_process(['sleep', '30'])
        pid = yield wait_for_child('sleep')
        process.kill()
        yield process.wait()
        return pid, process.pid

    pid, expected = run_bounded(main())
    assert pid == expected
