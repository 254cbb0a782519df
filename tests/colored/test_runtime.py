import contextvars

import pytest

import tonio.colored as tonio


async def answer():
    await tonio.yield_now()
    return 42


def test_run_returns_the_result():
    assert tonio.run(answer()) == 42


def test_run_raises_the_exception():
    async def main():
        await tonio.yield_now()
        raise LookupError('nope')

    with pytest.raises(LookupError, match='nope'):
        tonio.run(main())


def test_main_decorator_bare_and_with_options():
    @tonio.main
    async def bare(x):
        await tonio.yield_now()
        return x

    @tonio.main(threads=2)
    async def configured():
        return 'configured'

    assert bare(7) == 7
    assert configured() == 'configured'


def test_a_runtime_runs_several_coroutines_with_the_same_workers():
    with tonio.runtime(threads=2) as rt:
        assert rt.run_until_complete(answer()) == 42
        assert rt.run_until_complete(answer()) == 42
    unstarted = answer()
    with pytest.raises(RuntimeError, match='closed'):
        rt.run_until_complete(unstarted)
    unstarted.close()


def test_run_until_complete_accepts_both_syntaxes():
    def generator():
        yield
        return 'generator'

    with tonio.runtime() as rt:
        assert rt.run_until_complete(answer()) == 42
        assert rt.run_until_complete(generator()) == 'generator'


@pytest.mark.parametrize('bad', [None, 3, answer])
def test_run_rejects_non_coroutines(bad):
    with pytest.raises(TypeError, match='generator or coroutine'):
        tonio.run(bad)


def test_run_inside_a_running_runtime_raises():
    async def main():
        inner = answer()
        with pytest.raises(RuntimeError, match='inside a running tonio task'):
            tonio.run(inner)
        inner.close()
        return 'ok'

    assert tonio.run(main()) == 'ok'


def test_tasks_left_running_are_cancelled_and_unwound_when_main_returns():
    events = []

    async def forever():
        try:
            await tonio.sleep(3600)
        except tonio.CancelledError:
            events.append('cancelled')
            raise
        finally:
            await tonio.sleep(0.01)  # cleanup may itself wait
            events.append('cleaned up')

    async def main():
        tonio.spawn.without_tracking(forever())
        await tonio.sleep(0.01)
        return 'main done'

    assert tonio.run(main()) == 'main done'
    assert events == ['cancelled', 'cleaned up']


def test_context_option_isolates_context_variables():
    var = contextvars.ContextVar('var', default='unset')

    async def child(value):
        var.set(value)
        await tonio.sleep(0)
        return var.get()

    async def main():
        var.set('parent')
        results = await tonio.spawn(child('a'), child('b'))
        return results, var.get()

    assert tonio.run(main(), context=True) == (['a', 'b'], 'parent')


def test_time_is_monotonic_seconds():
    async def main():
        before = tonio.time.time()
        await tonio.time.sleep(0.02)
        return tonio.time.time() - before

    assert 0.015 <= tonio.run(main()) < 5


@pytest.mark.parametrize('delay', ['1', None, [1]])
def test_sleep_rejects_non_numbers(delay):
    with pytest.raises(TypeError, match='sleep delay'):
        tonio.sleep(delay)


def test_yield_now_lets_other_tasks_run():
    order = []

    async def worker(name):
        for step in range(3):
            order.append((name, step))
            await tonio.yield_now()

    async def main():
        await tonio.spawn(worker('a'), worker('b'))

    tonio.run(main(), threads=1)
    assert order == [('a', 0), ('b', 0), ('a', 1), ('b', 1), ('a', 2), ('b', 2)]
