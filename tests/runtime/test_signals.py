"""Signals: Ctrl-C during run (the runtime stops, cancels what runs, raises KeyboardInterrupt),
and the signals a runtime listens to (`signals=[...]`), received with `signal_receiver`."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import tonio
import tonio.colored


@pytest.fixture(autouse=True)
def sigint_raises_keyboard_interrupt():
    """A suite started from a background shell (`cmd &`) inherits SIGINT ignored, and Python then
    installs no KeyboardInterrupt handler: a SIGINT these tests send would vanish and the test
    hang. They need Python's usual Ctrl-C behaviour, so they install it for their duration."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_sigint_cancels_every_task_and_raises_keyboard_interrupt():
    cleaned = []

    def sleeper(name):
        try:
            yield tonio.sleep(3600)
        finally:
            cleaned.append(name)

    def main():
        tonio.spawn.without_tracking(sleeper('background'))
        handle = tonio.spawn(sleeper('tracked'))
        yield tonio.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)
        yield handle

    with pytest.raises(KeyboardInterrupt):
        tonio.run(main(), threads=2)
    assert sorted(cleaned) == ['background', 'tracked']


def test_sigint_reaches_colored_tasks_waiting_on_an_event():
    cleaned = []

    async def waiter():
        try:
            await tonio.colored.Event().wait()
        except tonio.CancelledError:
            cleaned.append('cancelled')
            raise

    async def main():
        handle = tonio.colored.spawn(waiter())
        await tonio.colored.sleep(0.02)
        os.kill(os.getpid(), signal.SIGINT)
        await handle

    with pytest.raises(KeyboardInterrupt):
        tonio.colored.run(main())
    assert cleaned == ['cancelled']


def test_the_runtime_is_usable_after_an_interrupted_run():
    def interrupted():
        os.kill(os.getpid(), signal.SIGINT)
        yield tonio.sleep(3600)

    def fine():
        yield
        return 'fine'

    with tonio.runtime() as rt:
        with pytest.raises(KeyboardInterrupt):
            rt.run_until_complete(interrupted())
        assert rt.run_until_complete(fine()) == 'fine'


