"""Helpers for the tests of ``examples/``: the examples importable as modules, free loopback
ports, and example programs run as real processes that are always stopped."""

import contextlib
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / 'examples'
sys.path.insert(0, str(EXAMPLES))

# Runs a script with Ctrl-C restored: a process started in the background by a non-interactive
# shell inherits SIGINT ignored, and Python then raises no KeyboardInterrupt.
_WITH_SIGINT = (
    'import runpy, signal, sys; '
    'signal.signal(signal.SIGINT, signal.default_int_handler); '
    'sys.argv = sys.argv[1:]; '
    'runpy.run_path(sys.argv[0], run_name="__main__")'
)


def require(binary):
    """The path of ``binary``; fails the test (not skips it) when it is missing."""
    path = shutil.which(binary)
    if path is None:
        pytest.fail(f'{binary} is not installed: `make deps` installs it')
    return path


def free_port():
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def _first_line(process, timeout):
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        if select.select([process.stdout], [], [], remaining)[0]:
            return process.stdout.readline()
    return ''


@pytest.fixture
def example_server():
    """``start(script, *args)`` runs ``examples/<script>`` on a free port and returns the port
    it prints; at the end of the test each is stopped with Ctrl-C and must exit cleanly."""
    started = []

    def start(script, *args):
        process = subprocess.Popen(
            [sys.executable, '-c', _WITH_SIGINT, str(EXAMPLES / script), '--port', '0', *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        line = _first_line(process, timeout=30)
        if not line.startswith('listening on '):
            process.kill()
            _, errors = process.communicate()
            pytest.fail(f'{script} did not start: {line!r} {errors}')
        return int(line.rsplit(':', 1)[1])

    yield start
    failures = []
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            _, errors = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.communicate()
            failures.append(f'{process.args[3]} did not stop on Ctrl-C')
            continue
        if process.returncode != 0 or errors:
            failures.append(f'{process.args[3]} exited {process.returncode}: {errors}')
    if failures:
        pytest.fail('; '.join(failures))


@contextlib.contextmanager
def stopped_at_exit(process):
    """Terminates ``process`` when the block ends, however it ends."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
