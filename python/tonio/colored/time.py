"""Time for ``async def`` code: the runtime clock and sleeping (``await sleep(s)``)."""

from .._tonio import sleep as sleep
from .._tonio import time as time

__all__ = ['sleep', 'time']
