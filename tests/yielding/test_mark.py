"""tonio.mark in generator syntax: blocking, max_concurrency and cpu_bound."""

import threading
import time

import pytest

import tonio
from tonio._tonio import _runtime_stats

pytestmark = pytest.mark.tonio


class Gauge:
    """How many calls run at once, and the most that ever did."""

    def __init__(self):
        self.lock = threading.Lock()
        self.now = self.most = 0

    def enter(self):
        with self.lock:
            self.now += 1
            self.most = max(self.most, self.now)

    def leave(self):
        with self.lock:
            self.now -= 1


@tonio.mark.blocking
def on_the_pool(value, *, plus=0):
    """Runs on a blocking thread."""
    return value + plus, threading.get_ident(), _runtime_stats()['blocking_in_flight']


def test_blocking_runs_the_function_on_the_blocking_pool():
    value, thread, in_flight = yield on_the_pool(1, plus=2)
    assert value == 3
    assert thread != threading.get_ident()
    assert in_flight == 1
    assert (on_the_pool.__name__, on_the_pool.__doc__) == (
        'on_the_pool',
        'Runs on a blocking thread.',
    )


def test_blocking_starts_nothing_until_waited_on_and_can_be_spawned():
    ran = []

    @tonio.mark.blocking
    def record(value):
        ran.append(value)
        return value

    pending = record('never')
    yield tonio.sleep(0.01)
    assert ran == []
    pending.close()
    assert (yield tonio.spawn(record(1), record(2))) == [1, 2]
    assert (yield from record(3)) == 3


def test_max_concurrency_limits_generator_coroutines():
    gauge = Gauge()

    @tonio.mark.max_concurrency(2)
    def limited(value):
        gauge.enter()
        yield tonio.sleep(0.005)
        gauge.leave()
        return value

    assert (yield tonio.spawn(*(limited(i) for i in range(8)))) == list(range(8))
    assert gauge.most == 2


def test_max_concurrency_takes_turns_first_come_first_served():
    order = []
    gate = tonio.Event()

    @tonio.mark.max_concurrency(1)
    def one_at_a_time(value):
        order.append(value)
        yield gate.wait()

    # Spawned one by one, so they queue in this order behind the first.
    handles = []
    for value in range(5):
        handles.append(tonio.spawn(one_at_a_time(value)))
        yield tonio.sleep(0.002)
    gate.set()
    for handle in handles:
        assert (yield handle) is None
    assert order == list(range(5))


def test_a_failing_call_gives_its_turn_back():
    @tonio.mark.max_concurrency(1)
    def fails():
        yield tonio.sleep(0)
        raise ValueError('inside')

    for _ in range(3):
        with pytest.raises(ValueError, match='inside'):
            yield fails()


def test_a_call_cancelled_while_waiting_for_its_turn_leaves_no_trace():
    gate = tonio.Event()
    started = []

    @tonio.mark.max_concurrency(1)
    def slow(value):
        started.append(value)
        yield gate.wait()
        return value

    first = tonio.spawn(slow('first'))
    yield tonio.sleep(0.005)
    with tonio.move_on_after(0.01) as deadline:
        yield slow('cancelled while queued')
    assert deadline.timed_out
    gate.set()
    assert (yield first) == 'first'
    assert (yield slow('after')) == 'after'
    assert started == ['first', 'after']


def test_max_concurrency_takes_anything_that_returns_something_to_wait_on():
    gauge = Gauge()

    def sleeper(value):
        gauge.enter()
        time.sleep(0.01)
        gauge.leave()
        return value

    limited = tonio.mark.max_concurrency(1)(lambda value: tonio.spawn_blocking(sleeper, value))
    assert (yield tonio.spawn(*(limited(i) for i in range(4)))) == list(range(4))
    assert gauge.most == 1

    not_awaitable = tonio.mark.max_concurrency(1)(lambda: 5)
    with pytest.raises(TypeError, match=r'max_concurrency\(\).*must be a coroutine'):
        yield not_awaitable()
    assert (yield limited('still free')) == 'still free'


def test_cpu_bound_is_blocking_with_a_limit():
    gauge = Gauge()

    @tonio.mark.cpu_bound(2)
    def crunch(value):
        gauge.enter()
        time.sleep(0.01)
        gauge.leave()
        return value * value, threading.get_ident()

    results = yield tonio.spawn(*(crunch(i) for i in range(6)))
    assert [square for square, _ in results] == [i * i for i in range(6)]
    assert threading.get_ident() not in {thread for _, thread in results}
    assert gauge.most == 2

    unlimited = tonio.mark.cpu_bound()(lambda: 'no limit')
    assert (yield unlimited()) == 'no limit'


@pytest.mark.parametrize(
    ('limit', 'error'),
    [(0, ValueError), (-1, ValueError), (True, TypeError), (1.5, TypeError), ('2', TypeError)],
)
def test_bad_limits_raise_at_decoration(limit, error):
    with pytest.raises(error, match='concurrency limit'):
        tonio.mark.max_concurrency(limit)
    with pytest.raises(error, match='concurrency limit'):
        tonio.mark.cpu_bound(limit)


def test_decorating_something_not_callable_is_a_type_error():
    with pytest.raises(TypeError, match=r'blocking\(\) decorates a function, not int'):
        tonio.mark.blocking(5)
    with pytest.raises(TypeError, match=r'max_concurrency\(\) decorates a function'):
        tonio.mark.max_concurrency(1)('x')
    with pytest.raises(TypeError, match=r'cpu_bound\(\) decorates a function'):
        tonio.mark.cpu_bound(1)(None)
