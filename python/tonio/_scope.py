"""Scopes for both syntaxes: ``scope``, ``move_on_after`` and ``fail_after``.

The Rust ``Scope`` does the work; this subclass only adds ``async with``, whose exit (unlike a
plain ``with``) can wait for the scope's tasks.
"""

from __future__ import annotations

from types import TracebackType
from typing import Self

from ._tonio import Scope as _CoreScope


class Scope(_CoreScope):
    """Tasks spawned with ``spawn`` belong to the scope; ``cancel()`` (or the deadline) cancels
    them and the code inside the ``with`` block.

    Generator syntax: ``with scope() as s: ...`` then ``yield s()`` (inside or after the block)
    waits for the tasks. ``async def`` syntax: ``async with scope() as s:`` waits on exit.
    """

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
