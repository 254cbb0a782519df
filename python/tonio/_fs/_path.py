"""``Path``: ``pathlib.Path`` whose filesystem operations run on the blocking pool.

``Path`` is a ``pathlib.PurePath``: pure operations (``/``, ``parent``, ``name``, ``with_suffix``,
``relative_to``, ``match``, ...) are the ordinary synchronous ones and return ``Path``s (on POSIX
``Path(...)`` makes a ``PosixPath``, as pathlib does). Every method that touches the filesystem
returns the ``Spawned`` handle of a blocking call (yield or await it) and raises what
``pathlib.Path`` raises. Methods that give paths give ``Path``s; those that give several
(``iterdir``, ``glob``, ``rglob``, ``walk``) give a list in one hop, so ``walk`` cannot be pruned
by editing ``dirnames``. ``walk`` exists on every supported Python (pathlib has it from 3.12).
"""

from __future__ import annotations

import os
import pathlib
import sys
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Concatenate, ParamSpec, TypeVar, overload

from .._tonio import Spawned, spawn_blocking
from .._types import GeneratorCoroutine
from ._file import IOWrapper, open_file

if TYPE_CHECKING:
    from typing import Self

    from _typeshed import OpenBinaryMode, OpenTextMode

_P = ParamSpec('_P')
_T = TypeVar('_T')
_PathT = TypeVar('_PathT', bound='Path')

_Walk = list[tuple[_PathT, list[str], list[str]]]


def _named(method: Callable[..., Any], original: Callable[..., Any]) -> None:
    method.__name__ = original.__name__
    method.__qualname__ = f'Path.{original.__name__}'
    method.__doc__ = f'``pathlib.Path.{original.__name__}`` on the blocking pool.'


def _on_pool(
    fn: Callable[Concatenate[pathlib.Path, _P], _T],
) -> Callable[Concatenate[Path, _P], Spawned[_T]]:
    """A method running ``fn`` (a ``pathlib.Path`` method) on the pool."""

    def method(self: Path, /, *args: _P.args, **kwargs: _P.kwargs) -> Spawned[_T]:
        return spawn_blocking(fn, self._concrete(), *args, **kwargs)

    _named(method, fn)
    return method


