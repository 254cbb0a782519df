"""tonio: a multi-threaded async runtime built on one primitive, the Event.

Generator syntax (the fast path)::

    import tonio

    def child(x):
        yield tonio.sleep(0.1)
        return x + 1

    @tonio.main
    def main():
        a, b = yield tonio.spawn(child(1), child(2))

For ``async def`` code, import ``tonio.colored``: the same names, awaited instead of yielded.
"""

from . import exceptions as exceptions
from . import io as io
from . import mark as mark
from . import signals as signals
from . import time as time
from ._combinators import as_completed as as_completed
from ._combinators import map as map
from ._combinators import select as select
from ._process import Process as Process
from ._process import open_process as open_process
from ._process import run_process as run_process
from ._runner import main as main
from ._runner import run as run
from ._runner import runtime as runtime
from ._scope import TASK_STATUS_IGNORED as TASK_STATUS_IGNORED
from ._scope import Scope as Scope
from ._scope import fail_after as fail_after
from ._scope import move_on_after as move_on_after
from ._scope import scope as scope
from ._tonio import Event as Event
from ._tonio import Runtime as Runtime
from ._tonio import SignalReceiver as SignalReceiver
from ._tonio import Spawned as Spawned
from ._tonio import Waiter as Waiter
from ._tonio import __version__ as __version__
from ._tonio import block_on as block_on
from ._tonio import map_blocking as map_blocking
from ._tonio import signal_receiver as signal_receiver
from ._tonio import sleep as sleep
from ._tonio import spawn as spawn
from ._tonio import spawn_blocking as spawn_blocking
from ._tonio import yield_now as yield_now
from .exceptions import CancelledError as CancelledError

__all__ = [
    'TASK_STATUS_IGNORED',
    'CancelledError',
    'Event',
    'Process',
    'Runtime',
    'Scope',
    'SignalReceiver',
    'Spawned',
    'Waiter',
    'as_completed',
    'block_on',
    'exceptions',
    'fail_after',
    'io',
    'main',
    'map',
    'map_blocking',
    'mark',
    'move_on_after',
    'open_process',
    'run',
    'run_process',
    'runtime',
    'scope',
    'select',
    'signal_receiver',
    'signals',
    'sleep',
    'spawn',
    'spawn_blocking',
    'time',
    'yield_now',
]
