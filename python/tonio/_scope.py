"""Scopes for both syntaxes: ``scope``, ``move_on_after`` and ``fail_after``.

The Rust ``Scope`` does the work; this subclass only adds ``async with``, whose exit (unlike a
plain ``with``) can wait for the scope's tasks.
"""

from __future__ import annotations

import types
from collections.abc import Callable, Generator
from types import TracebackType
from typing import Any, Self

from ._tonio import Event, Waiter, _check_coroutines
from ._tonio import Scope as _CoreScope
from .exceptions import CancelledError


class TaskStatus:
    """Given to a task started with ``scope.start()``: it calls ``task_status.started(value)``
    once it is ready (a server once it listens), and ``start()`` returns ``value``."""

    __slots__ = ('_event', '_started', '_value')

    def __init__(self) -> None:
        self._event = Event()
        self._started = False
        self._value: Any = None

    def started(self, value: Any = None) -> None:
        if self._started:
            raise RuntimeError('task_status.started() was already called')
        self._value = value
        self._started = True
        self._event.set()


class _IgnoredTaskStatus:
    """The ``task_status`` default of functions that can be started: ``started()`` is a no-op
    when they are called directly."""

    __slots__ = ()

    def started(self, value: Any = None) -> None:
        return None

    def __repr__(self) -> str:
        return 'TASK_STATUS_IGNORED'


TASK_STATUS_IGNORED: Any = _IgnoredTaskStatus()


@types.coroutine
def _started_task(
    coro: Any,
    status: TaskStatus,
    failed: list[BaseException],
    finished: Event,
    checkpoint: Waiter[None],
) -> Generator[Any, Any, Any]:
    try:
        yield checkpoint
        return (yield coro)
    except BaseException as error:
        if status._started:
            raise
        # Before started(): the failure is start()'s caller's, not the scope's.
        failed.append(error)
        if isinstance(error, CancelledError):
            raise
        return None
    finally:
        finished.set()


@types.coroutine
def _start(scope: Scope, coroutine: Any, status: TaskStatus) -> Generator[Any, Any, Any]:
    failed: list[BaseException] = []
    finished = Event()
    checkpoint = Waiter.checkpoint()
    task = _started_task(coroutine, status, failed, finished, checkpoint)
    if not scope.spawn(task):
        raise RuntimeError('scope.start(): the scope is closed')
    try:
        yield Waiter.any(status._event, finished)
    except CancelledError:
        # The caller gave up waiting: the task it started goes too.
        checkpoint.abort()
        raise
    if status._started:
        return status._value
    if failed:
        raise failed[0]
    raise RuntimeError('the task returned without calling task_status.started()')


class Scope(_CoreScope):
    """Tasks spawned with ``spawn`` belong to the scope; ``cancel()`` (or the deadline) cancels
    them and the code inside the ``with`` block.

    Generator syntax: ``with scope() as s: ...`` then ``yield s()`` (inside or after the block)
    waits for the tasks. ``async def`` syntax: ``async with scope() as s:`` waits on exit.
    """

    def start(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Runs ``fn(*args, **kwargs, task_status=...)`` as a task of the scope and waits (yield
        or await the result) until it calls ``task_status.started(value)``; gives ``value``.
        A failure before ``started()`` is raised here, not in the scope; if the caller is
        cancelled while waiting, the task is cancelled too. trio's ``nursery.start``."""
        status = TaskStatus()
        coroutine = fn(*args, **kwargs, task_status=status)
        _check_coroutines('scope.start()', coroutine)
        return _start(self, coroutine, status)

    async def __aenter__(self) -> Self:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> bool:
        absorbed = self._leave(exc)
        await self()
        if absorbed:
            self._raise_if_timed_out()
        return absorbed


def scope(cancel_on_exc: bool = True, *, timeout: float | None = None) -> Scope:
    """A scope for tasks and a cancel scope for the code inside it.

    ``cancel_on_exc`` (TonIO's first argument): a failing task, or an exception leaving the
    block, cancels everything else in the scope. The default here is True, as in trio's
    nurseries; TonIO's is False. ``timeout`` (seconds, keyword-only): everything in the scope is
    cancelled when it passes (``s.timed_out`` tells afterwards).
    """
    return Scope(cancel_on_exc, timeout=timeout)


def move_on_after(seconds: float) -> Scope:
    """``with move_on_after(s):`` cancels the block after ``s`` seconds and carries on after it."""
    return Scope(timeout=seconds)


def fail_after(seconds: float) -> Scope:
    """``with fail_after(s):`` cancels the block after ``s`` seconds and raises TimeoutError."""
    return Scope(timeout=seconds, fail_on_timeout=True)
