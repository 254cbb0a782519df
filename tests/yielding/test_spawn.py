import pytest

import tonio


def double(value):
    yield
    return value * 2


def fail(message):
    yield
    raise ValueError(message)


def test_one_coroutine_gives_its_result():
    def main():
        return (yield tonio.spawn(double(21)))

    assert tonio.run(main()) == 42


def test_several_coroutines_give_results_in_argument_order(threads):
    def slow(value, delay):
        yield tonio.sleep(delay)
        return value

    def main():
        return (yield tonio.spawn(slow('a', 0.03), slow('b', 0.0), slow('c', 0.01)))

    assert tonio.run(main(), threads=threads) == ['a', 'b', 'c']


def test_spawned_tasks_start_before_anyone_waits():
    started = []

    def child():
        started.append(True)
        yield

    def main():
        handle = tonio.spawn(child())
        yield tonio.sleep(0.01)
        assert started == [True]
        yield handle

    tonio.run(main())


def test_a_spawn_result_can_be_waited_twice():
    def main():
        handle = tonio.spawn(double(1), double(2))
        first = yield handle
        second = yield handle
        return first, second, handle.done()

    assert tonio.run(main()) == ([2, 4], [2, 4], True)


def test_no_coroutines_gives_an_empty_list():
    def main():
        return (yield tonio.spawn())

    assert tonio.run(main()) == []


def test_without_results_waits_and_discards():
    finished = []

    def child(index):
        yield tonio.sleep(0.01)
        finished.append(index)
        return index

    def main():
        return (yield tonio.spawn.without_results(child(1), child(2)))

    assert tonio.run(main()) is None
    assert sorted(finished) == [1, 2]


def test_without_results_still_raises():
    def main():
        yield tonio.spawn.without_results(fail('lost?'))

    with pytest.raises(ValueError, match='lost'):
        tonio.run(main())


def test_without_tracking_runs_in_the_background():
    finished = []

    def child():
        yield tonio.sleep(0.01)
        finished.append(True)

    def main():
        assert tonio.spawn.without_tracking(child()) is None
        yield tonio.sleep(0.05)

    tonio.run(main())
    assert finished == [True]


def test_an_error_reaches_whoever_waits():
    def main():
        try:
            yield tonio.spawn(double(1), fail('boom'))
        except ValueError as error:
            return str(error)

    assert tonio.run(main()) == 'boom'


def test_several_failures_are_raised_together_and_never_reported(unraisable):
    def main():
        yield tonio.spawn(fail('one'), fail('two'))

    with pytest.raises(ExceptionGroup) as raised:
        tonio.run(main())
    assert sorted(str(error) for error in raised.value.exceptions) == ['one', 'two']
    assert unraisable == []


def test_a_failure_nobody_waits_for_is_reported(unraisable):
    def main():
        tonio.spawn.without_tracking(fail('untracked'))
        handle = tonio.spawn(fail('ignored'))
        yield tonio.sleep(0.02)
        del handle
        yield tonio.sleep(0.01)

    tonio.run(main())
    assert sorted(str(report.exc_value) for report in unraisable) == ['ignored', 'untracked']


def test_a_sub_generator_runs_inline_and_returns_its_value():
    def inner(value):
        yield tonio.sleep(0)
        return value + 1

    def outer():
        first = yield inner(1)
        second = yield from inner(first)
        return second

    assert tonio.run(outer()) == 3


def test_a_sub_generator_exception_unwinds_like_yield_from():
    def inner():
        yield
        raise KeyError('deep')

    def middle():
        try:
            yield inner()
        finally:
            yield tonio.sleep(0)

    def outer():
        try:
            yield middle()
        except KeyError as error:
            return error.args[0]

    assert tonio.run(outer()) == 'deep'


def test_a_generator_can_yield_a_coroutine_inline():
    async def native():
        return 'native'

    def main():
        return (yield native())

    assert tonio.run(main()) == 'native'


@pytest.mark.parametrize('bad', [1, 'text', None, lambda: None])
def test_spawning_a_non_coroutine_raises_type_error(bad):
    def main():
        with pytest.raises(TypeError, match='generator or coroutine'):
            tonio.spawn(double(1), bad)
        yield

    tonio.run(main())


def test_spawn_outside_a_runtime_raises():
    child = double(1)
    with pytest.raises(RuntimeError, match='running on a tonio runtime'):
        tonio.spawn(child)
    child.close()


@pytest.mark.parametrize(
    ('yielded', 'match'),
    [([1, 2], 'list'), (3.5, 'float'), (object(), 'object')],
)
def test_yielding_something_else_throws_type_error_into_the_task(yielded, match):
    def main():
        with pytest.raises(TypeError, match=match):
            yield yielded
        return 'survived'

    assert tonio.run(main()) == 'survived'


def test_yielding_an_asyncio_future_is_refused_by_name():
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        future = loop.create_future()

        def main():
            with pytest.raises(TypeError, match='asyncio'):
                yield future
            return 'ok'

        assert tonio.run(main()) == 'ok'
    finally:
        loop.close()
