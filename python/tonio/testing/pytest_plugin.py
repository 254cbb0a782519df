"""tonio's pytest plugin, registered as the ``pytest11`` entry point ``tonio``.

- ``@pytest.mark.tonio`` (also on a class, or as a module's ``pytestmark``) runs a generator test
  or an ``async def`` test on the session's runtime; with ``tonio_mode = "auto"`` in the pytest
  configuration every such test runs there without a mark.
- ``async def`` fixtures, async generator fixtures included (their code after ``yield`` is the
  teardown), run on the same runtime when a tonio test uses them (in auto mode: always). Plain
  generator fixtures are pytest's own: they cannot be told apart from generator-syntax
  coroutines, so they are left alone; the ``tonio_run`` fixture runs a coroutine from them.
- One runtime per session (the ``tonio_runtime`` fixture), made with the options of the
  session-scoped ``tonio_runtime_options`` fixture over the defaults (``context=True``,
  ``threads=2``); override that fixture in a ``conftest.py`` to change them, e.g. for
  ``virtual_clock``. A module or class that needs a runtime of its own overrides
  ``tonio_runtime`` there.
- Every run is bounded and loses no failure (``tonio.testing._bounded``): after ``tonio_timeout``
  seconds (default 60, 0 for none; ``@pytest.mark.tonio(timeout=s)`` for one test) the test is
  cancelled and fails, and a failure of a task nobody waited for fails the test.

Each test (and each async fixture's setup, and teardown) is one ``run_until_complete``, which
cancels the tasks still alive when it ends: a fixture's background tasks do not outlive its setup.
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import AsyncGenerator, Callable, Generator, Iterator, Mapping
from typing import Any, Protocol, TypeVar

import pytest
from _pytest.fixtures import FixtureDef, SubRequest, resolve_fixture_function

from .._runner import runtime as new_runtime
from .._tonio import Runtime
from .._types import AnyCoro, RuntimeOptions
from ._bounded import is_abandoned, run_bounded

_R = TypeVar('_R')

DEFAULT_OPTIONS: RuntimeOptions = {'context': True, 'threads': 2}
DEFAULT_TIMEOUT = 60.0


class TonioRun(Protocol):
    """The ``tonio_run`` fixture: runs a coroutine on the session's runtime, returns its result."""

    def __call__(self, coro: AnyCoro[_R], /) -> _R: ...


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        'tonio_mode',
        default='strict',
        help='tonio: "strict" runs the tests marked tonio on the runtime, "auto" every '
        'generator and async def test',
    )
    parser.addini(
        'tonio_timeout',
        default=str(DEFAULT_TIMEOUT),
        help='tonio: seconds a test or async fixture may run before it is cancelled and fails '
        '(0: no limit)',
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getini('tonio_mode') not in ('strict', 'auto'):
        raise pytest.UsageError('tonio_mode must be "strict" or "auto"')
    _ini_timeout(config)
    config.addinivalue_line(
        'markers',
        'tonio(timeout=None): run this generator or async def test on the tonio runtime '
        '(timeout: seconds, instead of tonio_timeout)',
    )


def _ini_timeout(config: pytest.Config) -> float:
    value = config.getini('tonio_timeout')
    try:
        return _seconds(float(value))
    except (TypeError, ValueError):
        raise pytest.UsageError(
            f'tonio_timeout must be a number of seconds (0: no limit), not {value!r}'
        ) from None


def _seconds(value: float) -> float:
    if not value >= 0:  # also refuses NaN
        raise ValueError(value)
    return value


def _auto(config: pytest.Config) -> bool:
    return bool(config.getini('tonio_mode') == 'auto')


def _is_coroutine_function(obj: object) -> bool:
    return inspect.iscoroutinefunction(obj) or inspect.isgeneratorfunction(obj)


@pytest.hookimpl(tryfirst=True)
def pytest_pycollect_makeitem(
    collector: pytest.Module | pytest.Class, name: str, obj: object
) -> list[pytest.Item] | None:
    if not collector.istestfunction(obj, name) or not _is_coroutine_function(obj):
        return None
    own_marks = getattr(obj, 'pytestmark', [])
    marked = collector.get_closest_marker('tonio') is not None or any(
        mark.name == 'tonio' for mark in own_marks
    )
    if not (marked or _auto(collector.config)):
        return None
    # The runtime first: async fixtures the test uses run on it.
    pytest.mark.usefixtures('tonio_runtime')(obj)
    if inspect.isgeneratorfunction(obj):
        # pytest refuses generator tests; these are generator-syntax coroutines.
        return list(collector._genfunctions(name, obj))
    return None


def _test_timeout(item: pytest.Item) -> float | None:
    mark = item.get_closest_marker('tonio')
    if mark is not None:
        unexpected = [key for key in mark.kwargs if key != 'timeout']
        if mark.args or unexpected:
            raise pytest.UsageError(
                f'{item.nodeid}: the tonio mark takes only timeout=seconds, '
                f'not {mark.args or unexpected}'
            )
        if 'timeout' in mark.kwargs:
            value = mark.kwargs['timeout']
            if value is None:
                return None
            try:
                return _seconds(float(value))
            except (TypeError, ValueError):
                raise pytest.UsageError(
                    f'{item.nodeid}: tonio(timeout=...) must be a number of seconds, not {value!r}'
                ) from None
    return _ini_timeout(item.config)


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    __tracebackhide__ = True
    test = pyfuncitem.obj
    if not _is_coroutine_function(test):
        return None
    if pyfuncitem.get_closest_marker('tonio') is None and not _auto(pyfuncitem.config):
        return None
    funcargs = pyfuncitem.funcargs
    runtime = funcargs.get('tonio_runtime')
    if not isinstance(runtime, Runtime):
        # Marked through pytest.param(marks=...): not known when it was collected.
        runtime = pyfuncitem._request.getfixturevalue('tonio_runtime')
    timeout = _test_timeout(pyfuncitem)  # a bad mark fails before the coroutine exists
    testargs = {arg: funcargs[arg] for arg in pyfuncitem._fixtureinfo.argnames}
    result = run_bounded(runtime, test(**testargs), timeout=timeout, what=f'test {pyfuncitem.name}')
    if result is not None:
        # As pytest does for plain tests.
        warnings.warn(
            pytest.PytestReturnNotNoneWarning(
                f'Test functions should return None, but {pyfuncitem.nodeid} returned '
                f'{type(result)!r}.'
            ),
            stacklevel=1,
        )
    return True


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: FixtureDef[Any], request: SubRequest
) -> Generator[None, Any, Any]:
    original = fixturedef.func
    if not (inspect.iscoroutinefunction(original) or inspect.isasyncgenfunction(original)):
        return (yield)
    if 'tonio_runtime' not in request.fixturenames and not _auto(request.config):
        # Not ours: pytest reports an async fixture nothing ran.
        return (yield)
    # pytest calls fixturedef.func; for the length of this setup it is a plain function (or
    # generator, for teardown) that runs the async one on the runtime.
    fixturedef.func = _on_runtime(fixturedef, request)  # type: ignore[misc]
    try:
        return (yield)
    finally:
        fixturedef.func = original  # type: ignore[misc]


