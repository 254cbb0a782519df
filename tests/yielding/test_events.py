import threading

import pytest

import tonio


def test_set_clear_report_whether_they_changed_the_flag():
    event = tonio.Event()
    assert not event.is_set()
    assert event.set() is True
    assert event.set() is False
    assert event.is_set()
    assert event.clear() is True
    assert event.clear() is False
    assert not event.is_set()


def test_wait_resumes_with_true_once_set(threads):
    event = tonio.Event()
    order = []

    def waiter():
        result = yield event.wait()
        order.append('woken')
        return result

    def setter():
        yield tonio.sleep(0.01)
        order.append('set')
        event.set()

    def main():
        return (yield tonio.spawn(waiter(), setter()))

    assert tonio.run(main(), threads=threads) == [True, None]
    assert order == ['set', 'woken']


def test_wait_on_a_set_event_returns_at_once():
    event = tonio.Event()
    event.set()

    def main():
        return (yield event.wait()), (yield event.wait(timeout=0))

    assert tonio.run(main()) == (True, True)


def test_wait_times_out_with_false():
    def main():
        start = tonio.time.time()
        result = yield tonio.Event().wait(timeout=0.05)
        return result, tonio.time.time() - start

    result, elapsed = tonio.run(main())
    assert result is False
    assert elapsed >= 0.045


def test_zero_and_negative_timeouts_poll():
    def main():
        return (yield tonio.Event().wait(0)), (yield tonio.Event().wait(-1))

    assert tonio.run(main()) == (False, False)


def test_set_wakes_every_waiter_exactly_once(threads):
    event = tonio.Event()
    woken = []

    def waiter(index):
        yield event.wait()
        woken.append(index)

    def main():
        handle = tonio.spawn(*(waiter(i) for i in range(200)))
        yield tonio.sleep(0.01)
        event.set()
        yield handle

    tonio.run(main(), threads=threads)
    assert sorted(woken) == list(range(200))


def test_set_from_a_plain_python_thread():
    event = tonio.Event()

    def main():
        thread = threading.Timer(0.02, event.set)
        thread.start()
        result = yield event.wait(timeout=5)
        thread.join()
        return result

    assert tonio.run(main()) is True


def test_a_timed_out_wait_leaves_the_event_usable():
    event = tonio.Event()

    def main():
        first = yield event.wait(0.01)
        tonio.spawn.without_tracking(setter())
        second = yield event.wait(5)
        return first, second

    def setter():
        yield tonio.sleep(0.01)
        event.set()

    assert tonio.run(main()) == (False, True)


def test_waiter_alias_matches_tonio():
    event = tonio.Event()
    event.set()

    def main():
        return (yield event.waiter())

    assert tonio.run(main()) is True


def test_a_waiter_yielded_twice_raises_runtime_error():
    def main():
        waiter = tonio.sleep(0)
        yield waiter
        with pytest.raises(RuntimeError, match='only once'):
            yield waiter
        return 'ok'

    assert tonio.run(main()) == 'ok'


@pytest.mark.parametrize(
    ('timeout', 'error'),
    [('soon', TypeError), (float('nan'), ValueError), ([], TypeError)],
)
def test_bad_timeouts_raise(timeout, error):
    with pytest.raises(error, match='timeout'):
        tonio.Event().wait(timeout)
