"""The blocking pool grows on demand to its cap, queues past it, and shrinks after the idle TTL."""

import contextvars
import subprocess
import sys
import threading
import time

import pytest
from tests.conftest import run_bounded

import tonio
from tonio._tonio import _runtime_stats


def test_the_pool_grows_to_its_cap_then_queues_then_shrinks():
    release = threading.Event()
    started = []
    lock = threading.Lock()

    def job(index):
        with lock:
            started.append(index)
        release.wait(10)
        return index

    def main():
        assert _runtime_stats()['blocking_threads'] == 0
        handle = tonio.map_blocking(job, range(7))
        # Let the three threads pick up their jobs.
        for _ in range(200):
            if len(started) == 3:
                break
            yield tonio.sleep(0.005)
        busy = _runtime_stats()
        release.set()
        results = yield handle
        yield tonio.sleep(0.6)
        return busy, results, _runtime_stats()

    busy, results, after = run_bounded(
        main(), blocking_threadpool_size=3, blocking_threadpool_idle_ttl=0.2
    )
    assert busy['blocking_threads'] == 3
    assert busy['blocking_queued'] == 4
    assert busy['blocking_in_flight'] == 7
    assert results == list(range(7))
    assert after['blocking_threads'] == 0
    assert after['blocking_in_flight'] == 0


def test_idle_threads_are_reused_instead_of_starting_new_ones():
    def main():
        for _ in range(20):
            yield tonio.spawn_blocking(int, '1')
        return _runtime_stats()['blocking_threads']

    assert run_bounded(main()) == 1


@pytest.mark.parametrize(
    'options, error',
    [
        ({'blocking_threadpool_size': 0}, ValueError),
        ({'blocking_threadpool_idle_ttl': 0}, ValueError),
        ({'blocking_threadpool_idle_ttl': 'long'}, TypeError),
        ({'blocking_threadpool_idle_ttl': float('inf')}, ValueError),
    ],
)
def test_bad_pool_options_are_rejected(options, error):
    with pytest.raises(error, match='blocking_threadpool'):
        tonio.runtime(**options)


def run_python(source):
    """Runs ``source`` in a fresh interpreter (a crash or a hang fails the test, not pytest)."""
    return subprocess.run(
        [sys.executable, '-c', source], capture_output=True, text=True, timeout=30, check=False
    )


INTERRUPT_THEN_TRACE = """
import sys, time
import tonio


def busy():
    while True:
        time.sleep(0.001)


def main():
    with tonio.move_on_after(0.02):
        yield tonio.spawn_blocking(busy)
    # The call ended by the CancelledError sent to its thread; the pool thread then made sure
    # nothing was left pending.


tonio.run(main())

calls = []


def tracer(frame, event, arg):
    calls.append(event)
    return tracer


def traced():
    return 1


sys.settrace(tracer)
traced()
sys.settrace(None)
print('traced', len(calls) > 0)
"""


def test_an_interrupted_blocking_call_leaves_no_pending_signal():
    # A cancelled blocking call is stopped by an exception sent to its thread. Clearing one that
    # came too late with `PyThreadState_SetAsyncExc(thread, NULL)` left the interpreter's
    # "asynchronous exception pending" signal set for good: every thread then kept entering the
    # pending-work handler, and on 3.11 a traced function looped forever on its first
    # instruction. In a subprocess: that failure is a hang.
    done = run_python(INTERRUPT_THEN_TRACE)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == 'traced True'


def test_a_pool_thread_keeps_one_thread_state_across_jobs():
    # A pool thread attaches to the interpreter once for its life (attaching per job made and
    # tore down a thread state each time: costly, and on a free-threaded build most of the
    # subprocess benchmark's CPU). So, as in a ThreadPoolExecutor, a thread-local value a job
    # sets is there for the next job on the same thread.
    local = threading.local()

    def first():
        local.value = 'set by the first job'
        return threading.get_ident()

    def second():
        return threading.get_ident(), getattr(local, 'value', None)

    def main():
        thread = yield tonio.spawn_blocking(first)
        return thread, (yield tonio.spawn_blocking(second))

    thread, (again, value) = run_bounded(main(), blocking_threadpool_size=1)
    assert again == thread
    assert value == 'set by the first job'


def test_a_job_does_not_see_the_context_variables_an_earlier_job_set():
    # The thread state stays, but each job (without the runtime's context=True) runs in a new,
    # empty contextvars context: what one job sets does not leak into the next on its thread.
    variable = contextvars.ContextVar('variable', default='unset')

    def first():
        variable.set('set by the first job')
        return threading.get_ident(), variable.get()

    def second():
        return threading.get_ident(), variable.get()

    def main():
        return (yield tonio.spawn_blocking(first)), (yield tonio.spawn_blocking(second))

    (thread, seen_first), (again, seen_second) = run_bounded(main(), blocking_threadpool_size=1)
    assert again == thread
    assert seen_first == 'set by the first job'
    assert seen_second == 'unset'


def test_a_cancel_that_comes_too_late_does_not_reach_the_next_job():
    # time.sleep is a C function called directly: no bytecode runs in the call, so the
    # CancelledError sent when the scope's deadline passes is still pending on the pool thread
    # when the call returns. The thread keeps its thread state, so it must fire and be
    # swallowed there, not in the next job queued on the same (only) thread.
    def main():
        with tonio.move_on_after(0.02):
            yield tonio.spawn_blocking(time.sleep, 0.2)
        return (yield tonio.spawn_blocking(lambda: sum(range(1000))))

    assert run_bounded(main(), blocking_threadpool_size=1) == sum(range(1000))


IDLE_POOL_AT_EXIT = """
import os, sys, threading, time, types
import tonio


def job(_=None):
    time.sleep(0.002)


def main():
    yield tonio.map_blocking(job, range(8))
    started.set()
    while True:
        yield tonio.sleep(1)


started = threading.Event()
threading.Thread(
    target=tonio.run,
    args=(main(),),
    kwargs={'blocking_threadpool_idle_ttl': 0.1},
    daemon=True,
).start()
started.wait()


class Slow:
    def __del__(self, os=os, sys=sys, time=time):
        # Runs once the interpreter is finalizing; the idle pool threads' TTL passes meanwhile.
        os.write(1, f'finalizing {sys.is_finalizing()}\\n'.encode())
        time.sleep(0.5)


holder = types.ModuleType('holder')
holder.slow = Slow()
sys.modules['holder'] = holder
del holder
"""


def test_idle_pool_threads_stay_out_while_the_interpreter_finalizes():
    # A runtime left running on a daemon thread at exit: its idle pool threads' TTL passes while
    # the interpreter finalizes. Re-attaching to exit then would have CPython end the thread
    # inside Rust frames (an abort); they stay parked instead. In a subprocess: that failure is
    # a crash.
    done = run_python(IDLE_POOL_AT_EXIT)
    assert 'finalizing True' in done.stdout, done.stdout + done.stderr
    assert done.returncode == 0, done.stderr
