"""Both syntaxes expose the same names, and the colored face adds no second implementation."""

import tonio
import tonio.colored
import tonio.colored.fs
import tonio.colored.sync
import tonio.colored.sync.channel
import tonio.colored.time
import tonio.fs
import tonio.sync
import tonio.sync.channel
import tonio.time
import tonio.typing


def public(module):
    # isidentifier: pytest rewrites the asserts of a package that ships a pytest plugin, tonio
    # included, and leaves two names that are not identifiers (@py_builtins, @pytest_ar).
    return {name for name in dir(module) if not name.startswith('_') and name.isidentifier()}


# Submodules for both syntaxes alike, attributes of tonio once something imported them.
SHARED_SUBMODULES = {'colored', 'testing', 'typing'}


# Submodules for both syntaxes alike, attributes of tonio once something imported them.
SHARED_SUBMODULES = {'colored', 'testing', 'typing'}


def test_both_faces_export_the_same_names():
    assert public(tonio) - SHARED_SUBMODULES == public(tonio.colored)
    assert set(tonio.__all__) == set(tonio.colored.__all__)
    assert public(tonio.time) == public(tonio.colored.time)
    assert public(tonio.mark) == public(tonio.colored.mark) == set(tonio.mark.__all__)
    assert public(tonio.fs) - {'sys'} == public(tonio.colored.fs) - {'sys'}
    assert set(tonio.fs.__all__) == set(tonio.colored.fs.__all__)
    assert public(tonio.sync) == public(tonio.colored.sync)
    assert public(tonio.sync.channel) == public(tonio.colored.sync.channel)


def test_every_exported_name_exists():
    for module in (
        tonio,
        tonio.colored,
        tonio.time,
        tonio.colored.time,
        tonio.mark,
        tonio.typing,
        tonio.fs,
        tonio.colored.fs,
        tonio.sync,
        tonio.colored.sync,
        tonio.sync.channel,
        tonio.colored.sync.channel,
        tonio.exceptions,
    ):
        for name in module.__all__:
            assert hasattr(module, name), (module.__name__, name)


def test_the_colored_face_shares_the_core_objects():
    for name in ('Event', 'Waiter', 'spawn', 'sleep', 'yield_now', 'CancelledError', 'run'):
        assert getattr(tonio, name) is getattr(tonio.colored, name)
    for name in tonio.mark.__all__:
        assert getattr(tonio.mark, name) is getattr(tonio.colored.mark, name)
    for name in ('Process', 'open_process', 'run_process'):
        assert getattr(tonio, name) is getattr(tonio.colored, name)
    for name in tonio.fs.__all__:
        assert getattr(tonio.fs, name) is getattr(tonio.colored.fs, name)


def test_cancelled_error_is_a_base_exception():
    assert issubclass(tonio.exceptions.CancelledError, BaseException)
    assert not issubclass(tonio.exceptions.CancelledError, Exception)


def test_tonio_submodules_are_reachable_after_import_tonio_as_in_tonio():
    # TonIO code writes `import tonio` then `tonio.io.register(fd)` or
    # `from tonio.signals import signal_receiver`.
    for face in (tonio, tonio.colored):
        assert face.io.register is tonio.io.register
        assert face.io.FdStream is tonio.io.FdStream
        assert face.signals.signal_receiver is tonio.signal_receiver
        assert face.signals.SignalReceiver is tonio.SignalReceiver


def test_task_status_ignored_is_public_and_started_does_nothing():
    assert tonio.TASK_STATUS_IGNORED is tonio.colored.TASK_STATUS_IGNORED
    assert tonio.TASK_STATUS_IGNORED.started('anything') is None
    assert repr(tonio.TASK_STATUS_IGNORED) == 'TASK_STATUS_IGNORED'


def test_both_tls_faces_share_tonios_names_and_objects():
    import tonio.colored.net
    import tonio.net

    tonio_names = {
        'TLSListener',
        'TLSStream',
        'open_tls_over_tcp_listeners',
        'open_tls_over_tcp_stream',
        'serve_tls_over_tcp',
    }
    assert set(tonio.net.tls.__all__) == set(tonio.colored.net.tls.__all__) == tonio_names
    for name in tonio_names:
        assert getattr(tonio.net.tls, name) is getattr(tonio.colored.net.tls, name)
    assert 'tls' in tonio.net.__all__ and 'tls' in tonio.colored.net.__all__


def test_both_sync_faces_share_one_implementation():
    for name in tonio.sync.__all__:
        if name != 'channel':
            assert getattr(tonio.sync, name) is getattr(tonio.colored.sync, name)
    for name in tonio.sync.channel.__all__:
        assert getattr(tonio.sync.channel, name) is getattr(tonio.colored.sync.channel, name)


def test_sync_exceptions():
    assert issubclass(tonio.exceptions.WouldBlock, Exception)
    # TonIO raises BrokenPipeError on a closed channel: code catching that still works.
    assert issubclass(tonio.exceptions.ChannelClosedError, BrokenPipeError)
