"""``Process``: a running child, its pipes as streams, and reaping it.

Reaping (``os.waitpid(pid, WNOHANG)``) happens under the process's lock and records the exit
code once, so any number of tasks may poll or wait at once and exactly one of them collects the
status; the pidfd is closed right after (``ExitWatch.close``, which wakes the other waiters).
Until the child is reaped its pid cannot be reused, so ``send_signal`` (under the same lock,
and only while the child is not reaped) never signals a stranger.

``wait()`` waits for the exit on the reactor (see ``_exit.py``) and reaps. A ``wait()``
cancelled (or failing) while the child runs kills the child and waits until it is reaped before
the cancellation goes on, so no zombie and no pidfd outlive it; if that last wait is itself
interrupted, the reaping finishes on the blocking pool.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
import types
from collections.abc import Generator, Sequence
from typing import Any, Final

from .._tonio import spawn_blocking
from .._types import GeneratorCoroutine
from ..io import FdStream
from ._exit import ExitWatch

StrOrBytesPath = str | bytes | os.PathLike[str] | os.PathLike[bytes]
Command = StrOrBytesPath | Sequence[StrOrBytesPath]


class Process:
    """A child process started by ``open_process``.

    ``stdin``, ``stdout``, ``stderr``: the pipes asked for with ``subprocess.PIPE``, as streams
    (``send_all``, ``receive_some``, ``close``; ``None`` when not piped), ``stdio`` the pair
    ``(stdin, stdout)`` when both are. ``returncode`` / ``poll()``: the exit code (negative: the
    signal that ended it), None while it runs. ``wait()``: yield or await it for the exit code.
    """

    universal_newlines: Final = False
    encoding: Final = None
    errors: Final = None

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        pidfd: int,
        stdin: FdStream | None,
        stdout: FdStream | None,
        stderr: FdStream | None,
    ) -> None:
        self._popen = popen
        self._exit = ExitWatch(popen.pid, pidfd)
        self._lock = threading.Lock()
        self._returncode: int | None = None
        self.args: Command = popen.args
        self.pid: int = popen.pid
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self.stdio: tuple[FdStream, FdStream] | None = None
        if stdin is not None and stdout is not None:
            self.stdio = (stdin, stdout)

    def __repr__(self) -> str:
        code = self._returncode
        if code is None:
            status = f'running with PID {self.pid}'
        elif code < 0:
            status = f'exited with signal {-code}'
        else:
            status = f'exited with status {code}'
        return f'<tonio.Process {self.args!r}: {status}>'

    def _reap(self) -> int | None:
        """The exit code, reaping the child if it has exited; None while it runs."""
        with self._lock:
            if self._returncode is not None:
                return self._returncode
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                # Reaped behind our back (SIGCHLD ignored, or someone's os.wait): the status is
                # lost. subprocess.Popen reports 0 then; so do we.
                pid, status = self.pid, 0
            if pid == 0:
                return None
            code = self._returncode = os.waitstatus_to_exitcode(status)
            # Popen must know too, or its finalizer would warn and keep polling for the child.
            self._popen.returncode = code
        self._exit.close()
        return code

    @property
    def returncode(self) -> int | None:
        """The exit code, or None while the child runs (reaps it if it has exited)."""
        return self._reap()

    def poll(self) -> int | None:
        """The exit code, or None while the child runs (reaps it if it has exited)."""
        return self._reap()

    def wait(self) -> GeneratorCoroutine[int]:
        """Waits for the child to exit (yield or await it) and gives its exit code. Cancelled
        meanwhile, it kills the child and reaps it before re-raising."""
        return self._wait()

    @types.coroutine
    def _wait(self) -> Generator[Any, Any, int]:
        try:
            while (code := self._reap()) is None:
                yield from self._exit.changed()
        except GeneratorExit:
            self._kill_quietly()
            raise
        except BaseException:
            if self._returncode is None:
                yield from self._kill_and_reap()
            raise
        return code

    @types.coroutine
    def _kill_and_reap(self) -> Generator[Any, Any, None]:
        """Kills the child and waits until it is reaped (for cancellation paths)."""
        self._kill_quietly()
        try:
            while self._reap() is None:
                yield from self._exit.changed()
        finally:
            if self._returncode is None:
                self._reap_later()

    def _reap_later(self) -> None:
        """Reaps the (killed) child on the blocking pool, nobody waiting. (On a runtime that is
        closing this may not run; ``subprocess`` then reaps the child on a later spawn.)"""
        with contextlib.suppress(RuntimeError):
            spawn_blocking.uninterruptible(self._reap_blocking)

    def _reap_blocking(self) -> None:
        delay = 0.001
        while self._reap() is None:
            time.sleep(delay)
            delay = min(delay * 2, 0.05)

    def _kill_quietly(self) -> None:
        with contextlib.suppress(OSError):
            self.kill()

    def send_signal(self, sig: signal.Signals | int) -> None:
        """Sends ``sig`` to the child; nothing once it has been reaped."""
        with self._lock:
            if self._returncode is None:
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    def _close_streams(self) -> None:
        for stream in (self.stdin, self.stdout, self.stderr):
            if stream is not None:
                stream.close()
