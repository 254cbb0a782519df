"""tonio.fs in generator syntax (tests/colored/test_fs.py mirrors it)."""

import errno
import io
import os
import pathlib
import threading
import time

import pytest

import tonio
import tonio.fs as fs

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


def test_write_then_read_back(tmp_path):
    name = tmp_path / 'data.txt'
    f = yield fs.open(name, 'w')
    assert isinstance(f, fs.IOWrapper)
    assert (yield f.write('hello\n')) == 6
    yield f.writelines(['one\n', 'two\n'])
    yield f.flush()
    assert (yield f.tell()) == 14
    yield f.close()
    assert f.closed
    f = yield fs.open(name)
    try:
        assert f.encoding and f.errors == 'strict'
        assert (yield f.readline()) == 'hello\n'
        assert (yield f.readlines()) == ['one\n', 'two\n']
        assert (yield f.read()) == ''
        assert (yield f.seek(0)) == 0
        assert (yield f.read(5)) == 'hello'
    finally:
        yield f.close()


def test_binary_files_seek_truncate_and_attributes(tmp_path):
    name = tmp_path / 'data.bin'
    f = yield fs.open(name, 'w+b')
    try:
        assert f.name == str(name)
        assert f.mode == 'rb+'
        assert f.readable() and f.writable() and f.seekable() and not f.isatty()
        assert f.fileno() == f.wrapped.fileno()
        yield f.write(b'0123456789')
        assert (yield f.truncate(4)) == 4
        yield f.seek(0)
        assert (yield f.read()) == b'0123'
        buffer = bytearray(2)
        yield f.seek(1)
        assert (yield f.readinto(buffer)) == 2
        assert buffer == b'12'
        yield f.seek(0)
        assert (yield f.peek(1))[:1] == b'0'
        assert (yield f.read1(2)) == b'01'
    finally:
        yield f.close()
    assert name.read_bytes() == b'0123'


def test_file_calls_run_on_the_blocking_pool():
    threads = []

    class Recording(io.StringIO):
        def read(self, *args):
            threads.append(threading.get_ident())
            return super().read(*args)

    f = fs.wrap_file(Recording('text'))
    assert (yield f.read()) == 'text'
    assert threads and threads[0] != threading.get_ident()


def test_reading_lines_in_generator_syntax(tmp_path):
    name = tmp_path / 'lines.txt'
    name.write_text('a\nb\nc')
    f = yield fs.open(name)
    lines = []
    try:
        while line := (yield f.readline()):
            lines.append(line)
    finally:
        yield f.close()
    assert lines == ['a\n', 'b\n', 'c']


def test_iterating_a_file_without_async_for_says_how_to_read_lines():
    f = fs.wrap_file(io.StringIO('x'))
    with pytest.raises(TypeError, match='readline'):
        iter(f)
    yield f.close()


def test_with_closes_the_file(tmp_path):
    name = tmp_path / 'with.txt'
    with (yield fs.open(name, 'w')) as f:
        yield f.write('written')
    assert f.closed
    assert name.read_text() == 'written'
    assert not descriptors_of(name)


def test_errors_are_the_ones_open_raises(tmp_path):
    with pytest.raises(FileNotFoundError):
        yield fs.open(tmp_path / 'missing')
    with pytest.raises(IsADirectoryError):
        yield fs.open(tmp_path, 'w')
    with pytest.raises(ValueError, match='mode'):
        yield fs.open(tmp_path / 'x', 'rw+x')
    f = yield fs.open(tmp_path / 'x', 'w')
    yield f.close()
    with pytest.raises(ValueError, match='closed'):
        yield f.write('too late')


def test_wrap_file_adopts_open_file_objects():
    f = fs.wrap_file(io.BytesIO(b'abc'))
    assert (yield f.read()) == b'abc'
    text = fs.wrap_file(io.TextIOWrapper(io.BytesIO(b'x'), encoding='ascii'))
    raw = yield text.detach()
    assert isinstance(raw, fs.IOWrapper)
    assert isinstance(raw.wrapped, io.BytesIO)
    with pytest.raises(TypeError, match='file object'):
        fs.wrap_file(42)
    with pytest.raises(TypeError, match='file object'):
        fs.wrap_file(object())


def test_a_task_cancelled_while_the_file_opens_never_leaks_it(tmp_path):
    name = tmp_path / 'opened.txt'
    entered = threading.Event()
    release = threading.Event()

    def slow_opener(path, flags):
        entered.set()
        release.wait(10)
        return os.open(path, flags, 0o666)

    reached = []

    def opening():
        yield fs.open(name, 'w', opener=slow_opener)
        reached.append('opened')

    with tonio.scope() as scope:
        scope.spawn(opening())
        yield tonio.spawn_blocking(entered.wait, 10)
        scope.cancel()
        release.set()
    yield scope()
    assert not reached
    assert name.exists()
    assert not descriptors_of(name)


def test_cancelling_a_file_call_stops_it_at_its_next_bytecode():
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
        yield tonio.spawn_blocking(started.wait, 10)
        scope.cancel()
    yield scope()
    assert (yield tonio.spawn_blocking(stopped.wait, 10))


