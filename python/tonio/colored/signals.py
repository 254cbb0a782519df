"""Signals for ``async def`` code: the same objects as ``tonio.signals``."""

from ..signals import SignalReceiver as SignalReceiver
from ..signals import signal_receiver as signal_receiver

__all__ = ['SignalReceiver', 'signal_receiver']