def test_ctrl_c_from_outside_stops_a_real_program():
    script = textwrap.dedent(
        """
        import sys
        import tonio

        def forever():
            try:
                print('ready', flush=True)
                yield tonio.Event().wait()
            finally:
                print('cleaned up', flush=True)

        def main():
            yield tonio.spawn(forever())

        try:
            tonio.run(main())
        except KeyboardInterrupt:
            print('interrupted', flush=True)
            sys.exit(3)
        """
    )
    process = subprocess.Popen(
        [sys.executable, '-c', script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == 'ready'
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 3, stderr
    assert stdout.split() == ['cleaned', 'up', 'interrupted']


# --- signal_receiver -------------------------------------------------------------------


def kill(signum):
    os.kill(os.getpid(), signum)


def test_a_receiver_gets_each_signal_in_order_of_arrival(threads):
    def main():
        with tonio.signal_receiver(signal.SIGUSR1, signal.SIGUSR2) as receiver:
            assert receiver.signals == [signal.SIGUSR1, signal.SIGUSR2]
            kill(signal.SIGUSR2)
            first = yield receiver.receive()
            kill(signal.SIGUSR1)
            second = yield receiver.receive()
        return first, second

    assert tonio.run(main(), threads=threads, signals=[signal.SIGUSR1, signal.SIGUSR2]) == (
        signal.SIGUSR2,
        signal.SIGUSR1,
    )


def test_a_signal_wakes_a_task_already_waiting():
    got = []

    def listener(receiver, ready):
        ready.set()
        got.append((yield receiver.receive()))

    def main():
        with tonio.signal_receiver(signal.SIGHUP) as receiver:
            ready = tonio.Event()
            handle = tonio.spawn(listener(receiver, ready))
            yield ready.wait()
            yield tonio.sleep(0.01)
            kill(signal.SIGHUP)
            yield handle

    tonio.run(main(), threads=2, signals=[signal.SIGHUP])
    assert got == [signal.SIGHUP]


def test_every_open_receiver_of_a_signal_gets_it_and_others_do_not():
    def main():
        with (
            tonio.signal_receiver(signal.SIGUSR1) as one,
            tonio.signal_receiver(signal.SIGUSR1, signal.SIGUSR2) as two,
            tonio.signal_receiver(signal.SIGUSR2) as other,
        ):
            kill(signal.SIGUSR1)
            a, b = yield tonio.spawn(one_of(one), one_of(two))
            yield tonio.sleep(0.02)
            return a, b, other.pending

    def one_of(receiver):
        return (yield receiver.receive())

    assert tonio.run(main(), signals=[signal.SIGUSR1, signal.SIGUSR2]) == (
        signal.SIGUSR1,
        signal.SIGUSR1,
        0,
    )


def test_repeats_of_a_signal_not_yet_taken_are_received_once():
    def main():
        with tonio.signal_receiver(signal.SIGUSR1, signal.SIGUSR2) as receiver:
            for signum in (signal.SIGUSR1, signal.SIGUSR1, signal.SIGUSR2, signal.SIGUSR1):
                kill(signum)
                yield tonio.sleep(0.01)
            yield tonio.sleep(0.02)
            assert receiver.pending == 2
            first = yield receiver.receive()
            second = yield receiver.receive()
            return first, second, receiver.pending

    assert tonio.run(main(), signals=[signal.SIGUSR1, signal.SIGUSR2]) == (
        signal.SIGUSR1,
        signal.SIGUSR2,
        0,
    )


def test_signals_outside_any_open_receiver_are_dropped_not_acted_on():
    def main():
        # Listened to, nobody receiving: neither the default action (terminate) nor a queue.
        kill(signal.SIGUSR1)
        yield tonio.sleep(0.02)
        with tonio.signal_receiver(signal.SIGUSR1) as receiver:
            yield tonio.sleep(0.02)
            return receiver.pending

    assert tonio.run(main(), signals=[signal.SIGUSR1]) == 0


def test_a_cancelled_receive_loses_no_signal():
    def main():
        with tonio.signal_receiver(signal.SIGUSR1) as receiver:
            with tonio.move_on_after(0.01) as cancelled:
                yield receiver.receive()
            assert cancelled.cancelled_caught
            kill(signal.SIGUSR1)
            return (yield receiver.receive())

    assert tonio.run(main(), signals=[signal.SIGUSR1]) == signal.SIGUSR1


def test_generator_iteration_and_async_for():
    def gen_main():
        with tonio.signal_receiver(signal.SIGUSR2) as receiver:
            kill(signal.SIGUSR2)
            for waiter in receiver:
                return (yield waiter)

    async def async_main():
        with tonio.colored.signal_receiver(signal.SIGUSR2) as receiver:
            kill(signal.SIGUSR2)
            async for signum in receiver:
                return signum

    assert tonio.run(gen_main(), signals=[signal.SIGUSR2]) == signal.SIGUSR2
    assert tonio.colored.run(async_main(), signals=[signal.SIGUSR2]) == signal.SIGUSR2


def test_sigint_listened_to_is_received_instead_of_raising():
    def main():
        with tonio.signal_receiver(signal.SIGINT) as receiver:
            kill(signal.SIGINT)
            return (yield receiver.receive())

    assert tonio.run(main(), signals=[signal.SIGINT]) == signal.SIGINT


def test_the_previous_handlers_come_back_after_the_run():
    seen = []
    previous = signal.signal(signal.SIGUSR1, lambda signum, frame: seen.append(signum))
    try:

        def main():
            yield tonio.sleep(0)

        tonio.run(main(), signals=[signal.SIGUSR1, signal.SIGUSR2])
        assert signal.getsignal(signal.SIGUSR2) is signal.SIG_DFL
        kill(signal.SIGUSR1)
        assert seen == [signal.SIGUSR1]
    finally:
        signal.signal(signal.SIGUSR1, previous)


def test_misuse_gets_clear_errors():
    def not_listened():
        tonio.signal_receiver(signal.SIGUSR2)
        yield

    with pytest.raises(ValueError, match='not one this runtime listens to'):
        tonio.run(not_listened(), signals=[signal.SIGUSR1])

    def none_given():
        tonio.signal_receiver()
        yield

    with pytest.raises(ValueError, match='at least one signal'):
        tonio.run(none_given(), signals=[signal.SIGUSR1])

    def not_entered():
        tonio.signal_receiver(signal.SIGUSR1).receive()
        yield

    with pytest.raises(RuntimeError, match='not open'):
        tonio.run(not_entered(), signals=[signal.SIGUSR1])

    def entered_twice():
        receiver = tonio.signal_receiver(signal.SIGUSR1)
        with receiver, receiver:
            yield

    with pytest.raises(RuntimeError, match='already open'):
        tonio.run(entered_twice(), signals=[signal.SIGUSR1])

    with pytest.raises(RuntimeError, match='must be called from a task'):
        tonio.signal_receiver(signal.SIGUSR1)
    with pytest.raises(ValueError, match='not a signal'):
        tonio.runtime(signals=[0])
    with pytest.raises(ValueError, match='cannot be caught'):
        tonio.runtime(signals=[signal.SIGKILL])
    with pytest.raises(TypeError, match='not bools'):
        tonio.runtime(signals=[True])
    with pytest.raises(TypeError, match='list of signal numbers'):
        tonio.runtime(signals=signal.SIGUSR1)


def test_a_runtime_listening_to_signals_must_run_on_the_main_thread():
    import threading

    def main():
        yield

    errors = []

    def target():
        try:
            tonio.run(main(), signals=[signal.SIGUSR1])
        except ValueError as error:
            errors.append(str(error))

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    assert errors and 'main thread' in errors[0]


SERVER_SCRIPTS = {
    'yield': """
        import signal
        import tonio

        def serve():
            try:
                yield tonio.Event().wait()
            finally:
                print('server stopped\\n', end='', flush=True)

        def reload_watcher(started):
            with tonio.signal_receiver(signal.SIGHUP) as hangups:
                started.set()
                for waiter in hangups:
                    yield waiter
                    print('watcher saw SIGHUP\\n', end='', flush=True)

        def main():
            with tonio.signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
                with tonio.scope() as scope:
                    scope.spawn(serve())
                    started = tonio.Event()
                    scope.spawn(reload_watcher(started))
                    yield started.wait()
                    print('ready', flush=True)
                    for waiter in signals:
                        signum = yield waiter
                        print(signal.Signals(signum).name + '\\n', end='', flush=True)
                        if signum == signal.SIGTERM:
                            scope.cancel()
                            break
                yield scope()

        tonio.run(main(), threads=2, signals=[signal.SIGTERM, signal.SIGHUP])
        print('exited', flush=True)
    """,
    'colored': """
        import signal
        import tonio.colored as tonio

        async def serve():
            try:
                await tonio.Event().wait()
            finally:
                print('server stopped\\n', end='', flush=True)

        async def reload_watcher(started):
            with tonio.signal_receiver(signal.SIGHUP) as hangups:
                started.set()
                async for _ in hangups:
                    print('watcher saw SIGHUP\\n', end='', flush=True)

        async def main():
            with tonio.signal_receiver(signal.SIGTERM, signal.SIGHUP) as signals:
                async with tonio.scope() as scope:
                    scope.spawn(serve())
                    started = tonio.Event()
                    scope.spawn(reload_watcher(started))
                    await started.wait()
                    print('ready', flush=True)
                    async for signum in signals:
                        print(signal.Signals(signum).name + '\\n', end='', flush=True)
                        if signum == signal.SIGTERM:
                            scope.cancel()
                            break

        tonio.run(main(), threads=2, signals=[signal.SIGTERM, signal.SIGHUP])
        print('exited', flush=True)
    """,
}


@pytest.mark.parametrize('syntax', SERVER_SCRIPTS)
def test_real_signals_reach_a_real_program_which_shuts_down_cleanly(syntax):
    # Two receivers of SIGHUP each get it; SIGTERM (whose default action would kill the
    # process) becomes a clean shutdown. The scripts print each line with one write: print()
    # writes the text and the newline separately, and two workers printing at once on the
    # free-threaded build would interleave them.
    process = subprocess.Popen(
        [sys.executable, '-c', textwrap.dedent(SERVER_SCRIPTS[syntax])],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout.readline().strip() == 'ready'
        process.send_signal(signal.SIGHUP)
        assert sorted([process.stdout.readline().strip() for _ in range(2)]) == [
            'SIGHUP',
            'watcher saw SIGHUP',
        ]
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
        process.stderr.close()
    assert process.returncode == 0, stderr
    lines = stdout.split()
    assert lines[0] == 'SIGTERM' and lines[-1] == 'exited', stdout
    assert stdout.count('server stopped') == 1, stdout
