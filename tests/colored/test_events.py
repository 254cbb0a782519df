import threading

import pytest
from tests.conftest import run_bounded

import tonio.colored as tonio

pytestmark = pytest.mark.tonio


def test_set_clear_report_whether_they_changed_the_flag():
    event = tonio.Event()
    assert event.set() is True
    assert event.set() is False
    assert event.clear() is True
    assert event.clear() is False


def test_wait_resumes_with_true_once_set(threads):
    event = tonio.Event()
    order = []

    async def waiter():
        result = await event.wait()
        order.append('woken')
        return result

    async def setter():
        await tonio.sleep(0.01)
        order.append('set')
        event.set()

    async def main():
        return await tonio.spawn(waiter(), setter())

    assert tonio.run(main(), threads=threads) == [True, None]
    assert order == ['set', 'woken']


async def test_wait_on_a_set_event_returns_at_once():
    event = tonio.Event()
    event.set()
    assert await event.wait() is True
    assert await event.wait(timeout=0) is True


async def test_wait_times_out_with_false():
    start = tonio.time.time()
    result = await tonio.Event().wait(timeout=0.05)
    assert result is False
    assert tonio.time.time() - start >= 0.045


async def test_zero_and_negative_timeouts_poll():
    assert await tonio.Event().wait(0) is False
    assert await tonio.Event().wait(-1) is False


def test_set_wakes_every_waiter_exactly_once(threads):
    event = tonio.Event()
    woken = []

    async def waiter(index):
        await event.wait()
        woken.append(index)

    async def main():
        handle = tonio.spawn(*(waiter(i) for i in range(200)))
        await tonio.sleep(0.01)
        event.set()
        await handle

    tonio.run(main(), threads=threads)
    assert sorted(woken) == list(range(200))


async def test_set_from_a_plain_python_thread():
    event = tonio.Event()
    thread = threading.Timer(0.02, event.set)
    thread.start()
    result = await event.wait(timeout=5)
    thread.join()
    assert result is True


async def test_a_timed_out_wait_leaves_the_event_usable():
    event = tonio.Event()
    assert await event.wait(0.01) is False
    tonio.spawn.without_tracking(setter(event, 0.01))
    assert await event.wait(5) is True


async def test_waiter_alias_matches_tonio():
    event = tonio.Event()
    event.set()
    assert await event.waiter() is True


async def test_a_waiter_awaited_twice_raises_runtime_error():
    waiter = tonio.sleep(0)
    await waiter
    with pytest.raises(RuntimeError, match='only once'):
        await waiter


@pytest.mark.parametrize(
    ('timeout', 'error'),
    [('soon', TypeError), (float('nan'), ValueError), ([], TypeError)],
)
def test_bad_timeouts_raise(timeout, error):
    with pytest.raises(error, match='timeout'):
        tonio.Event().wait(timeout)


async def setter(event, after=0.005):
    await tonio.sleep(after)
    event.set()


def test_any_resumes_with_the_index_of_the_operand_that_fired(threads):
    a, b, c = tonio.Event(), tonio.Event(), tonio.Event()

    async def main():
        tonio.spawn.without_tracking(setter(c))
        chained = await (a.wait() | b.wait() | c.wait())
        with_sleep = await tonio.Waiter.any(tonio.sleep(3600), a, c)
        nested = await tonio.Waiter.any(tonio.Waiter.any(a, b), c.wait())
        timed_out = await tonio.Waiter.any(a, b, timeout=0.001)
        return chained, with_sleep, nested, timed_out, a.waiting, b.waiting

    assert run_bounded(main(), threads=threads) == (2, 2, 1, None, 0, 0)


def test_all_resumes_once_every_operand_fired(threads):
    a, b, c = tonio.Event(), tonio.Event(), tonio.Event()

    async def main():
        tonio.spawn.without_tracking(setter(a), setter(b, 0.01), setter(c, 0.015))
        every = await (tonio.Waiter(a, b) & c.wait())
        late = await tonio.Waiter.all(a, tonio.Event(), timeout=0.001)
        return every, late

    assert run_bounded(main(), threads=threads) == (True, False)


def test_an_any_inside_an_all_counts_once_and_leaves_nothing_parked(threads):
    async def main():
        e1, e2, e3 = tonio.Event(), tonio.Event(), tonio.Event()
        e1.set()
        timed_out = await tonio.Waiter.all(e1.wait() | e2.wait(), e3.wait(), timeout=0.01)
        f1, f2, f3 = tonio.Event(), tonio.Event(), tonio.Event()
        tonio.spawn.without_tracking(setter(f1), setter(f2, 0.01), setter(f3, 0.02))
        done = await ((f1.wait() | f2.wait()) & f3.wait())
        return timed_out, done, [event.waiting for event in (e2, e3, f1, f2, f3)]

    assert run_bounded(main(), threads=threads) == (False, True, [0] * 5)


def test_a_spawn_result_can_be_combined(threads):
    async def slow():
        await tonio.sleep(0.01)
        return 'slow'

    async def main():
        stop = tonio.Event()
        handle = tonio.spawn(slow())
        fired = await tonio.Waiter.any(handle, stop)
        return fired, await handle

    assert run_bounded(main(), threads=threads) == (0, 'slow')


async def test_waits_that_hand_something_over_cannot_be_combined():
    with pytest.raises(TypeError, match='cannot combine a yield_now'):
        tonio.Waiter.any(tonio.yield_now())
    with pytest.raises(TypeError, match='takes Events and Waiters'):
        tonio.Waiter.any(tonio.Event(), 'x')
    with pytest.raises(TypeError, match='cannot combine a sleep'):
        tonio.Waiter.all(tonio.sleep(1))
    waiter = tonio.Event().wait()
    combined = waiter | tonio.Event().wait()
    with pytest.raises(RuntimeError, match='only once'):
        await waiter  # consumed by the combination
    assert await tonio.Waiter.any(combined, timeout=0) is None


def test_a_checkpoint_lets_another_task_cancel_the_one_that_passed_it(threads):
    log = []

    async def victim(checkpoint):
        try:
            await checkpoint
            log.append('passed')
            await tonio.sleep(3600)
        except tonio.CancelledError:
            log.append('cancelled')
            raise

    async def main():
        checkpoint = tonio.Waiter.checkpoint()
        handle = tonio.spawn(victim(checkpoint))
        await tonio.sleep(0.005)
        aborted = checkpoint.abort()
        with pytest.raises(tonio.CancelledError):
            await handle
        early = tonio.Waiter.checkpoint()
        early.unwind()
        with pytest.raises(tonio.CancelledError):
            await tonio.spawn(victim(early))
        return aborted

    assert run_bounded(main(), threads=threads) is True
    assert log == ['passed', 'cancelled', 'cancelled']
