"""Exceptions raised by tonio.

``CancelledError`` derives from ``BaseException`` (so ``except Exception`` does not swallow a
cancellation); the others are ordinary ``Exception``s.
"""

from ._tonio import BusyResourceError as BusyResourceError
from ._tonio import CancelledError as CancelledError
from ._tonio import ChannelClosedError as ChannelClosedError
from ._tonio import ResourceBroken as ResourceBroken
from ._tonio import WouldBlock as WouldBlock

__all__ = [
    'BusyResourceError',
    'CancelledError',
    'ChannelClosedError',
    'ResourceBroken',
    'WouldBlock',
]
