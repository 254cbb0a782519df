"""make_on_pool (python/tonio/_handover.py): what a blocking call makes is handed over, or
discarded by whoever is last, at each moment a cancel (or a close) can come."""

import os
import sys
import threading
import time

from tests.conftest import run_bounded

import tonio
import tonio.fs as fs
from tonio._handover import make_on_pool
from tonio._tonio import _runtime_stats


class Recorder:
    """make/discard/cleanup for make_on_pool, each recording on which thread it ran."""

    def __init__(self):
        self.calls = []
        self.may_make = threading.Event()
        self.making = threading.Event()

    def make(self):
        self.making.set()
        self.may_make.wait(10)
        self.calls.append(('make', threading.get_ident()))
        return 'made'

    def discard(self, value):
        # Who discards: make_on_pool's pool function (`_make`: the caller had already left), or
        # nobody in Python (a blocking call of its own: the value was made but never received).
        try:
            by = sys._getframe(1).f_code.co_name
        except ValueError:
            by = None
        self.calls.append(('discard', value, by))

    def cleanup(self):
        self.calls.append(('cleanup',))


def test_make_on_pool_hands_the_value_over():
    recorder = Recorder()
    recorder.may_make.set()

    def main():
        return (yield make_on_pool(recorder.make, recorder.discard, recorder.cleanup))

    assert run_bounded(main()) == 'made'
    assert [call[0] for call in recorder.calls] == ['make', 'cleanup']


def test_cancelled_before_make_starts_the_caller_cleans_up():
    recorder = Recorder()
    occupied = threading.Event()

    def main():
        # One blocking thread, kept busy: the make call waits in the queue when cancelled.
        busy = tonio.spawn_blocking(occupied.wait, 10)
        with tonio.move_on_after(0.05):
            yield make_on_pool(recorder.make, recorder.discard, recorder.cleanup)
        occupied.set()
        yield busy
        yield tonio.sleep(0.05)

    run_bounded(main(), blocking_threadpool_size=1)
    assert recorder.calls == [('cleanup',)]


def test_cancelled_while_make_runs_the_pool_discards_and_the_caller_waits_for_it():
    recorder = Recorder()

    def making():
        yield make_on_pool(recorder.make, recorder.discard, recorder.cleanup)

    def release_later():
        yield tonio.sleep(0.05)
        recorder.may_make.set()

    def main():
        with tonio.scope() as scope:
            scope.spawn(making())
            yield tonio.spawn_blocking(recorder.making.wait, 10)
            scope.cancel()
        releasing = tonio.spawn(release_later())
        yield scope()
        # The cancelled task waited until the pool had discarded what it made.
        calls = list(recorder.calls)
        yield releasing
        return calls

    calls = run_bounded(main())
    assert [call[0] for call in calls] == ['make', 'cleanup', 'discard']
    assert calls[2] == ('discard', 'made', '_make')


def test_a_value_made_just_as_the_caller_was_cancelled_is_discarded():
    # One worker: the cancelled task cannot run its handler until the canceller lets go of the
    # worker, and by then the pool has handed the value over to nobody.
    recorder = Recorder()

    def making():
        yield make_on_pool(recorder.make, recorder.discard, recorder.cleanup)

    def main():
        with tonio.scope() as scope:
            scope.spawn(making())
            yield tonio.spawn_blocking(recorder.making.wait, 10)
            scope.cancel()
            recorder.may_make.set()
            deadline = time.monotonic() + 10
            # Holds the only worker on purpose until the call has returned its value.
            while _runtime_stats()['blocking_in_flight'] and time.monotonic() < deadline:
                time.sleep(0.001)
        yield scope()
        return list(recorder.calls)

    calls = run_bounded(main(), threads=1)
    assert [call[0] for call in calls] == ['make', 'cleanup', 'discard']
    assert calls[2] == ('discard', 'made', None)


def test_a_generator_closed_while_the_file_opens_leaves_the_closing_to_the_pool(tmp_path):
    name = tmp_path / 'opened.txt'
    entered = threading.Event()
    release = threading.Event()

    def slow_opener(path, flags):
        entered.set()
        release.wait(10)
        return os.open(path, flags, 0o666)

    def descriptors():
        return [
            entry
            for entry in os.listdir('/proc/self/fd')
            if os.path.realpath(f'/proc/self/fd/{entry}') == str(name)
        ]

    def main():
        opening = fs.open(name, 'w', opener=slow_opener)
        next(opening)  # waiting for the pool
        yield tonio.spawn_blocking(entered.wait, 10)
        opening.close()  # GeneratorExit: it cannot wait, the pool closes what it opens
        release.set()
        deadline = time.monotonic() + 10
        while (descriptors() or not name.exists()) and time.monotonic() < deadline:
            yield tonio.sleep(0.002)

    run_bounded(main())
    assert name.exists()
    assert not descriptors()