def _as_path(
    cls: type[_PathT],
    fn: Callable[Concatenate[pathlib.Path, _P], pathlib.Path],
    path: pathlib.Path,
    /,
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> _PathT:
    return cls(fn(path, *args, **kwargs))


def _as_paths(
    cls: type[_PathT],
    fn: Callable[Concatenate[pathlib.Path, _P], Iterable[pathlib.Path]],
    path: pathlib.Path,
    /,
    *args: _P.args,
    **kwargs: _P.kwargs,
) -> list[_PathT]:
    return [cls(found) for found in fn(path, *args, **kwargs)]


def _path_on_pool(
    fn: Callable[Concatenate[pathlib.Path, _P], pathlib.Path],
) -> Callable[Concatenate[_PathT, _P], Spawned[_PathT]]:
    """A method running ``fn`` on the pool and giving its path as a ``Path``."""

    def method(self: _PathT, /, *args: _P.args, **kwargs: _P.kwargs) -> Spawned[_PathT]:
        return spawn_blocking(_as_path, type(self), fn, self._concrete(), *args, **kwargs)

    _named(method, fn)
    return method


def _paths_on_pool(
    fn: Callable[Concatenate[pathlib.Path, _P], Iterable[pathlib.Path]],
) -> Callable[Concatenate[_PathT, _P], Spawned[list[_PathT]]]:
    """A method running ``fn`` on the pool and giving the paths it finds as a list."""

    def method(self: _PathT, /, *args: _P.args, **kwargs: _P.kwargs) -> Spawned[list[_PathT]]:
        return spawn_blocking(_as_paths, type(self), fn, self._concrete(), *args, **kwargs)

    _named(method, fn)
    return method


def _walk(
    cls: type[_PathT],
    top: pathlib.Path,
    top_down: bool,
    on_error: Callable[[OSError], object] | None,
    follow_symlinks: bool,
) -> _Walk[_PathT]:
    """``pathlib.Path.walk`` as a list (pathlib's own from Python 3.12, the same walk here on
    3.11: a symlink to a directory is a file unless ``follow_symlinks``)."""
    if sys.version_info >= (3, 12):
        walked = top.walk(top_down, on_error, follow_symlinks)
        return [(cls(path), dirnames, filenames) for path, dirnames, filenames in walked]
    # The same walk on 3.11: a stack of directories to scan and, bottom-up, of finished steps
    # waiting for everything below them.
    found: _Walk[_PathT] = []
    pending: list[pathlib.Path | tuple[_PathT, list[str], list[str]]] = [top]
    while pending:
        item = pending.pop()
        if isinstance(item, tuple):
            found.append(item)
            continue
        try:
            entries = list(os.scandir(item))
        except OSError as error:
            if on_error is not None:
                on_error(error)
            continue
        dirnames: list[str] = []
        filenames: list[str] = []
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
            except OSError:
                is_dir = False
            (dirnames if is_dir else filenames).append(entry.name)
        step = (cls(item), dirnames, filenames)
        if top_down:
            found.append(step)
        else:
            pending.append(step)
        pending.extend(item / name for name in reversed(dirnames))
    return found


class Path(pathlib.PurePath):
    """A path whose filesystem operations run on the blocking pool (see the module
    documentation); pure path operations stay synchronous."""

    __slots__ = ()

    _concrete_class: ClassVar[type[pathlib.Path]]

    def __new__(cls, *args: str | os.PathLike[str]) -> Self:
        if cls is Path:
            cls = WindowsPath if os.name == 'nt' else PosixPath  # type: ignore[assignment]
        return super().__new__(cls, *args)

    def _concrete(self) -> pathlib.Path:
        return self._concrete_class(self)

    def __repr__(self) -> str:
        return f'tonio.fs.Path({str(self)!r})'

    @classmethod
    def cwd(cls) -> Spawned[Self]:
        """``pathlib.Path.cwd`` on the blocking pool."""
        return spawn_blocking(_as_path, cls, _cwd, pathlib.Path())

    @classmethod
    def home(cls) -> Spawned[Self]:
        """``pathlib.Path.home`` on the blocking pool."""
        return spawn_blocking(_as_path, cls, _home, pathlib.Path())

    @overload
    def open(
        self,
        mode: OpenTextMode = 'r',
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> GeneratorCoroutine[IOWrapper[str]]: ...
    @overload
    def open(
        self,
        mode: OpenBinaryMode,
        buffering: int = -1,
        encoding: None = None,
        errors: None = None,
        newline: None = None,
    ) -> GeneratorCoroutine[IOWrapper[bytes]]: ...
    @overload
    def open(
        self,
        mode: str,
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> GeneratorCoroutine[IOWrapper[Any]]: ...
    def open(
        self,
        mode: str = 'r',
        buffering: int = -1,
        encoding: str | None = None,
        errors: str | None = None,
        newline: str | None = None,
    ) -> GeneratorCoroutine[IOWrapper[Any]]:
        """``tonio.fs.open`` of this path (yield or await it for an ``IOWrapper``)."""
        return open_file(self, mode, buffering, encoding, errors, newline)

    stat = _on_pool(pathlib.Path.stat)
    lstat = _on_pool(pathlib.Path.lstat)
    chmod = _on_pool(pathlib.Path.chmod)
    lchmod = _on_pool(pathlib.Path.lchmod)
    exists = _on_pool(pathlib.Path.exists)
    is_dir = _on_pool(pathlib.Path.is_dir)
    is_file = _on_pool(pathlib.Path.is_file)
    is_symlink = _on_pool(pathlib.Path.is_symlink)
    is_socket = _on_pool(pathlib.Path.is_socket)
    is_fifo = _on_pool(pathlib.Path.is_fifo)
    is_block_device = _on_pool(pathlib.Path.is_block_device)
    is_char_device = _on_pool(pathlib.Path.is_char_device)
    is_mount = _on_pool(pathlib.Path.is_mount)
    owner = _on_pool(pathlib.Path.owner)
    group = _on_pool(pathlib.Path.group)
    mkdir = _on_pool(pathlib.Path.mkdir)
    rmdir = _on_pool(pathlib.Path.rmdir)
    touch = _on_pool(pathlib.Path.touch)
    unlink = _on_pool(pathlib.Path.unlink)
    read_bytes = _on_pool(pathlib.Path.read_bytes)
    read_text = _on_pool(pathlib.Path.read_text)
    write_bytes = _on_pool(pathlib.Path.write_bytes)
    write_text = _on_pool(pathlib.Path.write_text)
    symlink_to = _on_pool(pathlib.Path.symlink_to)
    hardlink_to = _on_pool(pathlib.Path.hardlink_to)

    readlink = _path_on_pool(pathlib.Path.readlink)
    rename = _path_on_pool(pathlib.Path.rename)
    replace = _path_on_pool(pathlib.Path.replace)
    resolve = _path_on_pool(pathlib.Path.resolve)
    absolute = _path_on_pool(pathlib.Path.absolute)
    expanduser = _path_on_pool(pathlib.Path.expanduser)

    iterdir = _paths_on_pool(pathlib.Path.iterdir)
    glob = _paths_on_pool(pathlib.Path.glob)
    rglob = _paths_on_pool(pathlib.Path.rglob)

    def samefile(self, other_path: str | os.PathLike[str]) -> Spawned[bool]:
        """``pathlib.Path.samefile`` on the blocking pool."""
        return spawn_blocking(self._concrete().samefile, os.fspath(other_path))

    def walk(
        self,
        top_down: bool = True,
        on_error: Callable[[OSError], object] | None = None,
        follow_symlinks: bool = False,
    ) -> Spawned[list[tuple[Self, list[str], list[str]]]]:
        """``pathlib.Path.walk`` on the blocking pool, as a list of ``(dirpath, dirnames,
        filenames)`` (editing ``dirnames`` prunes nothing: the walk is over)."""
        return spawn_blocking(
            _walk, type(self), self._concrete(), top_down, on_error, follow_symlinks
        )

    if sys.version_info >= (3, 12):
        is_junction = _on_pool(pathlib.Path.is_junction)

    if sys.version_info >= (3, 13):

        @classmethod
        def from_uri(cls, uri: str) -> Self:
            """``pathlib.Path.from_uri`` (pure: no filesystem access)."""
            return cls(pathlib.Path.from_uri(uri))

    if sys.version_info >= (3, 14):

        def copy(self, target: str | os.PathLike[str], **kwargs: Any) -> Spawned[Self]:
            """``pathlib.Path.copy`` on the blocking pool."""
            concrete = self._concrete()
            return spawn_blocking(_as_path, type(self), concrete.copy, os.fspath(target), **kwargs)

        def copy_into(self, target_dir: str | os.PathLike[str], **kwargs: Any) -> Spawned[Self]:
            """``pathlib.Path.copy_into`` on the blocking pool."""
            concrete = self._concrete()
            target = os.fspath(target_dir)
            return spawn_blocking(_as_path, type(self), concrete.copy_into, target, **kwargs)

        def move(self, target: str | os.PathLike[str]) -> Spawned[Self]:
            """``pathlib.Path.move`` on the blocking pool."""
            concrete = self._concrete()
            return spawn_blocking(_as_path, type(self), concrete.move, os.fspath(target))

        def move_into(self, target_dir: str | os.PathLike[str]) -> Spawned[Self]:
            """``pathlib.Path.move_into`` on the blocking pool."""
            concrete = self._concrete()
            return spawn_blocking(_as_path, type(self), concrete.move_into, os.fspath(target_dir))


def _cwd(_: pathlib.Path) -> pathlib.Path:
    return pathlib.Path.cwd()


def _home(_: pathlib.Path) -> pathlib.Path:
    return pathlib.Path.home()


class PosixPath(Path, pathlib.PurePosixPath):
    """``Path`` on POSIX systems."""

    __slots__ = ()
    _concrete_class = pathlib.PosixPath


class WindowsPath(Path, pathlib.PureWindowsPath):
    """``Path`` on Windows."""

    __slots__ = ()
    _concrete_class = pathlib.WindowsPath
