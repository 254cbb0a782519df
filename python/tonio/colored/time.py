"""Time for ``async def`` code: the same objects as ``tonio.time``, awaited instead of yielded."""

from .._timing import interval as interval
from .._timing import timeout as timeout
from .._tonio import sleep as sleep
from .._tonio import sleep_until as sleep_until
from .._tonio import time as time

__all__ = ['interval', 'sleep', 'sleep_until', 'time', 'timeout']
