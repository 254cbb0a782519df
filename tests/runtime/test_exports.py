"""Both syntaxes expose the same names, and the colored face adds no second implementation."""

import tonio
import tonio.colored
import tonio.colored.fs
import tonio.colored.time
import tonio.fs
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
