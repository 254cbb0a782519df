"""Scopes in async syntax: leaving `async with` waits; cancelling, failures, nesting, deadlines."""

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio


async def sleeper(log, name, seconds):
    try:
        await tonio.sleep(seconds)
        log.append(f'{name} done')
    except tonio.CancelledError:
        log.append(f'{name} cancelled')
        raise


async def fails(message, after=0.0):
    await tonio.sleep(after)
    raise ValueError(message)


def test_leaving_async_with_waits_for_every_task(threads):
    log = []

    async def main():
        async with tonio.scope() as s:
            s.spawn(sleeper(log, 'a', 0.02))
            s.spawn(sleeper(log, 'b', 0.01))
        log.append('left')
        return s.pending, s.cancelled

    assert run_bounded(main(), threads=threads) == (0, False)
    assert log == ['b done', 'a done', 'left'] or sorted(log[:2]) == ['a done', 'b done']
    assert log[-1] == 'left'


def test_a_plain_with_does_not_wait_and_awaiting_the_scope_does(threads):
    log = []

    async def main():
        with tonio.scope() as s:
            s.spawn(sleeper(log, 'a', 0.01))
        log.append('left')
        await s()

    run_bounded(main(), threads=threads)
    assert log == ['left', 'a done']


@pytest.mark.parametrize('when', ['before', 'during', 'after'])
def test_cancel_before_during_or_after_spawning_cancels_everything_pending(when, threads):
    log = []

    async def main():
        async with tonio.scope() as s:
            if when == 'before':
                s.cancel()
            spawned = s.spawn(sleeper(log, 'a', 3600))
            if when == 'during':
                s.cancel()
            spawned_late = s.spawn(sleeper(log, 'b', 3600))
            await tonio.sleep(0.01)
            if when == 'after':
                s.cancel()
        return spawned, spawned_late

    spawned = run_bounded(main(), threads=threads)
    # Spawning into a cancelled (not yet exited) scope still starts the task, as in trio: it runs
    # to its first suspension point and is cancelled there. So every task ran and none finished.
    assert spawned == (True, True)
    assert sorted(log) == ['a cancelled', 'b cancelled']


def test_spawning_into_an_exited_scope_does_nothing():
    ran = []

    async def never():
        ran.append(True)

    async def main():
        async with tonio.scope() as s:
            pass
        coroutine = never()
        return s.spawn(coroutine), coroutine.cr_frame is None

    assert run_bounded(main()) == (False, True)
    assert ran == []


def test_cancelling_a_scope_reaches_tasks_its_tasks_spawned_into_it(threads):
    log = []

    async def spawner(s):
        s.spawn(sleeper(log, 'grandchild', 3600))
        await sleeper(log, 'child', 3600)

    async def main():
        async with tonio.scope() as s:
            s.spawn(spawner(s))
            await tonio.sleep(0.01)
            s.cancel()

    run_bounded(main(), threads=threads)
    assert sorted(log) == ['child cancelled', 'grandchild cancelled']


def test_cancelling_an_outer_scope_reaches_nested_scopes(threads):
    log = []

    async def middle():
        async with tonio.scope() as inner:
            inner.spawn(sleeper(log, 'inner child', 3600))
        log.append('not reached')

    async def main():
        async with tonio.scope() as outer:
            outer.spawn(middle())
            await tonio.sleep(0.01)
            outer.cancel()
        return outer.pending

    assert run_bounded(main(), threads=threads) == 0
    assert log == ['inner child cancelled']


def test_cleanup_that_awaits_runs_and_the_scope_waits_for_it(threads):
    log = []

    async def careful():
        try:
            await tonio.sleep(3600)
        finally:
            await tonio.sleep(0.02)
            log.append('cleaned up')

    async def main():
        async with tonio.scope() as s:
            s.spawn(careful())
            await tonio.sleep(0.01)
            s.cancel()
        log.append('scope done')

    run_bounded(main(), threads=threads)
    assert log == ['cleaned up', 'scope done']


def test_the_body_is_cancelled_and_the_scope_absorbs_it(threads):
    async def main():
        async with tonio.scope() as s:
            s.cancel()
            await tonio.Event().wait()
            return 'not reached'
        return 'after the scope'

    assert run_bounded(main(), threads=threads) == 'after the scope'


