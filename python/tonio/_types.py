"""The types of tonio's public API that are not classes of their own (re-exported by
``tonio.typing``).

What a type checker can know differs between the two syntaxes:

- ``async def`` code is fully typed: ``await w`` on a ``Waiter[T]`` or ``Spawned[T]`` is a ``T``
  (``Event.wait()`` is a ``Waiter[bool]``, ``sleep()`` a ``Waiter[None]``, ``spawn(c)`` a
  ``Spawned[R]`` for a coroutine returning ``R``), as is awaiting a combinator.
- In generator syntax, ``value = yield w`` evaluates to whatever the scheduler sends back, and
  Python's typing ties the value of every ``yield`` in a generator to one send type, not to the
  yielded object. What is checked there: the result ``R`` of a generator annotated ``Coro[R]``
  (through ``spawn``, ``run``, ``main``, the combinators), that only things tonio can wait on are
  yielded (``Coro``'s yield type is ``Yieldable``), and, where the exact value matters, ``value =
  yield from w``, which runs the same at runtime as ``yield w`` for a Waiter, a spawn result or a
  combinator and is typed as ``await w`` is. A generator that only ever yields one kind of wait
  can also say so: ``Generator[Waiter[bool], bool, R]``.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator, Iterable
from typing import TYPE_CHECKING, Any, TypeAlias, TypedDict, TypeVar

from ._tonio import Spawned, Waiter

_R = TypeVar('_R')

AnyCoro: TypeAlias = Coroutine[Any, Any, _R] | Generator[Any, Any, _R]
"""What ``run``, ``spawn`` and ``block_on`` accept: an ``async def`` coroutine or a generator,
returning ``R``."""

Yieldable: TypeAlias = (
    Waiter[Any] | Spawned[Any] | Coroutine[Any, Any, Any] | Generator[Any, Any, Any] | None
)
"""What a generator-syntax task may yield: a Waiter, a spawn result, a coroutine or generator
(run inline), or None (let other tasks run)."""

Coro: TypeAlias = Generator[Yieldable, Any, _R]
"""A generator-syntax coroutine returning ``R`` (TonIO's name). What each ``yield`` evaluates to is
``Any``: annotate it, or use ``yield from`` (see the module documentation)."""

# GeneratorCoroutine[R]: what the combinators (``select``, ``map``, ``as_completed``,
# ``time.timeout``) and the ``tonio.mark`` decorators return, a generator-based coroutine giving
# ``R`` that both syntaxes can wait on (``await``, ``yield``, ``yield from``) and ``spawn`` can
# run. It is what type checkers make of a ``types.coroutine`` generator function's result
# (typeshed's AwaitableGenerator, which only they know); at runtime these are generators.
if TYPE_CHECKING:
    from typing import AwaitableGenerator

    GeneratorCoroutine: TypeAlias = AwaitableGenerator[Any, Any, _R, Generator[Any, Any, _R]]
else:
    GeneratorCoroutine = Generator


class RuntimeOptions(TypedDict, total=False):
    """The options of ``run``, ``main``, ``runtime`` (and of the pytest plugin's
    ``tonio_runtime_options`` fixture)."""

    threads: int | None
    context: bool
    blocking_threadpool_size: int
    blocking_threadpool_idle_ttl: float
    virtual_clock: bool
    signals: Iterable[int] | None
