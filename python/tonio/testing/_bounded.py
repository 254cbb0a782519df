"""``run_bounded``: run a coroutine on a runtime as a test needs it run, bounded in time and with
no task failure lost.

- **Bounded.** A watchdog thread (real time, so a virtual clock cannot fool it) cancels the run
  once ``timeout`` seconds pass: the coroutine gets ``CancelledError`` where it waits, which is
  reported as a ``TimeoutError`` chained to it (so the traceback shows where it was stuck). If the
  run has not ended a grace period later (the timeout again, from 1 to 5 seconds: a task ignores
  the cancel, or never reaches a suspension point), the watchdog interrupts the main thread the
  way Ctrl-C does: the runtime cancels every task and waits for them to unwind; a second
  interrupt one more grace period later stops that wait. A runtime left with tasks that never
  unwound is marked abandoned: later runs on it fail at once instead of hanging, and it is never
  closed (closing would wait for them). Interrupts are only used when the run is on the main
  thread (which Ctrl-C reaches).
- **No lost failures.** While the coroutine runs, ``sys.unraisablehook`` collects what tonio
  reports there (failures of tasks nobody waited for), and they are raised when the run ends:
  alone, as an ExceptionGroup, or as notes on the coroutine's own exception.

The watchdog's ``stage`` only grows, under its lock; the run ends by ``finish()``, under the same
lock, after which the watchdog does nothing more. So an interrupt can only land while the run is
live or just after ``finish()`` returned, where ``run_bounded`` still catches it.
"""

from __future__ import annotations

import _thread
import contextlib
import signal
import sys
import threading
import types
from collections.abc import Generator
from typing import Any, TypeVar

from .._runner import _open_runtimes
from .._scope import Scope
from .._tonio import Runtime
from .._types import AnyCoro
from ..exceptions import CancelledError

_R = TypeVar('_R')

# Runtimes a run had to leave with tasks that never unwound, and why. Kept alive to the end of the
# process: dropping a runtime closes it, which would wait for those tasks.
_abandoned: dict[Runtime, str] = {}

_CANCELLED = 1
_INTERRUPTED = 2
_ABANDONED = 3


class _Watchdog:
    """Escalates against one run: cancel at ``timeout``, interrupt after each ``grace``."""

    def __init__(self, timeout: float, grace: float, interrupt: bool) -> None:
        self.timeout = timeout
        self.stage = 0
        self._grace = grace
        self.interrupts = interrupt
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._scope: Scope | None = None
        thread = threading.Thread(target=self._watch, name='tonio-test-watchdog', daemon=True)
        thread.start()

    def _watch(self) -> None:
        delays = [self.timeout, self._grace, self._grace] if self.interrupts else [self.timeout]
        for stage, delay in enumerate(delays, start=_CANCELLED):
            if self._done.wait(delay):
                return
            with self._lock:
                if self._done.is_set():
                    return
                self.stage = stage
                if stage == _CANCELLED:
                    if self._scope is not None:
                        self._scope.cancel()
                else:
                    # What Ctrl-C does: the runtime's reactor wakes and cancels everything.
                    _thread.interrupt_main()

    def attach(self, scope: Scope) -> bool:
        """Hands over the scope to cancel; False if the deadline already passed."""
        with self._lock:
            self._scope = scope
            return self.stage < _CANCELLED

    def finish(self) -> None:
        with self._lock:
            self._done.set()
            self._scope = None


class _Unraisables:
    """A ``sys.unraisablehook`` that collects while active and forwards once not (it may outlive
    its run, put back by someone who saved it, such as ``monkeypatch``)."""

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        self.active = True
        self.previous = sys.unraisablehook

    def __call__(self, report: sys.UnraisableHookArgs) -> None:
        error = report.exc_value
        if not self.active or error is None:
            self.previous(report)
            return
        where = '' if report.object is None else f' ({report.object!r})'
        error.add_note(f'raised in a tonio task nobody waited for{where}')
        self.errors.append(error)

    def close(self) -> None:
        self.active = False
        if sys.unraisablehook is self:
            sys.unraisablehook = self.previous


@types.coroutine
def _watched(coro: AnyCoro[_R], watchdog: _Watchdog, what: str) -> Generator[Any, Any, _R]:
    __tracebackhide__ = True
    with Scope() as scope:
        if not watchdog.attach(scope):
            scope.cancel()
        try:
            result: _R = yield coro
        except CancelledError as cancelled:
            if watchdog.stage:
                raise _timed_out(what, watchdog) from cancelled
            raise
    if watchdog.stage:
        # It caught the cancel and finished anyway, late.
        raise _timed_out(what, watchdog)
    return result


