"""Synchronization primitives for ``async def`` code: ``async with lock:``.

The same objects as ``tonio.sync`` (awaited instead of yielded), channels in
``tonio.colored.sync.channel``.
"""

from ..._sync import Barrier as Barrier
from ..._sync import Condition as Condition
from ..._sync import Lock as Lock
from ..._sync import RWLock as RWLock
from ..._sync import Semaphore as Semaphore
from . import channel as channel

__all__ = ['Barrier', 'Condition', 'Lock', 'RWLock', 'Semaphore', 'channel']
