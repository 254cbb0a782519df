"""Scopes in generator syntax: waiting, cancelling, failures, nesting and deadlines."""

import time

import pytest
from tests.conftest import run_bounded

import tonio


def sleeper(log, name, seconds):
    try:
        yield tonio.sleep(seconds)
        log.append(f'{name} done')
    except tonio.CancelledError:
        log.append(f'{name} cancelled')
        raise


def fails(message, after=0.0):
    yield tonio.sleep(after)
    raise ValueError(message)


def test_yielding_the_scope_waits_for_every_task(threads):
    log = []

    def main():
        with tonio.scope() as s:
            s.spawn(sleeper(log, 'a', 0.02))
            s.spawn(sleeper(log, 'b', 0.01))
        yield s()
        return s.pending, s.cancelled

    assert run_bounded(main(), threads=threads) == (0, False)
    assert sorted(log) == ['a done', 'b done']


def test_the_scope_can_be_waited_for_inside_the_block(threads):
    log = []

    def main():
        with tonio.scope() as s:
            s.spawn(sleeper(log, 'a', 0.01))
            yield s()
            log.append('body goes on')

    run_bounded(main(), threads=threads)
    assert log == ['a done', 'body goes on']


@pytest.mark.parametrize('when', ['before', 'during', 'after'])
def test_cancel_before_during_or_after_spawning_cancels_everything_pending(when, threads):
    log = []

    def main():
        with tonio.scope() as s:
            if when == 'before':
                s.cancel()
            spawned = s.spawn(sleeper(log, 'a', 3600))
            if when == 'during':
                s.cancel()
            spawned_late = s.spawn(sleeper(log, 'b', 3600))
            yield tonio.sleep(0.01)
            if when == 'after':
                s.cancel()
        yield s()
        return spawned, spawned_late

    spawned = run_bounded(main(), threads=threads)
    # Spawning into a cancelled (not yet exited) scope still starts the task, as in trio: it runs
    # to its first suspension point and is cancelled there. So every task ran and none finished.
    assert spawned == (True, True)
    assert sorted(log) == ['a cancelled', 'b cancelled']


def test_spawning_into_an_exited_finished_scope_does_nothing_and_closes_the_coroutine():
    ran = []

    def never():
        ran.append(True)
        yield

    def main():
        with tonio.scope() as s:
            pass
        yield s()
        coroutine = never()
        spawned = s.spawn(coroutine)
        return spawned, coroutine.gi_frame is None

    assert run_bounded(main()) == (False, True)
    assert ran == []


def test_cancelling_a_scope_reaches_tasks_its_tasks_spawned_into_it(threads):
    log = []

    def spawner(s):
        s.spawn(sleeper(log, 'grandchild', 3600))
        yield from sleeper(log, 'child', 3600)

    def main():
        with tonio.scope() as s:
            s.spawn(spawner(s))
            yield tonio.sleep(0.01)
            s.cancel()
        yield s()

    run_bounded(main(), threads=threads)
    assert sorted(log) == ['child cancelled', 'grandchild cancelled']


def test_cancelling_an_outer_scope_reaches_nested_scopes(threads):
    log = []

    def middle():
        with tonio.scope() as inner:
            inner.spawn(sleeper(log, 'inner child', 3600))
            yield inner()
        log.append('not reached')

    def main():
        with tonio.scope() as outer:
            outer.spawn(middle())
            yield tonio.sleep(0.01)
            outer.cancel()
        yield outer()
        return outer.pending

    assert run_bounded(main(), threads=threads) == 0
    assert log == ['inner child cancelled']


def test_cleanup_that_yields_runs_and_the_scope_waits_for_it(threads):
    log = []

    def careful():
        try:
            yield tonio.sleep(3600)
        finally:
            yield tonio.sleep(0.02)
            log.append('cleaned up')

    def main():
        with tonio.scope() as s:
            s.spawn(careful())
            yield tonio.sleep(0.01)
            s.cancel()
        yield s()
        log.append('scope done')

    run_bounded(main(), threads=threads)
    assert log == ['cleaned up', 'scope done']


def test_the_cancel_is_absorbed_by_the_scope_and_the_code_after_it_runs(threads):
    log = []

    def main():
        with tonio.scope() as s:
            s.spawn(sleeper(log, 'a', 3600))
            yield tonio.sleep(0.01)
            s.cancel()
            yield tonio.sleep(3600)
            log.append('not reached')
        log.append('after the scope')
        yield s()

    run_bounded(main(), threads=threads)
    assert sorted(log) == ['a cancelled', 'after the scope']


def test_a_cancel_not_yet_delivered_does_not_leak_past_the_scope():
    def main():
        with tonio.scope() as s:
            s.cancel()
        yield tonio.sleep(0)
        yield tonio.sleep(0.001)
        return 'not cancelled'

    assert run_bounded(main()) == 'not cancelled'