def test_one_failure_is_raised_as_itself_and_cancels_the_rest(threads):
    log = []

    async def main():
        async with tonio.scope() as s:
            s.spawn(fails('boom', after=0.01))
            s.spawn(sleeper(log, 'sibling', 3600))

    with pytest.raises(ValueError, match='boom'):
        run_bounded(main(), threads=threads)
    assert log == ['sibling cancelled']


def test_several_failures_raise_an_exception_group(threads, unraisable):
    async def stubborn(message):
        try:
            await tonio.sleep(3600)
        finally:
            raise ValueError(message)

    async def main():
        async with tonio.scope() as s:
            s.spawn(stubborn('a'))
            s.spawn(stubborn('b'))
            s.spawn(fails('first', after=0.01))

    with pytest.raises(BaseExceptionGroup) as caught:
        run_bounded(main(), threads=threads)
    assert sorted(str(error) for error in caught.value.exceptions) == ['a', 'b', 'first']
    assert unraisable == []


def test_an_error_in_the_body_cancels_the_children_and_waits_for_them(threads):
    log = []

    async def main():
        async with tonio.scope() as s:
            s.spawn(sleeper(log, 'a', 3600))
            await tonio.sleep(0.01)
            raise KeyError('body')

    with pytest.raises(KeyError):
        run_bounded(main(), threads=threads)
    assert log == ['a cancelled']


def test_scope_timeout_cancels_everything_and_records_it(threads):
    log = []

    async def main():
        async with tonio.scope(timeout=0.02) as s:
            s.spawn(sleeper(log, 'a', 3600))
            await tonio.sleep(3600)
            log.append('not reached')
        return s.timed_out, s.cancelled

    assert run_bounded(main(), threads=threads) == (True, True)
    assert log == ['a cancelled']


def test_move_on_after_carries_on_after_the_block(threads):
    async def main():
        with tonio.move_on_after(0.01) as deadline:
            await tonio.sleep(3600)
            return 'not reached'
        return deadline.timed_out

    assert run_bounded(main(), threads=threads) is True


def test_fail_after_raises_timeout_error(threads):
    async def main():
        with tonio.fail_after(0.01):
            await tonio.Event().wait()

    with pytest.raises(TimeoutError, match='deadline'):
        run_bounded(main(), threads=threads)


def test_async_fail_after_raises_timeout_error_after_the_children_unwound():
    log = []

    async def main():
        async with tonio.fail_after(0.01) as s:
            s.spawn(sleeper(log, 'a', 3600))
            await tonio.sleep(3600)

    with pytest.raises(TimeoutError):
        run_bounded(main())
    assert log == ['a cancelled']


@pytest.mark.parametrize('outer, inner, expired', [(0.01, 5, 'outer'), (5, 0.01, 'inner')])
def test_nested_deadlines_the_earliest_wins(outer, inner, expired):
    async def main():
        log = []
        with tonio.move_on_after(outer) as outer_scope:
            async with tonio.scope(timeout=inner) as inner_scope:
                await tonio.sleep(3600)
            log.append('after inner')
        return outer_scope.timed_out, inner_scope.timed_out, log

    outer_timed_out, inner_timed_out, log = run_bounded(main())
    assert (outer_timed_out, inner_timed_out) == (expired == 'outer', expired == 'inner')
    assert log == ([] if expired == 'outer' else ['after inner'])


def test_a_task_cancelled_from_outside_is_not_absorbed_by_its_own_scopes():
    log = []

    async def victim():
        with tonio.move_on_after(3600):
            await tonio.sleep(3600)
        log.append('not reached')

    async def main():
        async with tonio.scope() as s:
            s.spawn(victim())
            await tonio.sleep(0.01)
            s.cancel()

    run_bounded(main())
    assert log == []


def test_cancelled_caught_says_whether_the_scope_cut_its_body_short():
    async def main():
        async with tonio.scope() as cancelled:
            cancelled.cancel()
            await tonio.Event().wait()
        with tonio.move_on_after(0.01) as expired:
            await tonio.sleep(3600)
        with tonio.move_on_after(3600) as finished:
            await tonio.sleep(0)
        async with tonio.scope() as cancelled_too_late:
            await tonio.sleep(0)
        cancelled_too_late.cancel()
        return [
            (s.cancelled, s.cancelled_caught)
            for s in (cancelled, expired, finished, cancelled_too_late)
        ]

    assert run_bounded(main()) == [(True, True), (True, True), (False, False), (True, False)]
