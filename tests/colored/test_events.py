import threading

import pytest

import tonio.colored as tonio


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


def test_wait_on_a_set_event_returns_at_once():
    event = tonio.Event()
    event.set()

    async def main():
        return await event.wait(), await event.wait(timeout=0)

    assert tonio.run(main()) == (True, True)


def test_wait_times_out_with_false():
    async def main():
        start = tonio.time.time()
        result = await tonio.Event().wait(timeout=0.05)
        return result, tonio.time.time() - start

    result, elapsed = tonio.run(main())
    assert result is False
    assert elapsed >= 0.045


def test_zero_and_negative_timeouts_poll():
    async def main():
        return await tonio.Event().wait(0), await tonio.Event().wait(-1)

    assert tonio.run(main()) == (False, False)


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


def test_set_from_a_plain_python_thread():
    event = tonio.Event()

    async def main():
        thread = threading.Timer(0.02, event.set)
        thread.start()
        result = await event.wait(timeout=5)
        thread.join()
        return result

    assert tonio.run(main()) is True


def test_a_timed_out_wait_leaves_the_event_usable():
    event = tonio.Event()

    async def main():
        first = await event.wait(0.01)
        tonio.spawn.without_tracking(setter())
        second = await event.wait(5)
        return first, second

    async def setter():
        await tonio.sleep(0.01)
        event.set()

    assert tonio.run(main()) == (False, True)


def test_waiter_alias_matches_tonio():
    event = tonio.Event()
    event.set()

    async def main():
        return await event.waiter()

    assert tonio.run(main()) is True


def test_a_waiter_awaited_twice_raises_runtime_error():
    async def main():
        waiter = tonio.sleep(0)
        await waiter
        with pytest.raises(RuntimeError, match='only once'):
            await waiter
        return 'ok'

    assert tonio.run(main()) == 'ok'


@pytest.mark.parametrize(
    ('timeout', 'error'),
    [('soon', TypeError), (float('nan'), ValueError), ([], TypeError)],
)
def test_bad_timeouts_raise(timeout, error):
    with pytest.raises(error, match='timeout'):
        tonio.Event().wait(timeout)