def test_one_failure_is_raised_as_itself_and_cancels_the_rest(threads):
    log = []

    def main():
        with tonio.scope() as s:
            s.spawn(fails('boom', after=0.01))
            s.spawn(sleeper(log, 'sibling', 3600))
        yield s()

    with pytest.raises(ValueError, match='boom'):
        run_bounded(main(), threads=threads)
    assert log == ['sibling cancelled']


def test_several_failures_raise_an_exception_group(threads, unraisable):
    def stubborn(message):
        try:
            yield tonio.sleep(3600)
        finally:
            raise ValueError(message)

    def main():
        with tonio.scope() as s:
            s.spawn(stubborn('a'))
            s.spawn(stubborn('b'))
            s.spawn(fails('first', after=0.01))
        yield s()

    with pytest.raises(BaseExceptionGroup) as caught:
        run_bounded(main(), threads=threads)
    assert sorted(str(error) for error in caught.value.exceptions) == ['a', 'b', 'first']
    assert unraisable == []


def test_a_failure_while_the_owner_waits_inside_the_block_is_raised_not_absorbed(threads):
    def main():
        with tonio.scope() as s:
            s.spawn(fails('inside', after=0.01))
            yield s()

    with pytest.raises(ValueError, match='inside'):
        run_bounded(main(), threads=threads)


def test_failures_nobody_waits_for_are_reported(unraisable):
    def main():
        with tonio.scope() as s:
            s.spawn(fails('unseen'))
        yield tonio.sleep(0.02)
        del s

    run_bounded(main())
    assert [str(report.exc_value) for report in unraisable] == ['unseen']


def test_a_task_that_leaves_a_scope_by_an_exception_finishes_after_its_children(threads):
    log = []

    def child():
        try:
            yield tonio.sleep(3600)
        finally:
            yield tonio.sleep(0.02)
            log.append('child unwound')

    def parent():
        with tonio.scope() as s:
            s.spawn(child())
            yield tonio.sleep(0.01)
            raise KeyError('body')

    def main():
        try:
            yield tonio.spawn(parent())
        except KeyError:
            log.append('parent failed')

    run_bounded(main(), threads=threads)
    assert log == ['child unwound', 'parent failed']


def test_scope_timeout_cancels_everything_and_records_it(threads):
    log = []

    def main():
        with tonio.scope(timeout=0.02) as s:
            s.spawn(sleeper(log, 'a', 3600))
            yield tonio.sleep(3600)
            log.append('not reached')
        yield s()
        return s.timed_out, s.cancelled

    assert run_bounded(main(), threads=threads) == (True, True)
    assert log == ['a cancelled']


def test_scope_timeout_still_bounds_children_waited_for_after_the_block(threads):
    log = []

    def main():
        with tonio.scope(timeout=0.02) as s:
            s.spawn(sleeper(log, 'a', 3600))
        yield s()
        return s.timed_out

    assert run_bounded(main(), threads=threads) is True
    assert log == ['a cancelled']


def test_a_scope_that_finishes_in_time_did_not_time_out():
    def main():
        with tonio.scope(timeout=5) as s:
            s.spawn(sleeper([], 'a', 0.001))
        yield s()
        stats = tonio._tonio._runtime_stats()
        return s.timed_out, s.deadline is not None, stats['timers']

    timed_out, has_deadline, timers = run_bounded(main())
    assert (timed_out, has_deadline) == (False, True)
    assert timers <= 2


def test_move_on_after_carries_on_after_the_block(threads):
    def main():
        with tonio.move_on_after(0.01) as deadline:
            yield tonio.sleep(3600)
            return 'not reached'
        return deadline.timed_out

    assert run_bounded(main(), threads=threads) is True


def test_move_on_after_that_does_not_expire_changes_nothing():
    def main():
        with tonio.move_on_after(5) as deadline:
            yield tonio.sleep(0.001)
        yield tonio.sleep(0.001)
        return deadline.timed_out, deadline.cancelled

    assert run_bounded(main()) == (False, False)


def test_fail_after_raises_timeout_error(threads):
    def main():
        with tonio.fail_after(0.01):
            yield tonio.Event().wait()

    with pytest.raises(TimeoutError, match='deadline'):
        run_bounded(main(), threads=threads)


@pytest.mark.parametrize('outer, inner, expired', [(0.01, 5, 'outer'), (5, 0.01, 'inner')])
def test_nested_deadlines_the_earliest_wins(outer, inner, expired):
    def main():
        log = []
        with tonio.move_on_after(outer) as outer_scope:
            with tonio.move_on_after(inner) as inner_scope:
                yield tonio.sleep(3600)
            log.append('after inner')
        return outer_scope.timed_out, inner_scope.timed_out, log

    outer_timed_out, inner_timed_out, log = run_bounded(main())
    assert (outer_timed_out, inner_timed_out) == (expired == 'outer', expired == 'inner')
    assert log == ([] if expired == 'outer' else ['after inner'])


