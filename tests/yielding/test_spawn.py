import pytest

import tonio

pytestmark = pytest.mark.tonio


def double(value):
    yield
    return value * 2


def fail(message):
    yield
    raise ValueError(message)


def test_one_coroutine_gives_its_result():
    assert (yield tonio.spawn(double(21))) == 42


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

    handle = tonio.spawn(child())
    yield tonio.sleep(0.01)
    assert started == [True]
    yield handle


def test_a_spawn_result_can_be_waited_twice():
    handle = tonio.spawn(double(1), double(2))
    assert (yield handle) == [2, 4]
    assert (yield handle) == [2, 4]
    assert handle.done()


def test_no_coroutines_gives_an_empty_list():
    assert (yield tonio.spawn()) == []


def test_without_results_waits_and_discards():
    finished = []

    def child(index):
        yield tonio.sleep(0.01)
        finished.append(index)
        return index

    assert (yield tonio.spawn.without_results(child(1), child(2))) is None
    assert sorted(finished) == [1, 2]


def test_without_results_still_raises():
    with pytest.raises(ValueError, match='lost'):
        yield tonio.spawn.without_results(fail('lost?'))


def test_without_tracking_runs_in_the_background():
    finished = []

    def child():
        yield tonio.sleep(0.01)
        finished.append(True)

    assert tonio.spawn.without_tracking(child()) is None
    yield tonio.sleep(0.05)
    assert finished == [True]


def test_an_error_reaches_whoever_waits():
    with pytest.raises(ValueError, match='boom'):
        yield tonio.spawn(double(1), fail('boom'))


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

    first = yield inner(1)
    second = yield from inner(first)
    assert second == 3


def test_a_sub_generator_exception_unwinds_like_yield_from():
    def inner():
        yield
        raise KeyError('deep')

    def middle():
        try:
            yield inner()
        finally:
            yield tonio.sleep(0)

    with pytest.raises(KeyError, match='deep'):
        yield middle()


def test_a_generator_can_yield_a_coroutine_inline():
    async def native():
        return 'native'

    assert (yield native()) == 'native'


@pytest.mark.parametrize('bad', [1, 'text', None, lambda: None])
def test_spawning_a_non_coroutine_raises_type_error(bad):
    with pytest.raises(TypeError, match='generator or coroutine'):
        tonio.spawn(double(1), bad)
    yield


def test_iterating_a_spawn_result_or_a_waiter_raises_instead_of_looping():
    # A forgotten yield/await: unpacking or listing would otherwise get the Waiter forever.
    with pytest.raises(TypeError, match='did you forget a yield or an await'):
        _first, _second = tonio.spawn(double(1), double(2))
    with pytest.raises(TypeError, match='not by iterating it'):
        list(tonio.sleep(0))
    with pytest.raises(TypeError, match='not by iterating it'):
        list(tonio.spawn(double(3)))
    yield tonio.sleep(0)


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
    with pytest.raises(TypeError, match=match):
        yield yielded


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
