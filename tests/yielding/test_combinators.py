"""map, select and as_completed in generator syntax."""

import pytest
from tests.conftest import run_bounded

import tonio

pytestmark = pytest.mark.tonio


def value_after(value, seconds, log=None):
    try:
        yield tonio.sleep(seconds)
        return value
    except tonio.CancelledError:
        if log is not None:
            log.append(f'{value} cancelled')
        raise


def fails_after(message, seconds):
    yield tonio.sleep(seconds)
    raise ValueError(message)


def test_map_gathers_results_in_order(threads):
    def main():
        return (yield tonio.map(lambda value: value_after(value, 0.001 * (5 - value)), range(5)))

    assert run_bounded(main(), threads=threads) == [0, 1, 2, 3, 4]


def test_map_of_one_item_is_still_a_list():
    assert (yield tonio.map(lambda value: value_after(value, 0), [7])) == [7]
    assert (yield tonio.map(lambda value: value_after(value, 0), [])) == []


def test_map_raises_the_first_failure():
    with pytest.raises(ValueError, match='1'):
        yield tonio.map(lambda value: fails_after(str(value), 0.01), [1])


def test_select_returns_the_first_result_and_the_rest_have_unwound(threads):
    log = []

    def main():
        winner = yield tonio.select(
            value_after('slow', 3600, log), value_after('fast', 0.01, log), value_after('x', 5, log)
        )
        return winner, sorted(log)

    assert run_bounded(main(), threads=threads) == ('fast', ['slow cancelled', 'x cancelled'])


def test_select_accepts_waiters():
    event = tonio.Event()

    def setter():
        yield tonio.sleep(0.01)
        event.set()

    tonio.spawn.without_tracking(setter())
    assert (yield tonio.select(event.wait(), tonio.sleep(3600))) is True


def test_select_raises_a_failure_that_comes_first(threads):
    log = []

    def main():
        yield tonio.select(fails_after('first', 0.01), value_after('slow', 3600, log))

    with pytest.raises(ValueError, match='first'):
        run_bounded(main(), threads=threads)
    assert log == ['slow cancelled']


def test_select_rejects_bad_arguments():
    with pytest.raises(TypeError, match='at least one'):
        yield tonio.select()
    with pytest.raises(TypeError, match='argument 2'):
        yield tonio.select(value_after(1, 0), 42)


def test_a_cancelled_select_cancels_its_coroutines_before_it_unwinds():
    log = []

    def selecting():
        try:
            yield tonio.select(value_after('a', 3600, log), value_after('b', 3600, log))
        finally:
            log.append('select unwound')

    with tonio.move_on_after(0.01):
        yield selecting()
    assert sorted(log[:2]) == ['a cancelled', 'b cancelled']
    assert log[2] == 'select unwound'


def test_as_completed_yields_results_in_completion_order(threads):
    def main():
        results = []
        for waiter in tonio.as_completed(
            value_after(3, 0.03), value_after(1, 0.01), value_after(2, 0.02)
        ):
            results.append((yield waiter))
        return results

    assert run_bounded(main(), threads=threads) == [1, 2, 3]


def test_as_completed_raises_a_failure_at_its_turn():
    results = []
    for waiter in tonio.as_completed(value_after(1, 0.01), fails_after('second', 0.02)):
        try:
            results.append((yield waiter))
        except ValueError as error:
            results.append(str(error))
    assert results == [1, 'second']


def test_breaking_out_of_as_completed_cancels_the_rest():
    log = []

    def main():
        for waiter in tonio.as_completed(value_after('fast', 0.01), value_after('slow', 3600, log)):
            first = yield waiter
            break
        yield tonio.sleep(0.01)
        return first

    # Checked after the run: the break cancels when the iterator is freed, which free-threaded
    # CPython may defer (an object freed by a thread other than its owner waits for the owner).
    assert run_bounded(main()) == 'fast'
    assert log == ['slow cancelled']