def test_a_task_cancelled_from_outside_is_not_absorbed_by_its_own_scopes():
    log = []

    def victim():
        with tonio.move_on_after(3600):
            yield tonio.sleep(3600)
        log.append('not reached')

    def main():
        with tonio.scope() as s:
            s.spawn(victim())
            yield tonio.sleep(0.01)
            s.cancel()
        yield s()

    run_bounded(main())
    assert log == []


def test_a_scope_needs_a_task():
    with pytest.raises(RuntimeError, match='runtime'):
        tonio.scope()


def test_bad_timeouts_are_rejected():
    def main():
        with pytest.raises(TypeError, match='scope timeout'):
            tonio.scope(timeout='soon')
        with pytest.raises(ValueError, match='NaN'):
            tonio.move_on_after(float('nan'))
        yield

    run_bounded(main())


def test_spawn_rejects_non_coroutines():
    def main():
        with tonio.scope() as s, pytest.raises(TypeError, match=r'scope\.spawn'):
            s.spawn(42)
        yield s()

    run_bounded(main())


def test_a_scope_can_be_entered_only_once():
    def main():
        s = tonio.scope()
        with s:
            pass
        with pytest.raises(RuntimeError, match='already entered'), s:
            pass
        yield

    run_bounded(main())


@pytest.mark.parametrize('where', ['after returning', 'while unwinding'])
def test_cancelling_a_task_waiting_for_children_of_scopes_it_left_cancels_them(where, threads):
    log = []

    def parent():
        with tonio.scope() as s:
            s.spawn(sleeper(log, 'child', 3600))
        if where == 'while unwinding':
            yield tonio.sleep(3600)
        return 'parent done'

    def main():
        with tonio.move_on_after(0.02) as deadline:
            yield tonio.spawn(parent())
        return deadline.timed_out

    assert run_bounded(main(), threads=threads) is True
    assert log == ['child cancelled']


def test_a_task_that_fails_after_leaving_a_scope_cancels_its_children():
    log = []

    def parent():
        with tonio.scope() as s:
            s.spawn(sleeper(log, 'child', 3600))
        yield
        raise KeyError('after the block')

    def main():
        yield tonio.spawn(parent())

    with pytest.raises(KeyError):
        run_bounded(main())
    assert log == ['child cancelled']


def test_cancelled_caught_is_false_when_the_body_ended_first_or_the_cancel_came_from_outside():
    def victim(scopes):
        with tonio.move_on_after(3600) as inner:
            scopes.append(inner)
            yield tonio.sleep(3600)

    def main():
        with tonio.move_on_after(0.01) as expired:
            yield tonio.sleep(3600)
        with tonio.move_on_after(3600) as finished:
            yield tonio.sleep(0)
        scopes = []
        with tonio.scope() as outer:
            outer.spawn(victim(scopes))
            yield tonio.sleep(0.01)
            outer.cancel()
        yield outer()
        return expired.cancelled_caught, finished.cancelled_caught, scopes[0].cancelled_caught

    assert run_bounded(main()) == (True, False, False)


@pytest.mark.parametrize('wait_for', ['spawn', 'blocking'])
def test_a_task_in_a_cancelled_scope_still_waits_for_what_it_spawns(wait_for, threads):
    # The task swallowed its CancelledError once, so the scope's cancellation is delivered again
    # at its next suspension point: a wait for spawned tasks, which are cancelled and waited for
    # (they unwind first), never left running behind the task; or for a blocking call, which is
    # stopped (at its next bytecode), never left running to its end.
    log = []

    def child():
        try:
            yield tonio.sleep(10)
        finally:
            log.append('child unwinding')
            yield tonio.sleep(0.02)
            log.append('child done')

    def blocking():
        end = time.monotonic() + 0.1
        while time.monotonic() < end:
            time.sleep(0.001)
        log.append('blocking call ran to its end')

    def main():
        with tonio.scope() as scope:
            scope.cancel()
            try:
                yield tonio.sleep(1)
            except tonio.CancelledError:
                log.append('swallowed')
            try:
                if wait_for == 'spawn':
                    yield tonio.spawn(child())
                else:
                    yield tonio.spawn_blocking(blocking)
            except tonio.CancelledError:
                log.append('cancelled')
                raise
        log.append('after the scope')
        yield tonio.sleep(0.2)

    run_bounded(main(), threads=threads)
    if wait_for == 'spawn':
        assert log == ['swallowed', 'child unwinding', 'child done', 'cancelled', 'after the scope']
    else:
        assert log == ['swallowed', 'cancelled', 'after the scope']
