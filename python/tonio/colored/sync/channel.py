"""Channels for ``async def`` code: the same objects as ``tonio.sync.channel``.

``await sender.send(m)`` (bounded), ``message = await receiver.receive()``, and
``async for message in receiver:`` (ends once the channel is closed and drained).
"""

from ..._sync import ChannelReceiver as ChannelReceiver
from ..._sync import ChannelSender as ChannelSender
from ..._sync import UnboundedChannelReceiver as UnboundedChannelReceiver
from ..._sync import UnboundedChannelSender as UnboundedChannelSender
from ..._sync import channel as channel
from ..._sync import unbounded_channel as unbounded

__all__ = [
    'ChannelReceiver',
    'ChannelSender',
    'UnboundedChannelReceiver',
    'UnboundedChannelSender',
    'channel',
    'unbounded',
]
