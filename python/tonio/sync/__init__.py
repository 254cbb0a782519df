"""Synchronization primitives for generator-syntax tasks: ``with (yield lock()):``.

``Lock``, ``Semaphore``, ``Condition``, ``RWLock`` and ``Barrier``, plus channels in
``tonio.sync.channel``. Every one waits on the same fair FIFO queue and is cancel-safe: a task
cancelled while it waits never keeps a lock or token it did not get to use, never swallows a
wake-up meant for the next waiter, and never loses or duplicates a message. ``tonio.colored.sync``
exports the same objects for ``async def`` code.
"""

from .._sync import Barrier as Barrier
from .._sync import Condition as Condition
from .._sync import Lock as Lock
from .._sync import RWLock as RWLock
from .._sync import Semaphore as Semaphore
from . import channel as channel

__all__ = ['Barrier', 'Condition', 'Lock', 'RWLock', 'Semaphore', 'channel']
