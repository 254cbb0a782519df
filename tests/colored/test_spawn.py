import pytest

import tonio.colored as tonio

pytestmark = pytest.mark.tonio


async def double(value):
    await tonio.yield_now()
    return value * 2


async def fail(message):
    await tonio.yield_now()
    raise ValueError(message)


async def test_one_coroutine_gives_its_result():
    assert await tonio.spawn(double(21)) == 42


def test_several_coroutines_give_results_in_argument_order(threads):
    async def slow(value, delay):
        await tonio.sleep(delay)
        return value

    async def main():
        return await tonio.spawn(slow('a', 0.03), slow('b', 0.0), slow('c', 0.01))

    assert tonio.run(main(), threads=threads) == ['a', 'b', 'c']


async def test_spawned_tasks_start_before_anyone_waits():
    started = []

    async def child():
        started.append(True)
        await tonio.yield_now()

    handle = tonio.spawn(child())
    await tonio.sleep(0.01)
    assert started == [True]
    await handle


async def test_a_spawn_result_can_be_waited_twice():
    handle = tonio.spawn(double(1), double(2))
    assert await handle == [2, 4]
    assert await handle == [2, 4]
    assert handle.done()


async def test_no_coroutines_gives_an_empty_list():
    assert await tonio.spawn() == []


async def test_without_results_waits_and_discards():
    finished = []

    async def child(index):
        await tonio.sleep(0.01)
        finished.append(index)
        return index

    assert await tonio.spawn.without_results(child(1), child(2)) is None
    assert sorted(finished) == [1, 2]


async def test_without_results_still_raises():
    with pytest.raises(ValueError, match='lost'):
        await tonio.spawn.without_results(fail('lost?'))


async def test_without_tracking_runs_in_the_background():
    finished = []

    async def child():
        await tonio.sleep(0.01)
        finished.append(True)

    assert tonio.spawn.without_tracking(child()) is None
    await tonio.sleep(0.05)
    assert finished == [True]


async def test_an_error_reaches_whoever_waits():
    with pytest.raises(ValueError, match='boom'):
        await tonio.spawn(double(1), fail('boom'))


def test_several_failures_are_raised_together_and_never_reported(unraisable):
    async def main():
        await tonio.spawn(fail('one'), fail('two'))

    with pytest.raises(ExceptionGroup) as raised:
        tonio.run(main())
    assert sorted(str(error) for error in raised.value.exceptions) == ['one', 'two']
    assert unraisable == []


def test_a_failure_nobody_waits_for_is_reported(unraisable):
    async def main():
        tonio.spawn.without_tracking(fail('untracked'))
        handle = tonio.spawn(fail('ignored'))
        await tonio.sleep(0.02)
        del handle
        await tonio.sleep(0.01)

    tonio.run(main())
    assert sorted(str(report.exc_value) for report in unraisable) == ['ignored', 'untracked']


async def test_a_sub_coroutine_runs_inline_and_returns_its_value():
    async def inner(value):
        await tonio.sleep(0)
        return value + 1

    first = await inner(1)
    assert await inner(first) == 3


async def test_a_sub_coroutine_exception_unwinds_through_await():
    async def inner():
        await tonio.yield_now()
        raise KeyError('deep')

    async def middle():
        try:
            await inner()
        finally:
            await tonio.sleep(0)

    with pytest.raises(KeyError, match='deep'):
        await middle()


async def test_a_coroutine_can_await_a_generator_based_task_result():
    def gen_child():
        yield tonio.sleep(0)
        return 'from a generator'

    assert await tonio.spawn(gen_child()) == 'from a generator'


@pytest.mark.parametrize('bad', [1, 'text', None, lambda: None])
async def test_spawning_a_non_coroutine_raises_type_error(bad):
    child = double(1)
    with pytest.raises(TypeError, match='generator or coroutine'):
        tonio.spawn(child, bad)
    child.close()


async def test_iterating_a_spawn_result_or_a_waiter_raises_instead_of_looping():
    # A forgotten yield/await: unpacking or listing would otherwise get the Waiter forever.
    with pytest.raises(TypeError, match='did you forget a yield or an await'):
        _first, _second = tonio.spawn(double(1), double(2))
    with pytest.raises(TypeError, match='not by iterating it'):
        list(tonio.sleep(0))
    with pytest.raises(TypeError, match='not by iterating it'):
        list(tonio.spawn(double(3)))
    await tonio.sleep(0)


def test_spawn_outside_a_runtime_raises():
    child = double(1)
    with pytest.raises(RuntimeError, match='running on a tonio runtime'):
        tonio.spawn(child)
    child.close()


def test_awaiting_an_asyncio_future_is_refused_by_name():
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        future = loop.create_future()

        async def main():
            with pytest.raises(TypeError, match='asyncio'):
                await future
            return 'ok'

        assert tonio.run(main()) == 'ok'
    finally:
        loop.close()
