"""The typed sample programs of tests/typing/ (which `make lint` type-checks) also run, so what
their annotations claim is what tonio does."""

import importlib.util
import threading
from pathlib import Path

import pytest

SAMPLES = Path(__file__).resolve().parents[1] / 'typing'


@pytest.mark.parametrize('name', ['generator_syntax', 'await_syntax'])
def test_the_typed_sample_runs(name):
    spec = importlib.util.spec_from_file_location(f'typing_sample_{name}', SAMPLES / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    outcome = {}

    def target():
        try:
            module.run()
            outcome['ok'] = True
        except BaseException as error:
            outcome['error'] = error

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(60)
    assert not thread.is_alive(), f'{name}.py did not finish within 60 s'
    if 'error' in outcome:
        raise outcome['error']
    assert outcome == {'ok': True}
