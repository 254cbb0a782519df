"""Synchronization primitives and channels, shared by ``tonio.sync`` and ``tonio.colored.sync``.

Everything is implemented in the native core on one fair wait queue; each object serves both
syntaxes (a Waiter is yielded by generator code and awaited by ``async def`` code), so the two
public faces re-export the very same objects.
"""

from ._tonio import Barrier as Barrier
from ._tonio import ChannelReceiver as ChannelReceiver
from ._tonio import ChannelSender as ChannelSender
from ._tonio import Condition as Condition
from ._tonio import Lock as Lock
from ._tonio import RWLock as RWLock
from ._tonio import Semaphore as Semaphore
from ._tonio import UnboundedChannelSender as UnboundedChannelSender
from ._tonio import channel as channel
from ._tonio import unbounded_channel as unbounded_channel

# TonIO has a receiver class per channel kind; here one class serves both.
UnboundedChannelReceiver = ChannelReceiver
