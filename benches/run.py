"""Runs the benchmarks on this interpreter and prints tables of ratios against the peers.

The benchmarks: one million coroutines (``million.py``), pure-Python work between suspensions on
one and two workers (``parallel.py``), 100k random sleeps (``sleeps.py``), a 100k-task scope
cancelled at once (``scopes.py``), N waiters abandoning one event (``waiters.py``), lock
hand-offs and channel throughput (``sync.py``), a TCP echo under a closed-loop load
(``echo.py``), ``wrk`` against the example HTTP server (``http_wrk.py``), TLS handshakes and bulk
transfer (``tls.py``) and short child processes (``processes.py``). Every measurement runs in a
fresh process (so one implementation's heap and GC state cannot skew another's); the median of
the repeats is reported. Usage: ``python benches/run.py [--repeat N] [--only SUBSTRING] [--bench
NAME] [--duration SECONDS]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import platform
import statistics
import subprocess
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import echo  # noqa: E402
import http_wrk  # noqa: E402
import million  # noqa: E402
import parallel  # noqa: E402
import processes  # noqa: E402
import scopes  # noqa: E402
import sleeps  # noqa: E402
import sync  # noqa: E402
import tls  # noqa: E402
import waiters  # noqa: E402

OPTIONAL = {'uvloop': 'uvloop', 'trio': 'trio'}


def interpreter_label():
    free_threaded = (
        bool(sysconfig.get_config_var('Py_GIL_DISABLED'))
        and not getattr(sys, '_is_gil_enabled', lambda: True)()
    )
    return (
        f'CPython {platform.python_version()}{"t (free-threaded)" if free_threaded else " (GIL)"}'
    )


def available(name):
    for module, import_name in OPTIONAL.items():
        if name.startswith(module) and importlib.util.find_spec(import_name) is None:
            return False
    return True


def measure(module, name, repeat):
    runs = []
    for _ in range(repeat):
        output = subprocess.run(
            [sys.executable, str(HERE / f'{module.__name__}.py'), name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        runs.append(json.loads(output))
    median = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    if 'total' not in median:
        median['total'] = statistics.median(run['create'] + run['execute'] for run in runs)
    return median


def measure_all(module, args):
    results = {}
    for name in module.IMPLEMENTATIONS:
        if args.only not in name:
            continue
        if not available(name):
            print(f'(skipped {name}: not installed for this interpreter)')
            continue
        results[name] = measure(module, name, args.repeat)
    return results


def report_million(args):
    print(f'\n## One million coroutines: {interpreter_label()}, median of {args.repeat}\n')
    results = measure_all(million, args)

    asyncio_total = results.get('asyncio (gather, done future)', {}).get('total')
    floors = {'yield': 'floor (yield)', 'colored': 'floor (async def)'}
    print(
        '| implementation | create ms | execute ms | total ms | peak RSS MB | asyncio / this '
        '| this / floor |'
    )
    print('|---|---|---|---|---|---|---|')
    for name, result in results.items():
        speedup = f'{asyncio_total / result["total"]:.2f}x' if asyncio_total else '-'
        floor_name = (
            floors['colored'] if 'colored' in name or 'async def' in name else floors['yield']
        )
        floor = results.get(floor_name, {}).get('total')
        vs_floor = f'{result["total"] / floor:.2f}x' if floor else '-'
        print(
            f'| {name} | {result["create"]:.0f} | {result["execute"]:.0f} | '
            f'{result["total"]:.0f} | {result["peak_mb"]:.0f} | {speedup} | {vs_floor} |'
        )

    targets = [
        ('tonio yield, 1 thread', 'asyncio / this >= 6', lambda r: asyncio_total / r >= 6),
        ('tonio colored, 1 thread', 'asyncio / this >= 4', lambda r: asyncio_total / r >= 4),
        (
            'tonio yield, 1 thread',
            'this / floor (yield) <= 2',
            lambda r: r / results['floor (yield)']['total'] <= 2,
        ),
    ]
    print('\nTargets (one thread):')
    for name, label, check in targets:
        if name in results and asyncio_total and 'floor (yield)' in results:
            verdict = 'met' if check(results[name]['total']) else 'MISSED'
            print(f'- {name}: {label}: {verdict}')


def report_against(module, title, columns, baseline, target, args):
    """A table of ``columns`` plus ``baseline total / this total``, and one target on it."""
    print(f'\n## {title}: {interpreter_label()}, median of {args.repeat}\n')
    results = measure_all(module, args)
    base = results.get(baseline, {}).get('total')
    header = ' | '.join(f'{column} ms' for column in columns)
    print(f'| implementation | {header} | peak RSS MB | {baseline} / this |')
    print('|---|' + '---|' * (len(columns) + 2))
    for name, result in results.items():
        ratio = f'{base / result["total"]:.2f}x' if base else '-'
        cells = ' | '.join(f'{result[column]:.0f}' for column in columns)
        print(f'| {name} | {cells} | {result["peak_mb"]:.0f} | {ratio} |')
    name, minimum = target
    if base and name in results:
        verdict = 'met' if base / results[name]['total'] >= minimum else 'MISSED'
        print(f'\nTarget: {name}: {baseline} / this >= {minimum}: {verdict}')


def report_parallel(args):
    """Pure-Python work between suspensions: what a second worker buys (the free-threaded
    target: 2 workers at least 1.8x one; with a GIL the workers take turns)."""
    print(
        f'\n## {parallel.TASKS} tasks x {parallel.ROUNDS} rounds of {parallel.ITERATIONS:,} '
        f'iterations, suspending between rounds: {interpreter_label()}, '
        f'median of {max(args.repeat, 5)}\n'
    )
    # Wall times of CPU-bound runs wander more on a shared VM: never fewer than 5 repeats.
    results = measure_all(
        parallel, argparse.Namespace(**{**vars(args), 'repeat': max(args.repeat, 5)})
    )
    base = results.get('asyncio (gather, sleep(0))', {}).get('total')
    print('| implementation | total ms | peak RSS MB | asyncio / this | 1 thread / this |')
    print('|---|---|---|---|---|')
    for name, result in results.items():
        one = results.get(name.replace(', 2 threads', ', 1 thread').replace(', 2 (', ', 1 ('))
        speedup = f'{one["total"] / result["total"]:.2f}x' if one and one is not result else '-'
        ratio = f'{base / result["total"]:.2f}x' if base else '-'
        print(f'| {name} | {result["total"]:.0f} | {result["peak_mb"]:.0f} | {ratio} | {speedup} |')
    if not sysconfig.get_config_var('Py_GIL_DISABLED'):
        print('\nTarget (2 workers >= 1.8x one) applies to free-threaded builds only.')
        return
    print('\nTarget: 2 workers >= 1.8x one:')
    for syntax in ('yield', 'colored'):
        one = results.get(f'tonio {syntax}, 1 thread')
        two = results.get(f'tonio {syntax}, 2 threads')
        if one and two:
            speedup = one['total'] / two['total']
            print(f'- tonio {syntax}: {speedup:.2f}x: {"met" if speedup >= 1.8 else "MISSED"}')


def report_waiters(args):
    print(
        f'\n## N waiters on one event, all timing out at one deadline: {interpreter_label()}, '
        f'median of {args.repeat}\n'
    )
    results = measure_all(waiters, args)
    sizes = ' | '.join(f'{n:,}' for n in waiters.SIZES)
    print(
        f'µs per waiter at N = {sizes}: *timeout* (deadline to all resumed), then *start* '
        '(spawn to all waiting)\n'
    )
    print(f'| implementation | phase | {sizes} | largest / smallest |')
    print('|---|---|' + '---|' * (len(waiters.SIZES) + 1))
    flatness = {}
    for name in waiters.PEERS:
        per = [results.get(f'{name} @ {n}') for n in waiters.SIZES]
        if not any(per):
            continue
        for phase in ('timeout_us', 'start_us'):
            measured = [result[phase] for result in per if result]
            cells = ' | '.join(f'{result[phase]:.2f}' if result else '-' for result in per)
            ratio = max(measured) / min(measured)
            if phase == 'timeout_us':
                flatness[name] = ratio
            print(f'| {name} | {phase[:-3]} | {cells} | {ratio:.2f}x |')
    print('\nTarget: time per waiter to time out flat in N (largest / smallest <= 1.3):')
    control = flatness.get('tonio yield, 1 thread, sleeping instead (control)')
    for name, ratio in flatness.items():
        if name.startswith('tonio') and 'control' not in name:
            beyond = f' ({ratio / control:.2f}x the control)' if control else ''
            print(f'- {name}: {ratio:.2f}x{beyond}: {"met" if ratio <= 1.3 else "MISSED"}')


def report_sync(args):
    title = 'Lock hand-offs and channel throughput'
    print(f'\n## {title}: {interpreter_label()}, median of {args.repeat}\n')
    print(
        f'Lock: {sync.TASKS} tasks, {sync.ACQUISITIONS:,} acquisitions, each held across one '
        f'suspension. Channels: {sync.MESSAGES:,} messages, producers→consumers.\n'
    )
    rates = {}
    for scenario in sync.SCENARIOS:
        for name in sync.PEERS:
            if args.only not in name or not available(name):
                continue
            result = measure(sync, f'{scenario} @ {name}', args.repeat)
            rates.setdefault(scenario, {})[name] = result['rate']
    unit = {'lock': 'hand-offs/s'}
    for scenario, results in rates.items():
        base = results.get('asyncio')
        print(f'\n### {scenario} ({unit.get(scenario, "messages/s")})\n')
        print('| implementation | per second | this / asyncio |')
        print('|---|---|---|')
        for name, rate in results.items():
            ratio = f'{rate / base:.2f}x' if base else '-'
            print(f'| {name} | {rate:,.0f} | {ratio} |')
    print('\nTargets (one worker): this / asyncio >= 3 (asyncio.Lock, asyncio.Queue):')
    for scenario, results in rates.items():
        base = results.get('asyncio')
        for name in ('tonio yield, 1 thread', 'tonio colored, 1 thread'):
            if base and name in results:
                ratio = results[name] / base
                verdict = 'met' if ratio >= 3 else 'MISSED'
                print(f'- {scenario}, {name}: {ratio:.2f}x: {verdict}')


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--only', default='')
    parser.add_argument(
        '--bench',
        choices=[
            'million',
            'parallel',
            'sleeps',
            'scopes',
            'waiters',
            'sync',
            'echo',
            'http',
            'tls',
            'processes',
        ],
        default=None,
    )
    parser.add_argument('--duration', type=float, default=None, help='seconds per echo/http run')
    args = parser.parse_args()

    if args.bench in (None, 'million'):
        report_million(args)
    if args.bench in (None, 'parallel'):
        report_parallel(args)
    if args.bench in (None, 'sleeps'):
        report_against(
            sleeps,
            f'{sleeps.N:,} tasks sleeping a random 0-50 ms (ideal total: 50 ms)',
            ['total', 'overhead'],
            'asyncio (gather)',
            ('tonio yield, 1 thread', 5),
            args,
        )
    if args.bench in (None, 'scopes'):
        report_against(
            scopes,
            f'Scope of {scopes.N:,} suspended tasks, cancelled',
            ['start', 'cancel', 'total'],
            'trio (nursery cancel)',
            ('tonio yield, 1 thread', 10),
            args,
        )
    if args.bench in (None, 'waiters'):
        report_waiters(args)
    if args.bench in (None, 'sync'):
        report_sync(args)
    if args.bench in (None, 'echo'):
        echo.report(args, interpreter_label(), available)
    if args.bench in (None, 'http'):
        http_wrk.report(args, interpreter_label(), available)
    if args.bench in (None, 'tls'):
        print(f'\n## TLS over loopback: {interpreter_label()}, median of 3\n')
        tls.report()
    if args.bench in (None, 'processes'):
        report_against(
            processes,
            f'{processes.SHORT:,} `true` then {processes.PIPED} `cat` of 64 KiB, '
            f'{processes.LIMIT} at a time',
            ['spawn', 'pipe', 'total', 'cpu'],
            'asyncio',
            ('tonio yield, 1 thread', 1.5),
            args,
        )


if __name__ == '__main__':
    main()
