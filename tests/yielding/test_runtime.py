import contextvars

import pytest

import tonio


def answer():
    yield
    return 42


def test_run_returns_the_result():
    assert tonio.run(answer()) == 42


def test_run_raises_the_exception():
    def main():
        yield
        raise LookupError('nope')

    with pytest.raises(LookupError, match='nope'):
        tonio.run(main())


def test_main_decorator_bare_and_with_options():
    @tonio.main
    def bare(x):
        yield
        return x

    @tonio.main(threads=2)
    def configured():
        yield
        return 'configured'

    assert bare(7) == 7
    assert configured() == 'configured'


def test_a_runtime_runs_several_coroutines_with_the_same_workers():
    with tonio.runtime(threads=2) as rt:
        assert rt.threads == 2
        assert rt.run_until_complete(answer()) == 42
        assert rt.run_until_complete(answer()) == 42
    assert rt.closed
    with pytest.raises(RuntimeError, match='closed'):
        rt.run_until_complete(answer())


def test_run_until_complete_accepts_both_syntaxes():
    async def native():
        return 'native'

    with tonio.runtime() as rt:
        assert rt.run_until_complete(answer()) == 42
        assert rt.run_until_complete(native()) == 'native'


@pytest.mark.parametrize('bad', [None, 3, answer])
def test_run_rejects_non_coroutines(bad):
    with pytest.raises(TypeError, match='generator or coroutine'):
        tonio.run(bad)


@pytest.mark.parametrize(
    ('threads', 'error'), [(0, ValueError), (-2, ValueError), ('2', TypeError)]
)
def test_bad_thread_counts_raise(threads, error):
    with pytest.raises(error):
        tonio.runtime(threads=threads)


def test_unknown_options_raise_type_error():
    with pytest.raises(TypeError):
        tonio.runtime(workers=2)


def test_run_inside_a_running_runtime_raises():
    def main():
        inner = answer()
        with pytest.raises(RuntimeError, match='inside a running tonio task'):
            tonio.run(inner)
        inner.close()
        yield
        return 'ok'

    assert tonio.run(main()) == 'ok'


def test_tasks_left_running_are_cancelled_and_unwound_when_main_returns():
    events = []

    def forever():
        try:
            yield tonio.sleep(3600)
        except tonio.CancelledError:
            events.append('cancelled')
            raise
        finally:
            yield tonio.sleep(0.01)  # cleanup may itself wait
            events.append('cleaned up')

    def main():
        tonio.spawn.without_tracking(forever())
        yield tonio.sleep(0.01)
        return 'main done'

    assert tonio.run(main()) == 'main done'
    assert events == ['cancelled', 'cleaned up']


def test_context_option_isolates_context_variables():
    var = contextvars.ContextVar('var', default='unset')

    def child(value):
        var.set(value)
        yield tonio.sleep(0)
        return var.get()

    def main():
        var.set('parent')
        results = yield tonio.spawn(child('a'), child('b'))
        return results, var.get()

    assert tonio.run(main(), context=True) == (['a', 'b'], 'parent')


def test_context_option_copies_the_spawners_context():
    var = contextvars.ContextVar('var', default='unset')

    def child():
        yield
        return var.get()

    def main():
        var.set('inherited')
        return (yield tonio.spawn(child()))

    assert tonio.run(main(), context=True) == 'inherited'


def test_time_is_monotonic_seconds():
    def main():
        before = tonio.time.time()
        yield tonio.sleep(0.02)
        return tonio.time.time() - before

    assert 0.015 <= tonio.run(main()) < 5


@pytest.mark.parametrize('delay', ['1', None, [1]])
def test_sleep_rejects_non_numbers(delay):
    with pytest.raises(TypeError, match='sleep delay'):
        tonio.sleep(delay)


def test_negative_sleep_is_a_yield():
    def main():
        yield tonio.sleep(-5)
        return 'ok'

    assert tonio.run(main()) == 'ok'


def test_bare_yield_lets_other_tasks_run():
    order = []

    def worker(name):
        for step in range(3):
            order.append((name, step))
            yield

    def main():
        yield tonio.spawn(worker('a'), worker('b'))

    tonio.run(main(), threads=1)
    assert order == [('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2), ('b', 2)]


def test_deep_sub_generator_recursion_is_a_python_error():
    def recurse(depth):
        if depth == 0:
            yield
            return 0
        return (yield recurse(depth - 1)) + 1

    assert tonio.run(recurse(2000)) == 2000
    with pytest.raises(RecursionError):
        tonio.run(recurse(20_000))
