"""run_process, open_process and Process in async def syntax (mirrors
tests/yielding/test_process.py). Zombies and leaked descriptors are checked through /proc
(tests/proc_checks.py)."""

import signal
import subprocess
import sys
import threading

import pytest
from tests.conftest import run_bounded
from tests.proc_checks import assert_gone, children, leaked, pipes_and_pidfds, wait_for_child

import tonio.colored as tonio
from tonio._tonio import _runtime_stats

pytestmark = pytest.mark.tonio

PYTHON = sys.executable


async def test_run_process_captures_the_output():
    result = await tonio.run_process(['echo', 'hello'], capture_stdout=True)
    assert isinstance(result, subprocess.CompletedProcess)
    assert result.args == ['echo', 'hello']
    assert result.returncode == 0
    assert result.stdout == b'hello\n'
    assert result.stderr is None


async def test_run_process_feeds_stdin_and_drains_both_outputs_at_once():
    # More than a pipe holds in each direction: feeding and draining must run concurrently.
    data = bytes(range(256)) * 4096
    script = (
        'import sys; data = sys.stdin.buffer.read(); '
        'sys.stderr.buffer.write(data[::-1]); sys.stdout.buffer.write(data)'
    )
    result = await tonio.run_process(
        [PYTHON, '-c', script], stdin=data, capture_stdout=True, capture_stderr=True
    )
    assert result.stdout == data
    assert result.stderr == data[::-1]


async def test_stdin_defaults_to_an_empty_input():
    result = await tonio.run_process(['cat'], capture_stdout=True)
    assert result.stdout == b''
    result = await tonio.run_process(['cat'], stdin=bytearray(b'abc'), capture_stdout=True)
    assert result.stdout == b'abc'


async def test_stderr_can_go_to_stdout():
    script = 'import sys; print("out", flush=True); print("err", file=sys.stderr)'
    result = await tonio.run_process(
        [PYTHON, '-c', script], capture_stdout=True, stderr=subprocess.STDOUT
    )
    assert result.stdout.split() == [b'out', b'err']


async def test_a_failing_command_raises_called_process_error_when_checked():
    with pytest.raises(subprocess.CalledProcessError) as raised:
        await tonio.run_process(
            ['sh', '-c', 'echo out; echo err >&2; exit 3'],
            capture_stdout=True,
            capture_stderr=True,
        )
    assert raised.value.returncode == 3
    assert raised.value.cmd == ['sh', '-c', 'echo out; echo err >&2; exit 3']
    assert raised.value.stdout == b'out\n'
    assert raised.value.stderr == b'err\n'
    result = await tonio.run_process(['sh', '-c', 'exit 3'], check=False)
    assert result.returncode == 3


async def test_popen_options_are_passed_on(tmp_path):
    result = await tonio.run_process(
        'echo "$GREETING" && pwd',
        shell=True,
        cwd=tmp_path,
        env={'GREETING': 'hi', 'PATH': '/usr/bin:/bin'},
        capture_stdout=True,
    )
    assert result.stdout == f'hi\n{tmp_path}\n'.encode()


