"""Running a million tasks repeatedly must not grow memory."""

import ctypes
import gc
import os

import pytest
from tests.conftest import FREE_THREADED

import tonio

RUNS = 5


def current_rss_bytes():
    with open('/proc/self/statm') as statm:
        return int(statm.read().split()[1]) * os.sysconf('SC_PAGE_SIZE')


_MALLINFO2_FIELDS = 'arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost'


class _MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in _MALLINFO2_FIELDS.split()]


def malloc_bytes_in_use():
    """Bytes glibc's malloc has handed out (where tonio's Rust allocations live)."""
    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = _MallInfo2
    info = libc.mallinfo2()
    return info.uordblks + info.hblkhd


def trivial():
    yield
    return 9


def million():
    tasks = [trivial() for _ in range(1_000_000)]
    results = yield tonio.spawn(*tasks)
    assert len(results) == 1_000_000


def measure_runs():
    samples = []
    with tonio.runtime(threads=1) as rt:
        for _ in range(RUNS):
            rt.run_until_complete(million())
            gc.collect()
            samples.append((current_rss_bytes(), malloc_bytes_in_use(), len(gc.get_objects())))
    return samples


def test_a_million_tasks_five_times_frees_what_it_allocates():
    samples = measure_runs()
    (_, first_malloc, first_objects), (_, last_malloc, last_objects) = samples[0], samples[-1]
    assert last_malloc <= first_malloc * 1.10, samples
    assert last_objects <= first_objects + 100, samples


@pytest.mark.skipif(
    FREE_THREADED,
    reason='3.13t mimalloc keeps freed object pages: RSS drifts even for pure-Python '
    'f(*(gen() for _ in range(10**6))) with no tonio involved (see docs/benchmarks.md)',
)
def test_a_million_tasks_five_times_keeps_rss_within_ten_percent():
    samples = measure_runs()
    assert samples[-1][0] <= samples[0][0] * 1.10, samples
