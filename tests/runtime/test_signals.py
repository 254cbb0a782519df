"""Ctrl-C during run: the runtime stops, cancels what runs, and raises KeyboardInterrupt."""

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import tonio
import tonio.colored


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