async def test_open_process_pipes_are_streams():
    process = await tonio.open_process(['cat'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert process.stdio == (process.stdin, process.stdout)
    assert process.stderr is None
    assert process.args == ['cat']
    assert process.pid > 0
    assert process.returncode is None
    assert process.poll() is None
    assert 'running with PID' in repr(process)
    await process.stdin.send_all(b'hello')
    assert (await process.stdout.receive_some()) == b'hello'
    process.stdin.close()
    assert (await process.stdout.receive_some()) == b''
    assert (await process.wait()) == 0
    assert process.returncode == 0
    assert process.poll() == 0
    assert 'exited with status 0' in repr(process)
    process.stdout.close()
    assert_gone(process.pid)


async def test_signals_end_the_process_with_a_negative_code():
    for send, number in (
        (lambda process: process.terminate(), signal.SIGTERM),
        (lambda process: process.kill(), signal.SIGKILL),
        (lambda process: process.send_signal(signal.SIGUSR1), signal.SIGUSR1),
    ):
        process = await tonio.open_process(['sleep', '30'])
        send(process)
        assert (await process.wait()) == -number
        assert repr(process).endswith(f'exited with signal {number}>')
        process.kill()  # reaped: a no-op, never a stranger's pid


async def test_many_tasks_can_wait_for_one_process():
    process = await tonio.open_process(['sleep', '0.05'])
    codes = await tonio.spawn(process.wait(), process.wait(), process.wait())
    assert codes == [0, 0, 0]
    assert_gone(process.pid)


def test_waiting_uses_no_thread_and_leaves_no_registration():
    # On a runtime of its own, so that the counts are this test's alone.
    async def main():
        processes = []
        for _ in range(20):
            processes.append(await tonio.open_process(['sleep', '0.2']))
        waits = tonio.spawn(*[process.wait() for process in processes])
        await tonio.sleep(0.05)
        during = _runtime_stats()
        assert all(process._exit._io.waiting == 1 for process in processes)
        assert await waits == [0] * 20
        assert all(process._exit._io is None for process in processes)
        return during, _runtime_stats()

    during, after = run_bounded(main())
    assert during['blocking_in_flight'] == 0
    assert during['registered_fds'] == 20
    assert after['registered_fds'] == 0


async def test_text_mode_and_malformed_arguments_are_clear_errors_at_the_call():
    for option in ('text', 'universal_newlines', 'encoding', 'errors'):
        value = 'utf-8' if option in ('encoding', 'errors') else True
        with pytest.raises(TypeError, match=f"'{option}' option is not supported"):
            tonio.run_process(['true'], **{option: value})
        with pytest.raises(TypeError, match=f"'{option}' option is not supported"):
            tonio.open_process(['true'], **{option: value})
    with pytest.raises(TypeError, match='bufsize'):
        tonio.open_process(['true'], bufsize=4096)
    with pytest.raises(TypeError, match='must be a sequence'):
        tonio.run_process('echo hi')
    with pytest.raises(TypeError, match='string or bytes'):
        tonio.open_process(['echo', 'hi'], shell=True)
    with pytest.raises(UnicodeError, match='bytes, not str'):
        tonio.run_process(['cat'], stdin='text')
    with pytest.raises(ValueError, match=r'stdin=subprocess\.PIPE'):
        tonio.run_process(['cat'], stdin=subprocess.PIPE)
    with pytest.raises(ValueError, match='capture_stdout=True'):
        tonio.run_process(['cat'], stdout=subprocess.PIPE)
    with pytest.raises(ValueError, match='both stderr and capture_stderr'):
        tonio.run_process(['cat'], stderr=subprocess.DEVNULL, capture_stderr=True)
    with pytest.raises(TypeError, match='stdout must be'):
        tonio.open_process(['cat'], stdout='out.txt')
    with pytest.raises(ValueError, match='only valid for stderr'):
        tonio.open_process(['cat'], stdout=subprocess.STDOUT)
    await tonio.sleep(0)


async def test_a_missing_program_is_the_popen_error_and_leaks_nothing():
    before = pipes_and_pidfds()
    with pytest.raises(FileNotFoundError):
        await tonio.run_process(['/nonexistent/program'], stdin=b'x', capture_stdout=True)
    with pytest.raises(FileNotFoundError):
        await tonio.open_process(['/nonexistent/program'], stdout=subprocess.PIPE)
    assert not leaked(before)


async def test_cancelling_run_process_kills_and_reaps_the_child():
    before = pipes_and_pidfds()
    with tonio.scope() as scope:
        scope.spawn(tonio.run_process(['sleep', '30'], stdin=b'unread', capture_stdout=True))
        pid = await wait_for_child('sleep')
        scope.cancel()
    await scope()
    assert scope.cancelled
    assert_gone(pid)
    assert not children('sleep')
    assert not leaked(before)


async def test_cancelling_wait_kills_and_reaps_the_child():
    before = pipes_and_pidfds()
    process = await tonio.open_process(['sleep', '30'])
    with tonio.move_on_after(0.05) as deadline:
        await process.wait()
    assert deadline.timed_out
    assert process.returncode == -signal.SIGKILL
    assert_gone(process.pid)
    assert not leaked(before)


async def test_a_caller_cancelled_while_the_child_spawns_never_abandons_it(tmp_path):
    # Popen asks stdin for its descriptor on the pool thread: make that wait until the caller
    # has been cancelled, so the child exists only after nobody wants it any more.
    asked = threading.Event()
    release = threading.Event()
    before = pipes_and_pidfds()

    class SlowStdin:
        def fileno(self):
            asked.set()
            release.wait(10)
            return devnull.fileno()

    with open('/dev/null', 'rb') as devnull:
        with tonio.scope() as scope:
            scope.spawn(tonio.open_process(['sleep', '30'], stdin=SlowStdin()))
            await tonio.spawn_blocking(asked.wait, 10)
            scope.cancel()
            release.set()
        await scope()
    assert not children('sleep')
    assert not leaked(before)


async def test_a_thousand_short_processes_at_once():
    before = pipes_and_pidfds()

    @tonio.mark.max_concurrency(64)
    async def one(index):
        result = await tonio.run_process(['true'])
        return index, result.returncode

    results = await tonio.spawn(*[one(index) for index in range(1000)])
    assert results == [(index, 0) for index in range(1000)]
    assert not children('true')  # neither running nor a zombie
    assert not leaked(before)
