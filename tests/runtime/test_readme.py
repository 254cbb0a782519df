"""The examples in README.md run and their assertions hold; an example that is a pytest test
file (its first line `# test_name.py`) passes under pytest with tonio's plugin."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / 'README.md'
EXAMPLES = re.findall(r'```python\n(.*?)```', README.read_text(), re.S)
TEST_FILES = [example for example in EXAMPLES if re.match(r'# test_\w+\.py\n', example)]


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize('source', EXAMPLES, ids=[f'example{i}' for i in range(len(EXAMPLES))])
def test_readme_example_runs(source):
    exec(compile(source, str(README), 'exec'), {'__name__': 'readme_example'})


def test_the_readme_has_a_pytest_example():
    assert TEST_FILES


@pytest.mark.parametrize(
    'source', TEST_FILES, ids=[f'test_file{i}' for i in range(len(TEST_FILES))]
)
def test_readme_test_file_passes(pytester, source):
    name = source.split('\n', 1)[0].removeprefix('# ').removesuffix('.py')
    pytester.makepyfile(**{name: source})
    outcomes = pytester.runpytest('-p', 'no:cacheprovider').parseoutcomes()
    assert outcomes.get('passed', 0) >= 1
    assert set(outcomes) <= {'passed', 'seconds'}, outcomes
