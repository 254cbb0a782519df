"""map, select and as_completed in async syntax."""

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio

pytestmark = pytest.mark.tonio


async def value_after(value, seconds, log=None):
    try:
        await tonio.sleep(seconds)
        return value
    except tonio.CancelledError:
        if log is not None:
            log.append(f'{value} cancelled')
        raise


async def fails_after(message, seconds):
    await tonio.sleep(seconds)
    raise ValueError(message)


def test_map_gathers_results_in_order(threads):
    async def main():
        return await tonio.map(lambda value: value_after(value, 0.001 * (5 - value)), range(5))

    assert run_bounded(main(), threads=threads) == [0, 1, 2, 3, 4]


async def test_map_of_one_item_is_still_a_list():
    assert await tonio.map(lambda value: value_after(value, 0), [7]) == [7]
    assert await tonio.map(lambda value: value_after(value, 0), []) == []


async def test_map_raises_the_first_failure():
    with pytest.raises(ValueError, match='1'):
        await tonio.map(lambda value: fails_after(str(value), 0.01), [1])


def test_select_returns_the_first_result_and_the_rest_have_unwound(threads):
    log = []

    async def main():
        winner = await tonio.select(value_after('slow', 3600, log), value_after('fast', 0.01, log))
        return winner, list(log)

    assert run_bounded(main(), threads=threads) == ('fast', ['slow cancelled'])


async def test_select_accepts_waiters():
    event = tonio.Event()

    async def setter():
        await tonio.sleep(0.01)
        event.set()

    tonio.spawn.without_tracking(setter())
    assert await tonio.select(event.wait(), tonio.sleep(3600)) is True


def test_select_raises_a_failure_that_comes_first(threads):
    log = []

    async def main():
        await tonio.select(fails_after('first', 0.01), value_after('slow', 3600, log))

    with pytest.raises(ValueError, match='first'):
        run_bounded(main(), threads=threads)
    assert log == ['slow cancelled']


async def test_select_rejects_bad_arguments():
    with pytest.raises(TypeError, match='at least one'):
        await tonio.select()
    with pytest.raises(TypeError, match='argument 2'):
        await tonio.select(value_after(1, 0), 42)


async def test_a_cancelled_select_cancels_its_coroutines_before_it_unwinds():
    log = []

    async def selecting():
        try:
            await tonio.select(value_after('a', 3600, log), value_after('b', 3600, log))
        finally:
            log.append('select unwound')

    async with tonio.move_on_after(0.01):
        await selecting()
    assert sorted(log[:2]) == ['a cancelled', 'b cancelled']
    assert log[2] == 'select unwound'


def test_as_completed_yields_results_in_completion_order(threads):
    async def main():
        return [
            value
            async for value in tonio.as_completed(
                value_after(3, 0.03), value_after(1, 0.01), value_after(2, 0.02)
            )
        ]

    assert run_bounded(main(), threads=threads) == [1, 2, 3]


async def test_as_completed_raises_a_failure_at_its_turn():
    iterator = tonio.as_completed(value_after(1, 0.01), fails_after('second', 0.02))
    assert await iterator.__anext__() == 1
    with pytest.raises(ValueError, match='second'):
        await iterator.__anext__()
    with pytest.raises(StopAsyncIteration):
        await iterator.__anext__()


async def test_closing_as_completed_cancels_the_rest():
    log = []
    completed = tonio.as_completed(value_after('fast', 0.01), value_after('slow', 3600, log))
    first = None
    async for value in completed:
        first = value
        break
    completed.close()
    await tonio.sleep(0.01)
    assert first == 'fast'
    assert log == ['slow cancelled']
