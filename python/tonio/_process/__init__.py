"""Child processes, written once for both syntaxes (``tonio`` and ``tonio.colored`` re-export
them): ``Process`` and reaping (``_process.py``), how a child's exit is awaited (``_exit.py``:
a pidfd on the reactor on Linux, a fallback elsewhere), and ``open_process`` / ``run_process``
(``_spawn.py``).

The rules every path keeps: a child is spawned on the blocking pool uninterruptibly and killed if
its caller was cancelled meanwhile; cancelling ``run_process`` or ``Process.wait()`` kills the
child and reaps it before the cancellation completes; every pipe and the pidfd are closed by
exactly one owner.
"""

from ._process import Process as Process
from ._spawn import open_process as open_process
from ._spawn import run_process as run_process

__all__ = ['Process', 'open_process', 'run_process']
