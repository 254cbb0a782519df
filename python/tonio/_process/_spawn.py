"""``open_process`` and ``run_process``.

Spawning (``subprocess.Popen``: fork and exec) blocks, so it runs on the blocking pool,
uninterruptibly, through ``make_on_pool``: a caller cancelled meanwhile never abandons a
half-spawned child (whoever is last kills and reaps it). The pipes are made here: the parent's
ends become ``FdStream``s (non-blocking, read and written by the reactor, no thread per pipe),
the child's ends are closed as soon as ``Popen`` returns (or in the task, if it never ran).
Both descriptors of a pipe are close-on-exec, so a child spawned at the same moment on another
thread inherits neither.

``run_process`` feeds ``stdin`` and drains the captured outputs in tasks of one scope beside
the wait for the exit: any failure, or a cancel, cancels the others, and the wait's own rule
(kill and reap) ends the child. The streams are closed once those tasks have unwound.
"""

from __future__ import annotations

import os
import subprocess
import types
from collections.abc import Callable, Generator
from typing import Any, Protocol

from .._handover import make_on_pool
from .._scope import Scope
from .._types import GeneratorCoroutine
from ..exceptions import ResourceBroken
from ..io import FdStream
from ._exit import open_pidfd
from ._process import Command, Process

_TEXT_OPTIONS = ('universal_newlines', 'text', 'encoding', 'errors')


class _HasFileno(Protocol):
    def fileno(self) -> int: ...


# What Popen takes for a standard stream: None, PIPE / DEVNULL / STDOUT, a descriptor, or a file
# object (anything with fileno()).
_Stdio = int | _HasFileno | None
_SPECIAL = (subprocess.PIPE, subprocess.STDOUT, subprocess.DEVNULL)


def _check_stdio(name: str, value: object) -> None:
    if value is None or (isinstance(value, int) and not isinstance(value, bool)):
        if value == subprocess.STDOUT and name != 'stderr':
            raise ValueError(f'{name}=subprocess.STDOUT is only valid for stderr')
        if isinstance(value, int) and value < 0 and value not in _SPECIAL:
            raise ValueError(
                f'{name}={value} is neither a file descriptor nor a subprocess constant'
            )
        return
    if not callable(getattr(value, 'fileno', None)):
        raise TypeError(
            f'{name} must be None, subprocess.PIPE, subprocess.DEVNULL, a file descriptor or a '
            f'file object, not {type(value).__name__}'
        )


def _check_arguments(command: Command, options: dict[str, Any]) -> None:
    for key in _TEXT_OPTIONS:
        if options.get(key):
            raise TypeError(
                f'tonio processes communicate over byte streams: the {key!r} option is not '
                'supported (decode what you receive instead)'
            )
    if options.get('bufsize', 0) not in (0, -1):
        raise TypeError(
            "tonio processes communicate over unbuffered byte streams: the 'bufsize' option is "
            'not supported'
        )
    if os.name == 'posix':
        shell = bool(options.get('shell'))
        if isinstance(command, (str, bytes)) and not shell:
            raise TypeError(
                'the command must be a sequence (not a string or bytes) when shell is false, '
                f'e.g. {[command]!r} or shell=True'
            )
        if not isinstance(command, (str, bytes)) and shell:
            raise TypeError('with shell=True the command must be a string or bytes')


def open_process(
    command: Command,
    *,
    stdin: _Stdio = None,
    stdout: _Stdio = None,
    stderr: _Stdio = None,
    **options: Any,
) -> GeneratorCoroutine[Process]:
    """Starts ``command`` (yield or await the result for a ``Process``). ``stdin``, ``stdout``,
    ``stderr``: ``subprocess.PIPE`` gives the process a stream for it; ``DEVNULL``, a
    descriptor or a file object are passed on (``stderr=subprocess.STDOUT`` too); other
    keyword arguments go to ``subprocess.Popen``. The child is not reaped for you: ``wait()``
    for it (cancelling the wait kills it). Arguments are checked at the call."""
    _check_arguments(command, options)
    _check_stdio('stdin', stdin)
    _check_stdio('stdout', stdout)
    _check_stdio('stderr', stderr)
    return _open(command, stdin, stdout, stderr, options)


def _pipe(pipesize: int) -> tuple[int, int]:
    """A pipe (both ends close-on-exec), of ``pipesize`` bytes where Linux allows setting it."""
    read_end, write_end = os.pipe()
    if pipesize > 0:
        import fcntl

        if not hasattr(fcntl, 'F_SETPIPE_SZ'):
            return read_end, write_end
        try:
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, pipesize)
        except BaseException:
            os.close(read_end)
            os.close(write_end)
            raise
    return read_end, write_end


def _close_all(fds: list[int]) -> Callable[[], None]:
    def close() -> None:
        for fd in fds:
            os.close(fd)

    return close


def _discard(spawned: tuple[subprocess.Popen[bytes], int]) -> None:
    """On a pool thread: the child of a caller that was cancelled while it spawned."""
    popen, pidfd = spawned
    popen.kill()
    popen.wait()
    if pidfd >= 0:
        os.close(pidfd)


