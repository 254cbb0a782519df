"""The blocking pool grows on demand to its cap, queues past it, and shrinks after the idle TTL."""

import threading

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
