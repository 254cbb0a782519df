"""Time: the runtime clock and sleeping."""

from ._tonio import sleep as sleep
from ._tonio import time as time

__all__ = ['sleep', 'time']