@types.coroutine
def _open(
    command: Command,
    stdin: _Stdio,
    stdout: _Stdio,
    stderr: _Stdio,
    options: dict[str, Any],
) -> Generator[Any, Any, Process]:
    pipesize = options.pop('pipesize', -1)
    streams: dict[str, FdStream] = {}
    child_ends: list[int] = []
    try:
        if stdin == subprocess.PIPE:
            stdin, parent_end = _pipe(pipesize)
            child_ends.append(stdin)
            streams['stdin'] = FdStream(parent_end)
        if stdout == subprocess.PIPE:
            parent_end, stdout = _pipe(pipesize)
            child_ends.append(stdout)
            streams['stdout'] = FdStream(parent_end)
        if stderr == subprocess.PIPE:
            parent_end, stderr = _pipe(pipesize)
            child_ends.append(stderr)
            streams['stderr'] = FdStream(parent_end)
    except BaseException:
        _close_all(child_ends)()
        for stream in streams.values():
            stream.close()
        raise

    # Popen's stubs want IO objects; it only ever calls fileno() on them.
    streams_of_child: dict[str, Any] = {'stdin': stdin, 'stdout': stdout, 'stderr': stderr}

    def spawn() -> tuple[subprocess.Popen[bytes], int]:
        popen: subprocess.Popen[bytes] = subprocess.Popen(command, **streams_of_child, **options)
        return popen, open_pidfd(popen.pid)

    try:
        popen, pidfd = yield from make_on_pool(spawn, _discard, _close_all(child_ends))
    except BaseException:
        for stream in streams.values():
            stream.close()
        raise
    return Process(popen, pidfd, streams.get('stdin'), streams.get('stdout'), streams.get('stderr'))


def run_process(
    command: Command,
    *,
    stdin: bytes | bytearray | memoryview | _Stdio = b'',
    capture_stdout: bool = False,
    capture_stderr: bool = False,
    check: bool = True,
    **options: Any,
) -> GeneratorCoroutine[subprocess.CompletedProcess[bytes]]:
    """Runs ``command`` to its end (yield or await the result for a
    ``subprocess.CompletedProcess``).

    ``stdin``: bytes to feed the child (``b''``, the default: it reads end of file at once), or
    what ``open_process`` takes (None inherits ours). ``capture_stdout`` / ``capture_stderr``:
    collect the output into the result (``stderr=subprocess.STDOUT`` merges it into stdout).
    ``check``: a non-zero exit raises ``subprocess.CalledProcessError``. Other keyword arguments
    go to ``subprocess.Popen``. Cancelled, it kills the child and reaps it before re-raising.
    """
    if isinstance(stdin, str):
        raise UnicodeError('process stdin must be bytes, not str (encode it)')
    data: bytes | None = None
    if isinstance(stdin, (bytes, bytearray, memoryview)):
        data = bytes(stdin)
        stdin = subprocess.PIPE
    elif stdin == subprocess.PIPE:
        raise ValueError(
            'run_process(stdin=subprocess.PIPE) makes no sense: the pipe would be internal to '
            'run_process; pass the bytes to send as stdin=, or use open_process'
        )
    for name, capture in (('stdout', capture_stdout), ('stderr', capture_stderr)):
        if capture and name in options:
            raise ValueError(f"can't specify both {name} and capture_{name}")
        if options.get(name) == subprocess.PIPE:
            raise ValueError(
                f'run_process({name}=subprocess.PIPE): use capture_{name}=True to collect it, '
                'or open_process to read it as it comes'
            )
    stdout = subprocess.PIPE if capture_stdout else options.pop('stdout', None)
    stderr = subprocess.PIPE if capture_stderr else options.pop('stderr', None)
    _check_arguments(command, options)
    _check_stdio('stdin', stdin)
    _check_stdio('stdout', stdout)
    _check_stdio('stderr', stderr)
    return _run(_open(command, stdin, stdout, stderr, options), data, check)


@types.coroutine
def _feed(stream: FdStream, data: bytes) -> Generator[Any, Any, None]:
    try:
        yield stream.send_all(data)
    except ResourceBroken:
        pass  # the child exited, or closed its stdin, without reading everything
    finally:
        stream.close()


@types.coroutine
def _drain(stream: FdStream, chunks: list[bytes]) -> Generator[Any, Any, None]:
    while chunk := (yield stream.receive_some()):
        chunks.append(chunk)


@types.coroutine
def _wait_into(process: Process, codes: list[int]) -> Generator[Any, Any, None]:
    codes.append((yield from process.wait()))


@types.coroutine
def _run(
    opening: Generator[Any, Any, Process], data: bytes | None, check: bool
) -> Generator[Any, Any, subprocess.CompletedProcess[bytes]]:
    process = yield from opening
    stdout_chunks: list[bytes] = []
    stderr_chunks: list[bytes] = []
    try:
        jobs: list[Generator[Any, Any, None]] = []
        if process.stdin is not None:
            if data:
                jobs.append(_feed(process.stdin, data))
            else:
                process.stdin.close()
        if process.stdout is not None:
            jobs.append(_drain(process.stdout, stdout_chunks))
        if process.stderr is not None:
            jobs.append(_drain(process.stderr, stderr_chunks))
        if jobs:
            codes: list[int] = []
            jobs.append(_wait_into(process, codes))
            with Scope(True) as scope:
                for job in jobs:
                    scope.spawn(job)
                yield scope()
            returncode = codes[0]
        else:
            returncode = yield from process.wait()
    except GeneratorExit:
        process._kill_quietly()
        raise
    except BaseException:
        if process._returncode is None:
            yield from process._kill_and_reap()
        raise
    finally:
        process._close_streams()
    stdout = b''.join(stdout_chunks) if process.stdout is not None else None
    stderr = b''.join(stderr_chunks) if process.stderr is not None else None
    if check and returncode:
        raise subprocess.CalledProcessError(returncode, process.args, stdout, stderr)
    return subprocess.CompletedProcess(process.args, returncode, stdout, stderr)
