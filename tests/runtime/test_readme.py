"""The examples in README.md run and their assertions hold."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / 'README.md'
EXAMPLES = re.findall(r'```python\n(.*?)```', README.read_text(), re.S)


def test_the_readme_has_examples():
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize('source', EXAMPLES, ids=[f'example{i}' for i in range(len(EXAMPLES))])
def test_readme_example_runs(source):
    exec(compile(source, str(README), 'exec'), {'__name__': 'readme_example'})
