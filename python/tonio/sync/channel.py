"""Channels: ``channel(size)`` (bounded: ``yield sender.send(m)`` waits while full) and
``unbounded()`` (``sender.send(m)`` never waits); each returns ``(sender, receiver)``.

Receive with ``message = yield receiver.receive()`` (ChannelClosedError, a BrokenPipeError,
once the channel is closed and drained), or loop until then with
``while (message := (yield receiver.next())) is not receiver.Closed:``.
"""

from .._sync import ChannelReceiver as ChannelReceiver
from .._sync import ChannelSender as ChannelSender
from .._sync import UnboundedChannelReceiver as UnboundedChannelReceiver
from .._sync import UnboundedChannelSender as UnboundedChannelSender
from .._sync import channel as channel
from .._sync import unbounded_channel as unbounded

__all__ = [
    'ChannelReceiver',
    'ChannelSender',
    'UnboundedChannelReceiver',
    'UnboundedChannelSender',
    'channel',
    'unbounded',
]
