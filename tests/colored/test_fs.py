"""tonio.colored.fs in async def syntax (mirrors tests/yielding/test_fs.py)."""

import errno
import io
import os
import pathlib
import threading
import time

import pytest

import tonio.colored as tonio
import tonio.colored.fs as fs

pytestmark = pytest.mark.tonio


def descriptors_of(name):
    """This process's open descriptors on the file ``name``."""
    found = []
    for entry in os.listdir('/proc/self/fd'):
        try:
            if os.readlink(f'/proc/self/fd/{entry}') == str(name):
                found.append(int(entry))
        except OSError:
            pass
    return found


async def test_write_then_read_back(tmp_path):
    name = tmp_path / 'data.txt'
    f = await fs.open(name, 'w')
    assert isinstance(f, fs.IOWrapper)
    assert (await f.write('hello\n')) == 6
    await f.writelines(['one\n', 'two\n'])
    await f.flush()
    assert (await f.tell()) == 14
    await f.close()
    assert f.closed
    f = await fs.open(name)
    try:
        assert f.encoding and f.errors == 'strict'
        assert (await f.readline()) == 'hello\n'
        assert (await f.readlines()) == ['one\n', 'two\n']
        assert (await f.read()) == ''
        assert (await f.seek(0)) == 0
        assert (await f.read(5)) == 'hello'
    finally:
        await f.close()


async def test_binary_files_seek_truncate_and_attributes(tmp_path):
    name = tmp_path / 'data.bin'
    f = await fs.open(name, 'w+b')
    try:
        assert f.name == str(name)
        assert f.mode == 'rb+'
        assert f.readable() and f.writable() and f.seekable() and not f.isatty()
        assert f.fileno() == f.wrapped.fileno()
        await f.write(b'0123456789')
        assert (await f.truncate(4)) == 4
        await f.seek(0)
        assert (await f.read()) == b'0123'
        buffer = bytearray(2)
        await f.seek(1)
        assert (await f.readinto(buffer)) == 2
        assert buffer == b'12'
        await f.seek(0)
        assert (await f.peek(1))[:1] == b'0'
        assert (await f.read1(2)) == b'01'
    finally:
        await f.close()
    assert name.read_bytes() == b'0123'


async def test_file_calls_run_on_the_blocking_pool():
    threads = []

    class Recording(io.StringIO):
        def read(self, *args):
            threads.append(threading.get_ident())
            return super().read(*args)

    f = fs.wrap_file(Recording('text'))
    assert (await f.read()) == 'text'
    assert threads and threads[0] != threading.get_ident()


async def test_async_for_reads_lines(tmp_path):
    name = tmp_path / 'lines.txt'
    name.write_text('a\nb\nc')
    async with await fs.open(name) as f:
        lines = [line async for line in f]
    assert lines == ['a\n', 'b\n', 'c']
    async with await fs.open(name, 'rb') as f:
        assert [line async for line in f] == [b'a\n', b'b\n', b'c']


async def test_iterating_a_file_without_async_for_says_how_to_read_lines():
    f = fs.wrap_file(io.StringIO('x'))
    with pytest.raises(TypeError, match='readline'):
        iter(f)
    await f.close()


async def test_async_with_closes_the_file_on_the_pool(tmp_path):
    name = tmp_path / 'with.txt'
    closed_on = []

    class Recording(io.StringIO):
        def close(self):
            closed_on.append(threading.get_ident())
            super().close()

    async with fs.wrap_file(Recording()) as f:
        await f.write('x')
    assert f.closed
    assert closed_on and closed_on[0] != threading.get_ident()
    async with await fs.open(name, 'w') as f:
        await f.write('written')
    assert f.closed
    assert name.read_text() == 'written'
    assert not descriptors_of(name)
    with await fs.open(name) as f:  # a plain `with` closes it too
        assert await f.read() == 'written'
    assert f.closed


