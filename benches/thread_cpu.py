"""Where a second worker's time goes on the million-coroutine benchmark: the execute phase's wall
time and the CPU time of every thread during it (from ``/proc/self/task``), on 1 and 2 workers.

If the second worker only added parallelism, the CPU time summed over the workers would stay
what one worker needs and the wall time would drop; on a do-nothing workload it roughly doubles
instead (see docs/benchmarks.md, "Two workers on the million benchmark").

Usage: ``python benches/thread_cpu.py [REPEATS]`` (Linux).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from serving import stat_cpu_seconds

N = 1_000_000


def thread_cpu_ms():
    """CPU time (user + system) of each thread of this process, by thread name, in ms."""
    times = {}
    for tid in os.listdir('/proc/self/task'):
        try:
            with open(f'/proc/self/task/{tid}/stat') as stat:
                text = stat.read()
        except FileNotFoundError:
            continue  # the thread ended meanwhile
        name = text[text.index('(') + 1 : text.rindex(')')]
        times[f'{name}/{tid}'] = stat_cpu_seconds(text) * 1000
    return times


def measure(threads):
    import tonio

    def task():
        yield
        return 3**2

    def main():
        tasks = [task() for _ in range(N)]
        before, t0 = thread_cpu_ms(), time.perf_counter()
        results = yield tonio.spawn(*tasks)
        wall, after = time.perf_counter() - t0, thread_cpu_ms()
        assert len(results) == N
        workers = {
            name: after[name] - before.get(name, 0)
            for name in after
            if name.startswith('tonio-worker')
        }
        return wall * 1e3, workers

    return tonio.run(main(), threads=threads)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    print('| workers | execute wall ms | worker CPU ms (each) | worker CPU ms (sum) |')
    print('|---|---|---|---|')
    for threads in (1, 2):
        runs = [measure(threads) for _ in range(repeats)]
        walls = [wall for wall, _ in runs]
        middle = runs[walls.index(statistics.median_low(walls))]
        each = ' + '.join(f'{cpu:.0f}' for cpu in sorted(middle[1].values(), reverse=True))
        print(f'| {threads} | {middle[0]:.0f} | {each} | {sum(middle[1].values()):.0f} |')


if __name__ == '__main__':
    main()
