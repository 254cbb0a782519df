"""Driving your own I/O from ``async def`` code: the same objects as ``tonio.io``."""

from ..io import FdStream as FdStream
from ..io import ScheduledIO as ScheduledIO
from ..io import register as register

__all__ = ['FdStream', 'ScheduledIO', 'register']
