"""Server processes for the network benchmarks: start one, learn its port, always stop it.

A server is a command that listens on a free loopback port and prints ``listening on
HOST:PORT`` once it accepts connections (the examples under ``examples/`` and the peers in
``echo.py`` and ``http_wrk.py`` all do). Each measurement gets a fresh server process, so one
implementation's heap, GC state or leftover connections cannot skew another's.
"""

from __future__ import annotations

import contextlib
import os
import select
import subprocess
import tempfile
import time

START_TIMEOUT = 30.0
STOP_TIMEOUT = 10.0


class Server:
    """A running server process: its ``port``, and the CPU time it has used so far."""

    def __init__(self, process, port):
        self.process = process
        self.port = port

    def cpu_seconds(self):
        """User plus system CPU seconds of every thread of the server (None off Linux). Unlike
        throughput, this barely moves when other processes compete for the cores."""
        try:
            with open(f'/proc/{self.process.pid}/stat') as stat:
                return stat_cpu_seconds(stat.read())
        except OSError:
            return None


def stat_cpu_seconds(text):
    """User plus system CPU seconds from the text of a ``/proc/.../stat`` file (a process's or
    a thread's)."""
    fields = text.rsplit(')', 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf('SC_CLK_TCK')


@contextlib.contextmanager
def running(command):
    """Runs ``command`` and yields it as a ``Server``; the process is stopped afterwards."""
    # stderr goes to a file: a pipe nobody reads during the run could fill and stall the server.
    with tempfile.TemporaryFile('w+') as errors:
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=errors, stdin=subprocess.DEVNULL, text=True
        )
        try:
            yield Server(process, _port(process, command, errors))
        finally:
            if process.poll() is None:
                process.terminate()
            try:
                process.communicate(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()


def _port(process, command, errors):
    deadline = time.monotonic() + START_TIMEOUT
    while (remaining := deadline - time.monotonic()) > 0:
        if select.select([process.stdout], [], [], remaining)[0]:
            line = process.stdout.readline()
            if line.startswith('listening on '):
                return int(line.rsplit(':', 1)[1])
            if not line:
                break
    process.kill()
    process.communicate()
    errors.seek(0)
    raise RuntimeError(f'the server {command} did not start: {errors.read().strip()[-2000:]}')


def announce(port):
    """What a benchmark's own server prints once it listens."""
    print(f'listening on 127.0.0.1:{port}', flush=True)
