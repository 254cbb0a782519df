"""Runs mypy (with the project's configuration) on a file of deliberate mistakes and checks that
it reports exactly the errors its ``# E: code`` comments expect, line by line."""

import re
import sys
from pathlib import Path

from mypy import api

EXPECTED = re.compile(r'#\s*E:\s*([\w-]+(?:\s*,\s*[\w-]+)*)\s*$')
REPORTED = re.compile(r'^(?P<path>[^:]+):(?P<line>\d+): error: .*\[(?P<code>[\w-]+)\]$')


def expected_errors(path: Path) -> set[tuple[int, str]]:
    found: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        match = EXPECTED.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group(1).split(','))
    return found


def main(path: Path) -> int:
    expected = expected_errors(path)
    if not expected:
        print(f'{path}: no `# E: code` expectations found')
        return 1
    stdout, stderr, status = api.run([str(path), '--show-error-codes', '--no-pretty'])
    reported: set[tuple[int, str]] = set()
    for output in stdout.splitlines():
        match = REPORTED.match(output)
        if match and Path(match['path']).resolve() == path.resolve():
            reported.add((int(match['line']), match['code']))
    if status == 0 or status == 2 or reported != expected:
        print(stdout + stderr)
        for number, code in sorted(expected - reported):
            print(f'{path}:{number}: expected a [{code}] error, mypy reported none')
        for number, code in sorted(reported - expected):
            print(f'{path}:{number}: unexpected [{code}] error')
        return 1
    print(f'{path}: the {len(expected)} expected type errors are reported, and nothing else')
    return 0


if __name__ == '__main__':
    sys.exit(main(Path(sys.argv[1])))
