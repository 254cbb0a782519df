import sys
import sysconfig

import pytest

pytest_plugins = ['pytester']

FREE_THREADED = (
    bool(sysconfig.get_config_var('Py_GIL_DISABLED'))
    and not getattr(sys, '_is_gil_enabled', lambda: True)()
)


@pytest.fixture
def unraisable(monkeypatch):
    """Collects what tonio reports through sys.unraisablehook instead of printing it."""
    reported = []
    monkeypatch.setattr(sys, 'unraisablehook', reported.append)
    return reported


@pytest.fixture(params=[1, 4], ids=['threads1', 'threads4'])
def threads(request):
    return request.param


def run_bounded(coro, timeout=60.0, **options):
    """Runs ``coro`` with tonio.run on a daemon thread and fails (instead of hanging the suite)
    if it has not finished after ``timeout`` seconds."""
    import threading

    import tonio

    outcome = {}

    def target():
        try:
            outcome['result'] = tonio.run(coro, **options)
        except BaseException as error:
            outcome['error'] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    assert not thread.is_alive(), f'the runtime did not finish within {timeout}s: a lost wakeup?'
    if 'error' in outcome:
        raise outcome['error']
    return outcome['result']
