"""map, select and as_completed in async syntax."""

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio


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


def test_map_of_one_item_is_still_a_list():
    async def main():
        return await tonio.map(lambda value: value_after(value, 0), [7])

    assert run_bounded(main()) == [7]


def test_select_returns_the_first_result_and_the_rest_have_unwound(threads):
    log = []

    async def main():
        winner = await tonio.select(value_after('slow', 3600, log), value_after('fast', 0.01, log))
        return winner, list(log)

    assert run_bounded(main(), threads=threads) == ('fast', ['slow cancelled'])


def test_select_accepts_waiters():
    async def main():
        event = tonio.Event()

        async def setter():
            await tonio.sleep(0.01)
            event.set()

        tonio.spawn.without_tracking(setter())
        return await tonio.select(event.wait(), tonio.sleep(3600))

    assert run_bounded(main()) is True


def test_select_raises_a_failure_that_comes_first(threads):
    log = []

    async def main():
        await tonio.select(fails_after('first', 0.01), value_after('slow', 3600, log))

    with pytest.raises(ValueError, match='first'):
        run_bounded(main(), threads=threads)
    assert log == ['slow cancelled']


def test_as_completed_yields_results_in_completion_order(threads):
    async def main():
        return [
            value
            async for value in tonio.as_completed(
                value_after(3, 0.03), value_after(1, 0.01), value_after(2, 0.02)
            )
        ]

    assert run_bounded(main(), threads=threads) == [1, 2, 3]


def test_as_completed_raises_a_failure_at_its_turn():
    async def main():
        results = []
        iterator = tonio.as_completed(value_after(1, 0.01), fails_after('second', 0.02))
        results.append(await iterator.__anext__())
        with pytest.raises(ValueError, match='second'):
            await iterator.__anext__()
        with pytest.raises(StopAsyncIteration):
            await iterator.__anext__()
        return results

    assert run_bounded(main()) == [1]


def test_closing_as_completed_cancels_the_rest():
    log = []

    async def main():
        completed = tonio.as_completed(value_after('fast', 0.01), value_after('slow', 3600, log))
        first = None
        async for value in completed:
            first = value
            break
        completed.close()
        await tonio.sleep(0.01)
        return first

    assert run_bounded(main()) == 'fast'
    assert log == ['slow cancelled']