async def test_errors_are_the_ones_open_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        await fs.open(tmp_path / 'missing')
    with pytest.raises(IsADirectoryError):
        await fs.open(tmp_path, 'w')
    with pytest.raises(ValueError, match='mode'):
        await fs.open(tmp_path / 'x', 'rw+x')
    f = await fs.open(tmp_path / 'x', 'w')
    await f.close()
    with pytest.raises(ValueError, match='closed'):
        await f.write('too late')


async def test_wrap_file_adopts_open_file_objects():
    f = fs.wrap_file(io.BytesIO(b'abc'))
    assert (await f.read()) == b'abc'
    text = fs.wrap_file(io.TextIOWrapper(io.BytesIO(b'x'), encoding='ascii'))
    raw = await text.detach()
    assert isinstance(raw, fs.IOWrapper)
    assert isinstance(raw.wrapped, io.BytesIO)
    with pytest.raises(TypeError, match='file object'):
        fs.wrap_file(42)
    with pytest.raises(TypeError, match='file object'):
        fs.wrap_file(object())


async def test_a_task_cancelled_while_the_file_opens_never_leaks_it(tmp_path):
    name = tmp_path / 'opened.txt'
    entered = threading.Event()
    release = threading.Event()

    def slow_opener(path, flags):
        entered.set()
        release.wait(10)
        return os.open(path, flags, 0o666)

    reached = []

    async def opening():
        await fs.open(name, 'w', opener=slow_opener)
        reached.append('opened')

    with tonio.scope() as scope:
        scope.spawn(opening())
        await tonio.spawn_blocking(entered.wait, 10)
        scope.cancel()
        release.set()
    await scope()
    assert not reached
    assert name.exists()
    assert not descriptors_of(name)


async def test_cancelling_a_file_call_stops_it_at_its_next_bytecode():
    started = threading.Event()
    stopped = threading.Event()

    class Endless:
        def read(self, size=-1):
            started.set()
            try:
                while True:
                    time.sleep(0.001)
            except tonio.CancelledError:
                stopped.set()
                raise

        def close(self):
            pass

    f = fs.wrap_file(Endless())
    with tonio.scope() as scope:
        scope.spawn(f.read())
        await tonio.spawn_blocking(started.wait, 10)
        scope.cancel()
    await scope()
    assert await tonio.spawn_blocking(stopped.wait, 10)


async def test_pure_path_operations_stay_synchronous_and_give_paths():
    path = fs.Path('/a/b') / 'c.txt'
    assert type(path) is fs.PosixPath
    assert isinstance(path, fs.Path)
    assert isinstance(path.parent, fs.Path)
    assert isinstance(path.relative_to('/a'), fs.Path)
    assert path.with_suffix('.md') == fs.Path('/a/b/c.md')
    assert path.name == 'c.txt'
    assert path.parts == ('/', 'a', 'b', 'c.txt')
    assert path == pathlib.PurePosixPath('/a/b/c.txt')
    assert os.fspath(path) == '/a/b/c.txt'
    assert repr(path) == "tonio.fs.Path('/a/b/c.txt')"
    assert path.as_uri() == 'file:///a/b/c.txt'
    await tonio.sleep(0)


async def test_path_filesystem_operations(tmp_path):
    root = fs.Path(tmp_path)
    directory = root / 'd'
    assert not await directory.exists()
    await (directory / 'e').mkdir(parents=True)
    assert await directory.is_dir()
    assert not await directory.is_file()
    text = directory / 'f.txt'
    assert (await text.write_text('hi')) == 2
    assert (await text.read_text()) == 'hi'
    assert await text.is_file()
    await text.write_bytes(b'\x00\x01')
    assert (await text.read_bytes()) == b'\x00\x01'
    assert (await text.stat()).st_size == 2
    assert (await text.lstat()).st_size == 2
    renamed = await text.rename(directory / 'g.txt')
    assert isinstance(renamed, fs.Path)
    assert renamed == directory / 'g.txt'
    replaced = await renamed.replace(directory / 'h.txt')
    assert isinstance(replaced, fs.Path)
    await (directory / 't').touch()
    listed = await directory.iterdir()
    assert isinstance(listed, list)
    assert all(isinstance(entry, fs.Path) for entry in listed)
    assert sorted(listed) == [directory / 'e', directory / 'h.txt', directory / 't']
    await (directory / 't').unlink()
    await (directory / 't').unlink(missing_ok=True)
    await (directory / 'e').rmdir()
    await replaced.chmod(0o600)
    assert (await replaced.stat()).st_mode & 0o777 == 0o600
    assert await replaced.owner()
    assert await replaced.group()
    assert sorted(await directory.iterdir()) == [directory / 'h.txt']


