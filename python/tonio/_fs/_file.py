"""Async file objects: ``open``, ``wrap_file`` and ``IOWrapper``.

An ``IOWrapper`` holds an ordinary file object. Each method that may block (``read``, ``write``,
``readline``, ``readlines``, ``seek``, ``tell``, ``flush``, ``close``, ``truncate``, ...) runs
the file's own method on the blocking pool and returns the ``Spawned`` handle: ``yield`` it in
generator code, ``await`` it in ``async def`` code; errors are the file's own. Attributes that
never block (``name``, ``mode``, ``closed``, ``fileno()``, ...) are read directly.

``open`` runs ``io.open`` on the pool through ``make_on_pool``: a task cancelled while the file
is being opened never leaks it (whoever is last closes it).

The two syntaxes differ only where the language does:

- ``async def`` code: ``async with await fs.open(path) as f:`` closes the file on the pool when
  the block ends, and ``async for line in f:`` reads a line per step.
- Generator code cannot wait in ``__exit__`` or in ``for``. ``yield f.close()`` (in a
  ``finally``) closes the file on the pool; a plain ``with f:`` closes it too, but right there on
  the worker (a safety net: a flush of buffered writes then happens on the worker). Lines are
  read with ``while line := (yield f.readline()):``, or all at once with
  ``yield f.readlines()``.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from typing import IO, TYPE_CHECKING, Any, AnyStr, Generic, NoReturn, overload

from .._handover import make_on_pool
from .._tonio import Spawned, spawn_blocking
from .._types import GeneratorCoroutine

if TYPE_CHECKING:
    from _typeshed import OpenBinaryMode, OpenTextMode, StrOrBytesPath

    _OpenFile = StrOrBytesPath | int

_Opener = Callable[[str, int], int]

_NOT_ITERABLE = (
    'a tonio file is read line by line with `async for line in f` in async def code; in '
    'generator code use `while line := (yield f.readline()):`, or `yield f.readlines()`'
)


class IOWrapper(Generic[AnyStr]):
    """A file object whose blocking methods run on the blocking pool (``IOWrapper[str]`` for a
    text file, ``IOWrapper[bytes]`` for a binary one). ``wrapped`` is the file itself."""

    __slots__ = ('_wrapped',)

    def __init__(self, file: IO[AnyStr]) -> None:
        self._wrapped: IO[AnyStr] = file

    @property
    def wrapped(self) -> IO[AnyStr]:
        return self._wrapped

    def __repr__(self) -> str:
        return f'<tonio.fs.IOWrapper {self._wrapped!r}>'

    # Never blocking: read from the file directly.

    @property
    def closed(self) -> bool:
        return self._wrapped.closed

    @property
    def name(self) -> Any:
        return self._wrapped.name

    @property
    def mode(self) -> str:
        return self._wrapped.mode

    @property
    def encoding(self) -> str:
        encoding: str = getattr(self._wrapped, 'encoding')  # noqa: B009 (text files only)
        return encoding

    @property
    def errors(self) -> str | None:
        errors: str | None = getattr(self._wrapped, 'errors')  # noqa: B009 (text files only)
        return errors

    @property
    def newlines(self) -> Any:
        return getattr(self._wrapped, 'newlines')  # noqa: B009 (text files only)

    @property
    def buffer(self) -> Any:
        return getattr(self._wrapped, 'buffer')  # noqa: B009 (text files only)

    @property
    def raw(self) -> Any:
        return getattr(self._wrapped, 'raw')  # noqa: B009 (buffered files only)

    @property
    def line_buffering(self) -> bool:
        line_buffering: bool = getattr(self._wrapped, 'line_buffering')  # noqa: B009
        return line_buffering

    @property
    def closefd(self) -> bool:
        closefd: bool = getattr(self._wrapped, 'closefd')  # noqa: B009 (raw files only)
        return closefd

    def fileno(self) -> int:
        return self._wrapped.fileno()

    def isatty(self) -> bool:
        return self._wrapped.isatty()

    def readable(self) -> bool:
        return self._wrapped.readable()

    def writable(self) -> bool:
        return self._wrapped.writable()

    def seekable(self) -> bool:
        return self._wrapped.seekable()

    # On the blocking pool: yield or await what these return.

    def read(self, size: int | None = -1, /) -> Spawned[AnyStr]:
        return spawn_blocking(self._wrapped.read, -1 if size is None else size)

    def read1(self: IOWrapper[bytes], size: int = -1, /) -> Spawned[bytes]:
        return spawn_blocking(getattr(self._wrapped, 'read1'), size)  # noqa: B009

    def readall(self: IOWrapper[bytes]) -> Spawned[bytes]:
        return spawn_blocking(getattr(self._wrapped, 'readall'))  # noqa: B009

    def readinto(self: IOWrapper[bytes], buffer: Any, /) -> Spawned[int | None]:
        return spawn_blocking(getattr(self._wrapped, 'readinto'), buffer)  # noqa: B009

    def readinto1(self: IOWrapper[bytes], buffer: Any, /) -> Spawned[int]:
        return spawn_blocking(getattr(self._wrapped, 'readinto1'), buffer)  # noqa: B009

    def peek(self: IOWrapper[bytes], size: int = 0, /) -> Spawned[bytes]:
        return spawn_blocking(getattr(self._wrapped, 'peek'), size)  # noqa: B009

    def readline(self, size: int | None = -1, /) -> Spawned[AnyStr]:
        return spawn_blocking(self._wrapped.readline, -1 if size is None else size)

    def readlines(self, hint: int = -1, /) -> Spawned[list[AnyStr]]:
        return spawn_blocking(self._wrapped.readlines, hint)

    def write(self, data: AnyStr, /) -> Spawned[int]:
        return spawn_blocking(self._wrapped.write, data)

    def writelines(self, lines: Iterable[AnyStr], /) -> Spawned[None]:
        return spawn_blocking(self._wrapped.writelines, lines)

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> Spawned[int]:
        return spawn_blocking(self._wrapped.seek, offset, whence)

    def tell(self) -> Spawned[int]:
        return spawn_blocking(self._wrapped.tell)

    def truncate(self, size: int | None = None, /) -> Spawned[int]:
        return spawn_blocking(self._wrapped.truncate, size)

    def flush(self) -> Spawned[None]:
        return spawn_blocking(self._wrapped.flush)

    def close(self) -> Spawned[None]:
        return spawn_blocking(self._wrapped.close)

    def detach(self) -> Spawned[IOWrapper[Any]]:
        """Detaches the underlying buffer or raw stream (on the pool) and wraps it."""
        return spawn_blocking(_detach, self._wrapped)

    # Generator syntax: `with` closes the file on the worker (see the module documentation).

    def __enter__(self) -> IOWrapper[AnyStr]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._wrapped.close()

    def __iter__(self) -> NoReturn:
        raise TypeError(_NOT_ITERABLE)

    # async def syntax.

    async def __aenter__(self) -> IOWrapper[AnyStr]:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def __aiter__(self) -> IOWrapper[AnyStr]:
        return self

    async def __anext__(self) -> AnyStr:
        line = await self.readline()
        if not line:
            raise StopAsyncIteration
        return line


def _detach(file: Any) -> IOWrapper[Any]:
    return wrap_file(file.detach())


@overload
def wrap_file(file: IO[AnyStr]) -> IOWrapper[AnyStr]: ...
@overload
def wrap_file(file: Any) -> IOWrapper[Any]: ...
def wrap_file(file: Any) -> IOWrapper[Any]:
    """Adopts an open file object (anything with ``close`` and ``read`` or ``write``)."""

    def has(method: str) -> bool:
        return callable(getattr(file, method, None))

    if not (has('close') and (has('read') or has('write'))):
        raise TypeError(
            f'wrap_file() takes a file object (with close() and read() or write()), '
            f'not {type(file).__name__}'
        )
    return IOWrapper(file)


def _close(file: IOWrapper[Any]) -> None:
    file.wrapped.close()


@overload
def open_file(
    file: _OpenFile,
    mode: OpenTextMode = 'r',
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: _Opener | None = None,
) -> GeneratorCoroutine[IOWrapper[str]]: ...
@overload
def open_file(
    file: _OpenFile,
    mode: OpenBinaryMode,
    buffering: int = -1,
    encoding: None = None,
    errors: None = None,
    newline: None = None,
    closefd: bool = True,
    opener: _Opener | None = None,
) -> GeneratorCoroutine[IOWrapper[bytes]]: ...
@overload
def open_file(
    file: _OpenFile,
    mode: str,
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: _Opener | None = None,
) -> GeneratorCoroutine[IOWrapper[Any]]: ...
def open_file(
    file: _OpenFile,
    mode: str = 'r',
    buffering: int = -1,
    encoding: str | None = None,
    errors: str | None = None,
    newline: str | None = None,
    closefd: bool = True,
    opener: _Opener | None = None,
) -> GeneratorCoroutine[IOWrapper[Any]]:
    """``open()`` on the blocking pool (the same arguments and errors); yield or await the
    result for an ``IOWrapper``. A caller cancelled meanwhile never leaks the file."""

    def make() -> IOWrapper[Any]:
        return IOWrapper(open(file, mode, buffering, encoding, errors, newline, closefd, opener))

    return make_on_pool(make, _close)