def test_pure_path_operations_stay_synchronous_and_give_paths():
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
    yield tonio.sleep(0)


def test_path_filesystem_operations(tmp_path):
    root = fs.Path(tmp_path)
    directory = root / 'd'
    assert not (yield directory.exists())
    yield (directory / 'e').mkdir(parents=True)
    assert (yield directory.is_dir())
    assert not (yield directory.is_file())
    text = directory / 'f.txt'
    assert (yield text.write_text('hi')) == 2
    assert (yield text.read_text()) == 'hi'
    assert (yield text.is_file())
    yield text.write_bytes(b'\x00\x01')
    assert (yield text.read_bytes()) == b'\x00\x01'
    assert (yield text.stat()).st_size == 2
    assert (yield text.lstat()).st_size == 2
    renamed = yield text.rename(directory / 'g.txt')
    assert isinstance(renamed, fs.Path)
    assert renamed == directory / 'g.txt'
    replaced = yield renamed.replace(directory / 'h.txt')
    assert isinstance(replaced, fs.Path)
    yield (directory / 't').touch()
    listed = yield directory.iterdir()
    assert isinstance(listed, list)
    assert all(isinstance(entry, fs.Path) for entry in listed)
    assert sorted(listed) == [directory / 'e', directory / 'h.txt', directory / 't']
    yield (directory / 't').unlink()
    yield (directory / 't').unlink(missing_ok=True)
    yield (directory / 'e').rmdir()
    yield replaced.chmod(0o600)
    assert (yield replaced.stat()).st_mode & 0o777 == 0o600
    assert (yield replaced.owner())
    assert (yield replaced.group())
    assert sorted((yield directory.iterdir())) == [directory / 'h.txt']


def test_path_errors_are_the_pathlib_errors(tmp_path):
    root = fs.Path(tmp_path)
    (tmp_path / 'full').mkdir()
    (tmp_path / 'full' / 'file').touch()
    with pytest.raises(FileNotFoundError):
        yield (root / 'missing').read_text()
    with pytest.raises(FileExistsError):
        yield (root / 'full').mkdir()
    with pytest.raises(OSError) as raised:
        yield (root / 'full').rmdir()
    assert raised.value.errno == errno.ENOTEMPTY
    with pytest.raises(NotADirectoryError):
        yield (root / 'full' / 'file').iterdir()
    with pytest.raises(FileNotFoundError):
        yield (root / 'missing').unlink()


def test_glob_rglob_and_walk_give_lists_in_one_hop(tmp_path):
    (tmp_path / 'a' / 'b').mkdir(parents=True)
    for name in ('a/x.py', 'a/b/y.py', 'c.txt', 'a/b/z.txt'):
        (tmp_path / name).touch()
    (tmp_path / 'link').symlink_to(tmp_path / 'a')
    root = fs.Path(tmp_path)
    found = yield root.glob('*.txt')
    assert found == [root / 'c.txt']
    assert isinstance(found[0], fs.Path)
    found = yield root.rglob('*.py')
    assert sorted(found) == [root / 'a' / 'b' / 'y.py', root / 'a' / 'x.py']
    for top_down in (True, False):
        walked = yield root.walk(top_down=top_down)
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
    assert (yield (root / 'missing').walk(on_error=errors.append)) == []
    assert isinstance(errors[0], FileNotFoundError)


def test_links_resolve_and_the_current_directory(tmp_path):
    root = fs.Path(tmp_path)
    target = root / 'target'
    yield target.write_text('x')
    link = root / 'link'
    yield link.symlink_to(target)
    assert (yield link.is_symlink())
    assert (yield link.readlink()) == target
    resolved = yield link.resolve()
    assert isinstance(resolved, fs.Path)
    assert resolved == pathlib.Path(link).resolve()
    assert (yield link.samefile(target))
    assert (yield link.samefile(str(target)))
    hard = root / 'hard'
    yield hard.hardlink_to(target)
    assert (yield target.stat()).st_nlink == 2
    cwd = yield fs.Path.cwd()
    assert isinstance(cwd, fs.Path)
    assert cwd == pathlib.Path.cwd()
    assert (yield fs.Path('x').absolute()) == pathlib.Path('x').absolute()
    assert (yield fs.Path('~').expanduser()) == pathlib.Path('~').expanduser()
    assert (yield fs.Path.home()) == pathlib.Path.home()
    assert not (yield (root / 'missing').is_symlink())
    assert not (yield target.is_fifo())
    assert not (yield target.is_socket())
    assert not (yield target.is_block_device())
    assert not (yield target.is_char_device())
    assert not (yield target.is_mount())


def test_path_open(tmp_path):
    path = fs.Path(tmp_path) / 'opened.txt'
    f = yield path.open('w')
    yield f.write('through Path.open')
    yield f.close()
    f = yield path.open('rb')
    try:
        assert (yield f.read()) == b'through Path.open'
    finally:
        yield f.close()
