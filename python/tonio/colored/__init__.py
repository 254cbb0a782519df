"""tonio for ``async def`` code: the same names as ``tonio``, awaited instead of yielded.

Every awaitable here (``Event.wait()``, ``sleep()``, ``yield_now()``, the result of ``spawn()``)
hands the very same Waiter to the very same scheduler as the generator syntax; there is no second
runtime underneath::

    import tonio.colored as tonio

    async def child(x):
        await tonio.sleep(0.1)
        return x + 1

    @tonio.main
    async def main():
        a, b = await tonio.spawn(child(1), child(2))
"""

from .. import exceptions as exceptions
from .._runner import main as main
from .._runner import run as run
from .._runner import runtime as runtime
from .._tonio import Event as Event
from .._tonio import Runtime as Runtime
from .._tonio import Spawned as Spawned
from .._tonio import Waiter as Waiter
from .._tonio import sleep as sleep
from .._tonio import spawn as spawn
from .._tonio import yield_now as yield_now
from ..exceptions import CancelledError as CancelledError
from . import time as time

__all__ = [
    'CancelledError',
    'Event',
    'Runtime',
    'Spawned',
    'Waiter',
    'exceptions',
    'main',
    'run',
    'runtime',
    'sleep',
    'spawn',
    'time',
    'yield_now',
]
