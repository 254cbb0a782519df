import sys
import sysconfig

import pytest

FREE_THREADED = bool(sysconfig.get_config_var('Py_GIL_DISABLED')) and not getattr(
    sys, '_is_gil_enabled', lambda: True
)()


@pytest.fixture
def unraisable(monkeypatch):
    """Collects what tonio reports through sys.unraisablehook instead of printing it."""
    reported = []
    monkeypatch.setattr(sys, 'unraisablehook', reported.append)
    return reported


@pytest.fixture(params=[1, 4], ids=['threads1', 'threads4'])
def threads(request):
    return request.param