def _timed_out(what: str, watchdog: _Watchdog, more: str = '') -> TimeoutError:
    return TimeoutError(
        f'{what} did not finish within {watchdog.timeout:g} s (tonio_timeout) and was '
        f'cancelled where it waited{more}'
    )


def _stop_watching(watchdog: _Watchdog) -> bool:
    """Ends the watch; True if an interrupt landed meanwhile (it is then swallowed here, so the
    watch surely ends: the caller raises it again)."""
    landed = False
    while True:
        try:
            watchdog.finish()
            _let_signals_run()
            return landed
        except KeyboardInterrupt:
            landed = True


@contextlib.contextmanager
def _sigint_reaches_python(needed: bool) -> Generator[None, None, None]:
    """``interrupt_main()`` only reaches a SIGINT handler installed in Python. A process started
    with SIGINT ignored (from a background shell) has none, and the watchdog's interrupts would
    vanish: Python's usual handler is installed for the run, then the previous one put back."""
    if not needed or signal.getsignal(signal.SIGINT) not in (signal.SIG_IGN, signal.SIG_DFL):
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _let_signals_run() -> None:
    """A Python-level call: an interrupt that is still pending is raised here at the latest."""


def run_bounded(
    runtime: Runtime, coro: AnyCoro[_R], *, timeout: float | None, what: str = 'the coroutine'
) -> _R:
    """Runs ``coro`` on ``runtime`` (see the module documentation); ``timeout`` None or 0: no
    limit. ``what`` names the coroutine in errors."""
    __tracebackhide__ = True  # pytest shows the test's frames, not these
    reason = _abandoned.get(runtime)
    if reason is not None:
        coro.close()
        raise RuntimeError(f'this tonio runtime was abandoned: {reason}')
    watchdog = None
    if timeout:
        on_main_thread = threading.current_thread() is threading.main_thread()
        # A cancelled test usually unwinds at once; a loaded machine gets a second at least.
        grace = min(max(timeout, 1.0), 5.0)
        watchdog = _Watchdog(timeout, grace=grace, interrupt=on_main_thread)
        coro = _watched(coro, watchdog, what)
    unraisables = _Unraisables()
    sys.unraisablehook = unraisables
    try:
        try:
            with _sigint_reaches_python(watchdog is not None and watchdog.interrupts):
                result = runtime.run_until_complete(coro)
        finally:
            if watchdog is not None and _stop_watching(watchdog):
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        if watchdog is None or watchdog.stage < _INTERRUPTED:
            raise
        timed_out = _timed_out(what, watchdog, '; it did not unwind, so every task was cancelled')
        if watchdog.stage >= _ABANDONED:
            _abandon(runtime, f'{what} left tasks that never unwound')
            timed_out = _timed_out(
                what, watchdog, '; neither it nor its tasks unwound after every task was cancelled'
            )
        _note(timed_out, unraisables.errors)
        raise timed_out from None
    except BaseException as error:
        _note(error, unraisables.errors)
        stopper = _session_stopper(error)
        if stopper is not None:
            raise stopper from error
        raise
    finally:
        unraisables.close()
    if unraisables.errors:
        errors = unraisables.errors
        if len(errors) == 1:
            raise errors[0]
        raise BaseExceptionGroup('tonio tasks nobody waited for failed', errors)
    return result


def _note(error: BaseException, others: list[BaseException]) -> None:
    for other in others:
        error.add_note(f'also failed, in a tonio task nobody waited for: {other!r}')


def _session_stopper(error: BaseException) -> BaseException | None:
    """What stops a test session (Ctrl-C, SystemExit, pytest's Exit) is raised as itself even
    from inside the ExceptionGroup of a scope."""
    if not isinstance(error, BaseExceptionGroup):
        return None
    inners: tuple[BaseException, ...] = error.exceptions
    for inner in inners:
        if isinstance(inner, BaseExceptionGroup):
            found = _session_stopper(inner)
            if found is not None:
                return found
        elif isinstance(inner, (KeyboardInterrupt, SystemExit)) or (
            type(inner).__name__ == 'Exit' and type(inner).__module__.startswith('_pytest')
        ):
            return inner
    return None


def _abandon(runtime: Runtime, reason: str) -> None:
    _abandoned[runtime] = reason
    # Closing waits for every task, including the ones that never unwound.
    _open_runtimes.discard(runtime)


def is_abandoned(runtime: Runtime) -> bool:
    return runtime in _abandoned