async def test_path_errors_are_the_pathlib_errors(tmp_path):
    root = fs.Path(tmp_path)
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'file').touch()
    with pytest.raises(FileNotFoundError):
        await (root / 'missing').read_text()
    with pytest.raises(FileExistsError):
        await (root / 'full').mkdir()
    with pytest.raises(OSError) as raised:
        await (root / 'full').rmdir()
    assert raised.value.errno == errno.ENOTEMPTY
    with pytest.raises(NotADirectoryError):
        await (root / 'full' / 'file').iterdir()
    with pytest.raises(FileNotFoundError):
        await (root / 'missing').unlink()


async def test_glob_rglob_and_walk_give_lists_in_one_hop(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    for name in ('a/x.py', 'a/b/y.py', 'c.txt', 'a/b/z.txt'):
        (tmp_path / name).touch()
    (tmp_path / 'link').symlink_to(tmp_path / 'a')
    root = fs.Path(tmp_path)
    found = await root.glob('*.txt')
    assert found == [root / 'c.txt']
    assert isinstance(found[0], fs.Path)
    found = await root.rglob('*.py')
    assert sorted(found) == [root / 'a' / 'b' / 'y.py', root / 'a' / 'x.py']
    for top_down in (True, False):
        walked = await root.walk(top_down=top_down)
        assert all(isinstance(directory, fs.Path) for directory, _, _ in walked)
        expected = [
            (fs.Path(directory), sorted(dirnames), sorted(filenames))
            for directory, dirnames, filenames in os.walk(tmp_path, topdown=top_down)
        ]
        # pathlib lists a symlink to a directory among the files (os.walk: the directories).
        expected[-1 if not top_down else 0][1].remove('link')
        expected[-1 if not top_down else 0][2].append('link')
        assert [(d, sorted(dn), sorted(fn)) for d, dn, fn in walked] == [
            (d, dn, sorted(fn)) for d, dn, fn in expected
        ]
    errors = []
    assert (await (root / 'missing').walk(on_error=errors.append)) == []
    assert isinstance(errors[0], FileNotFoundError)


async def test_links_resolve_and_the_current_directory(tmp_path):
    root = fs.Path(tmp_path)
    target = root / 'target'
    await target.write_text('x')
    link = root / 'link'
    await link.symlink_to(target)
    assert await link.is_symlink()
    assert (await link.readlink()) == target
    resolved = await link.resolve()
    assert isinstance(resolved, fs.Path)
    assert resolved == pathlib.Path(link).resolve()
    assert await link.samefile(target)
    assert await link.samefile(str(target))
    hard = root / 'hard'
    await hard.hardlink_to(target)
    assert (await target.stat()).st_nlink == 2
    cwd = await fs.Path.cwd()
    assert isinstance(cwd, fs.Path)
    assert cwd == pathlib.Path.cwd()
    assert await fs.Path('x').absolute() == pathlib.Path('x').absolute()
    assert await fs.Path('~').expanduser() == pathlib.Path('~').expanduser()
    assert await fs.Path.home() == pathlib.Path.home()
    assert not await (root / 'missing').is_symlink()
    assert not await target.is_fifo()
    assert not await target.is_socket()
    assert not await target.is_block_device()
    assert not await target.is_char_device()
    assert not await target.is_mount()


async def test_path_open(tmp_path):
    path = fs.Path(tmp_path) / 'opened.txt'
    f = await path.open('w')
    await f.write('through Path.open')
    await f.close()
    f = await path.open('rb')
    try:
        assert (await f.read()) == b'through Path.open'
    finally:
        await f.close()
