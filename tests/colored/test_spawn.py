import pytest

import tonio.colored as tonio


async def double(value):
    await tonio.yield_now()
    return value * 2


async def fail(message):
    await tonio.yield_now()
    raise ValueError(message)


def test_one_coroutine_gives_its_result():
    async def main():
        return await tonio.spawn(double(21))

    assert tonio.run(main()) == 42


def test_several_coroutines_give_results_in_argument_order(threads):
    async def slow(value, delay):
        await tonio.sleep(delay)
        return value

    async def main():
        return await tonio.spawn(slow('a', 0.03), slow('b', 0.0), slow('c', 0.01))

    assert tonio.run(main(), threads=threads) == ['a', 'b', 'c']


def test_spawned_tasks_start_before_anyone_waits():
    started = []

    async def child():
        started.append(True)
        await tonio.yield_now()

    async def main():
        handle = tonio.spawn(child())
        await tonio.sleep(0.01)
        assert started == [True]
        await handle

    tonio.run(main())


def test_a_spawn_result_can_be_waited_twice():
    async def main():
        handle = tonio.spawn(double(1), double(2))
        first = await handle
        second = await handle
        return first, second, handle.done()

    assert tonio.run(main()) == ([2, 4], [2, 4], True)


def test_no_coroutines_gives_an_empty_list():
    async def main():
        return await tonio.spawn()

    assert tonio.run(main()) == []


def test_without_results_waits_and_discards():
    finished = []

    async def child(index):
        await tonio.sleep(0.01)
        finished.append(index)
        return index

    async def main():
        return await tonio.spawn.without_results(child(1), child(2))

    assert tonio.run(main()) is None
    assert sorted(finished) == [1, 2]


def test_without_results_still_raises():
    async def main():
        await tonio.spawn.without_results(fail('lost?'))

    with pytest.raises(ValueError, match='lost'):
        tonio.run(main())


def test_without_tracking_runs_in_the_background():
    finished = []

    async def child():
        await tonio.sleep(0.01)
        finished.append(True)

    async def main():
        assert tonio.spawn.without_tracking(child()) is None
        await tonio.sleep(0.05)

    tonio.run(main())
    assert finished == [True]


def test_an_error_reaches_whoever_waits():
    async def main():
        try:
            await tonio.spawn(double(1), fail('boom'))
        except ValueError as error:
            return str(error)

    assert tonio.run(main()) == 'boom'


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


def test_a_sub_coroutine_runs_inline_and_returns_its_value():
    async def inner(value):
        await tonio.sleep(0)
        return value + 1

    async def outer():
        first = await inner(1)
        return await inner(first)

    assert tonio.run(outer()) == 3


def test_a_sub_coroutine_exception_unwinds_through_await():
    async def inner():
        await tonio.yield_now()
        raise KeyError('deep')

    async def middle():
        try:
            await inner()
        finally:
            await tonio.sleep(0)

    async def outer():
        try:
            await middle()
        except KeyError as error:
            return error.args[0]

    assert tonio.run(outer()) == 'deep'


def test_a_coroutine_can_await_a_generator_based_task_result():
    def gen_child():
        yield tonio.sleep(0)
        return 'from a generator'

    async def main():
        return await tonio.spawn(gen_child())

    assert tonio.run(main()) == 'from a generator'


@pytest.mark.parametrize('bad', [1, 'text', None, lambda: None])
def test_spawning_a_non_coroutine_raises_type_error(bad):
    async def main():
        child = double(1)
        with pytest.raises(TypeError, match='generator or coroutine'):
            tonio.spawn(child, bad)
        child.close()

    tonio.run(main())


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
