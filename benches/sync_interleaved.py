"""The one-worker targets of ``sync.py``, measured so that a loaded machine skews them less.

``run.py`` measures each implementation's repeats back to back, so a load spike during one
implementation's runs moves its ratio to asyncio. This script runs the same measurements
(``sync.IMPLEMENTATIONS``, each in a fresh process, the rate ``sync.py`` itself reports) for
tonio on one worker in both syntaxes and asyncio, interleaved round by round, and reports the
median and the best rate of each: other processes only ever slow a run down, so the best rates
are the least disturbed ones.

Usage: ``python benches/sync_interleaved.py [--rounds N] [--only SUBSTRING]``; point
``PYTHONPATH`` at another build of tonio to measure that one.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import sync  # noqa: E402

IMPLEMENTATIONS = ['tonio yield, 1 thread', 'tonio colored, 1 thread', 'asyncio']


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--rounds', type=int, default=5)
    parser.add_argument('--only', default='')
    args = parser.parse_args()
    scenarios = [scenario for scenario in sync.SCENARIOS if args.only in scenario]
    rates = {}
    for _ in range(args.rounds):
        for scenario in scenarios:
            for implementation in IMPLEMENTATIONS:
                name = f'{scenario} @ {implementation}'
                output = subprocess.run(
                    [sys.executable, str(HERE / 'sync.py'), name],
                    check=True,
                    capture_output=True,
                    text=True,
                ).stdout
                rates.setdefault(name, []).append(json.loads(output)['rate'])
    print(f'{args.rounds} interleaved rounds; per second, median / best (ratio to asyncio)\n')
    print('| scenario | ' + ' | '.join(IMPLEMENTATIONS) + ' |')
    print('|---|' + '---|' * len(IMPLEMENTATIONS))
    for scenario in scenarios:
        asyncio = rates[f'{scenario} @ asyncio']
        cells = []
        for implementation in IMPLEMENTATIONS:
            mine = rates[f'{scenario} @ {implementation}']
            median = statistics.median(mine)
            best = max(mine)
            cells.append(
                f'{median / 1e3:,.0f}k ({median / statistics.median(asyncio):.2f}x) / '
                f'{best / 1e3:,.0f}k ({best / max(asyncio):.2f}x)'
            )
        print(f'| {scenario} | ' + ' | '.join(cells) + ' |')


if __name__ == '__main__':
    main()
