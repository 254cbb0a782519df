"""Every example in README.md and docs/**/*.md runs, and its assertions hold.

- A ```python block is a program: it runs in a namespace of its own (as ``__main__``), and fails
  if it raises, or if anything reaches ``sys.unraisablehook`` while it runs (a failure nobody
  waited for; an example that shows one installs its own hook). The blocks of one Markdown file
  run one after the other in one subprocess of this interpreter, so a crash or a hang cannot take
  the suite down, and each is reported as its own test, named by file and line.
- A block whose first line is ``# test_name.py`` is a pytest file: it runs under pytester, with
  tonio's plugin, and every test in it must pass. A block whose first line names another file
  (``# conftest.py``; or an ```ini block starting ``# pytest.ini``) is written beside the next
  pytest-file block of the same Markdown file.
- Other fences (```text, ```console) are not run; keep them for output and shell sessions.

New Markdown files under docs/ are picked up without touching this test.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MARKDOWN = [ROOT / 'README.md', *sorted((ROOT / 'docs').rglob('*.md'))]
FENCE = re.compile(r'^```(python|ini)\n(.*?)^```\s*$', re.S | re.M)
FILE_HEADER = re.compile(r'# ([\w/]+\.(?:py|ini))\n')
BLOCK_TIMEOUT = 30  # seconds one block may run before the subprocess dumps its stacks and exits


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # of the block's first source line in the Markdown file
    source: str
    language: str

    @property
    def where(self) -> str:
        return f'{self.path.relative_to(ROOT)}:{self.line}'

    @property
    def first_line(self) -> str:
        return self.source.split('\n', 1)[0]

    @property
    def file_name(self) -> str | None:
        match = FILE_HEADER.match(self.source)
        return match.group(1) if match else None


def blocks(path: Path) -> list[Block]:
    text = path.read_text()
    found = [
        Block(path, text.count('\n', 0, match.start(2)) + 1, match.group(2), match.group(1))
        for match in FENCE.finditer(text)
    ]
    # An ini block is a file (its first line names it) or only shown.
    return [block for block in found if block.language == 'python' or block.file_name]


ALL_BLOCKS = [block for path in MARKDOWN for block in blocks(path)]
PROGRAMS = [block for block in ALL_BLOCKS if block.file_name is None]
PYTEST_FILES = [
    block for block in ALL_BLOCKS if (block.file_name or '').split('/')[-1].startswith('test_')
]


def support_files(test_file: Block) -> list[Block]:
    """The non-test file blocks between the previous pytest-file block and this one."""
    found: list[Block] = []
    for block in blocks(test_file.path):
        if block == test_file:
            return found
        name = block.file_name
        if name is not None:
            found = [] if name.split('/')[-1].startswith('test_') else [*found, block]
    raise AssertionError(f'{test_file.where} is not a block of its file')


# Runs in the subprocess: reads the blocks (JSON on stdin), runs each, prints one JSON line per
# block as soon as it is done ({"line": ..., "error": traceback or null}).
RUNNER = textwrap.dedent(
    """
    import faulthandler, json, sys, traceback

    blocks = json.load(sys.stdin)
    for block in blocks:
        reported = []
        sys.unraisablehook = reported.append
        print(json.dumps({'start': block['line']}), flush=True)
        faulthandler.dump_traceback_later(block['timeout'], exit=True)
        # Padding: tracebacks give the line numbers of the Markdown file.
        code = '\\n' * (block['line'] - 1) + block['source']
        error = None
        try:
            exec(compile(code, block['where'], 'exec'), {'__name__': '__main__'})
        except BaseException:
            error = traceback.format_exc()
        finally:
            faulthandler.cancel_dump_traceback_later()
            sys.unraisablehook = sys.__unraisablehook__
        if error is None and reported:
            error = 'reported through sys.unraisablehook (a failure nobody waited for?):\\n' + (
                '\\n'.join(
                    ''.join(traceback.format_exception(report.exc_value)) for report in reported
                )
            )
        print(json.dumps({'line': block['line'], 'error': error}), flush=True)
    """
)


@functools.cache
def run_programs(path: Path) -> tuple[dict[int, str | None], str]:
    """Runs the program blocks of ``path`` in one subprocess: each block's error (None: it
    passed), and what the subprocess wrote to stderr."""
    todo = [
        {'line': b.line, 'source': b.source, 'where': b.where, 'timeout': BLOCK_TIMEOUT}
        for b in PROGRAMS
        if b.path == path
    ]
    process = subprocess.run(
        [sys.executable, '-X', 'faulthandler', '-c', RUNNER],
        input=json.dumps(todo),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=BLOCK_TIMEOUT * (len(todo) + 1),
    )
    outcomes: dict[int, str | None] = {}
    running = None
    for line in process.stdout.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # what an example printed
        if 'start' in record:
            running = record['start']
        else:
            outcomes[record['line']] = record['error']
            running = None
    if running is not None:
        outcomes[running] = (
            f'the subprocess died while this block ran (exit status {process.returncode}):\n'
            f'{process.stderr}'
        )
    return outcomes, process.stderr


def test_the_docs_have_examples():
    assert len(PROGRAMS) >= 2
    assert PYTEST_FILES


@pytest.mark.parametrize('block', PROGRAMS, ids=[block.where for block in PROGRAMS])
def test_example_runs(block):
    outcomes, stderr = run_programs(block.path)
    if block.line not in outcomes:
        pytest.fail(
            f'{block.where} ({block.first_line!r}) did not run: an earlier block of the file '
            f'killed the subprocess\n{stderr}',
            pytrace=False,
        )
    error = outcomes[block.line]
    if error is not None:
        pytest.fail(f'{block.where} ({block.first_line!r}) failed:\n{error}', pytrace=False)


@pytest.mark.parametrize('block', PYTEST_FILES, ids=[block.where for block in PYTEST_FILES])
def test_pytest_example_passes(pytester, block):
    for support in support_files(block):
        path = pytester.path / support.file_name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(support.source)
    path = pytester.path / block.file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(block.source)
    result = pytester.runpytest('-p', 'no:cacheprovider', str(path))
    outcomes = result.parseoutcomes()
    if outcomes.get('passed', 0) < 1 or not set(outcomes) <= {'passed', 'seconds'}:
        pytest.fail(
            f'{block.where} ({block.first_line!r}): {outcomes}\n{result.stdout.str()}',
            pytrace=False,
        )


def test_every_support_file_belongs_to_a_pytest_file():
    for path in MARKDOWN:
        pending = None
        for block in blocks(path):
            name = block.file_name
            if name is not None:
                pending = None if name.split('/')[-1].startswith('test_') else block
        assert pending is None, f'{pending.where}: no pytest-file block follows it'


LINK = re.compile(r'\]\(([^)#\s]*)(?:#([^)\s]*))?\)')


def anchors(path: Path) -> set[str]:
    """The anchors GitHub makes for the headings of ``path``."""
    headings = re.findall(r'^#+ (.*)$', FENCED.sub('', path.read_text()), re.M)
    return {re.sub(r'[^\w\- ]', '', heading.lower()).replace(' ', '-') for heading in headings}


FENCED = re.compile(r'^```.*?^```', re.S | re.M)


@pytest.mark.parametrize('path', MARKDOWN, ids=[str(p.relative_to(ROOT)) for p in MARKDOWN])
def test_relative_links_point_to_files_and_headings_that_exist(path):
    for target, anchor in LINK.findall(FENCED.sub('', path.read_text())):
        if '://' in target or target.startswith('mailto:'):
            continue
        linked = path.parent / target if target else path
        assert linked.exists(), f'{path.relative_to(ROOT)} links to {target}'
        if anchor and linked.suffix == '.md':
            assert anchor in anchors(linked), f'{path.relative_to(ROOT)} links to {target}#{anchor}'


def test_the_guide_index_links_every_guide_page():
    guide = ROOT / 'docs' / 'guide'
    index = (guide / 'README.md').read_text()
    for page in sorted(guide.glob('*.md')):
        if page.name != 'README.md':
            assert f']({page.name})' in index, f'docs/guide/README.md does not link {page.name}'


def public_names():
    import tonio
    import tonio.colored
    import tonio.exceptions
    import tonio.fs
    import tonio.io
    import tonio.mark
    import tonio.net
    import tonio.net.socket
    import tonio.net.tls
    import tonio.signals
    import tonio.sync
    import tonio.sync.channel
    import tonio.time
    import tonio.typing

    modules = [
        tonio,
        tonio.exceptions,
        tonio.fs,
        tonio.io,
        tonio.mark,
        tonio.net,
        tonio.net.socket,
        tonio.net.tls,
        tonio.signals,
        tonio.sync,
        tonio.sync.channel,
        tonio.time,
        tonio.typing,
    ]
    # tonio.net.socket also re-exports the stdlib's constants; its own names are in __all__.
    return sorted({(module.__name__, name) for module in modules for name in module.__all__})


@pytest.mark.parametrize(('module', 'name'), public_names())
def test_the_guide_mentions_every_public_name(module, name):
    guide = '\n'.join(page.read_text() for page in sorted((ROOT / 'docs' / 'guide').glob('*.md')))
    assert re.search(rf'\b{re.escape(name)}\b', guide), (
        f'{module}.{name} is public but no page of docs/guide mentions it'
    )