def _on_runtime(fixturedef: FixtureDef[Any], request: SubRequest) -> Callable[..., Any]:
    fixture = resolve_fixture_function(fixturedef, request)  # bound to the test's instance
    runtime: Runtime = request.getfixturevalue('tonio_runtime')
    timeout = _ini_timeout(request.config)
    name = fixturedef.argname

    if inspect.isasyncgenfunction(fixture):

        def setup_and_teardown(**kwargs: Any) -> Iterator[Any]:
            __tracebackhide__ = True
            steps: AsyncGenerator[Any] = fixture(**kwargs)
            what = f'fixture {name} (setup)'
            value = run_bounded(runtime, _setup(steps, name), timeout=timeout, what=what)
            yield value
            what = f'fixture {name} (teardown)'
            run_bounded(runtime, _teardown(steps, name), timeout=timeout, what=what)

        return setup_and_teardown

    def setup(**kwargs: Any) -> Any:
        __tracebackhide__ = True
        return run_bounded(runtime, fixture(**kwargs), timeout=timeout, what=f'fixture {name}')

    return setup


async def _setup(steps: AsyncGenerator[_R], name: str) -> _R:
    try:
        return await anext(steps)
    except StopAsyncIteration:
        raise RuntimeError(f'async generator fixture {name} did not yield') from None


async def _teardown(steps: AsyncGenerator[Any], name: str) -> None:
    try:
        await anext(steps)
    except StopAsyncIteration:
        return
    await steps.aclose()
    raise RuntimeError(f'async generator fixture {name} yielded more than once')


@pytest.fixture(scope='session')
def tonio_runtime_options() -> RuntimeOptions:
    """Options for the session's runtime, over ``context=True, threads=2`` (override this
    fixture, session-scoped, to change them)."""
    return {}


@pytest.fixture(scope='session')
def tonio_runtime(tonio_runtime_options: RuntimeOptions) -> Iterator[Runtime]:
    """The runtime tonio tests and async fixtures run on, one per session."""
    if not isinstance(tonio_runtime_options, Mapping):
        raise TypeError(
            'the tonio_runtime_options fixture must return a dict of runtime options, not '
            f'{type(tonio_runtime_options).__name__}'
        )
    options: RuntimeOptions = {**DEFAULT_OPTIONS, **tonio_runtime_options}
    runtime = new_runtime(**options)
    yield runtime
    if not is_abandoned(runtime):
        runtime.close()


@pytest.fixture(scope='session')
def tonio_run(tonio_runtime: Runtime, pytestconfig: pytest.Config) -> TonioRun:
    """Runs a coroutine (generator or ``async def``) on the session's runtime and returns its
    result: for generator-syntax setup and teardown in plain generator fixtures."""
    timeout = _ini_timeout(pytestconfig)

    def run(coro: AnyCoro[_R], /) -> _R:
        return run_bounded(tonio_runtime, coro, timeout=timeout, what='tonio_run()')

    return run
