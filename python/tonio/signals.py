"""Signals (TonIO's module name): ``signal_receiver(*signals)`` for the signals the runtime
listens to (its ``signals=[...]`` option). The same objects as ``tonio.signal_receiver``."""

from ._tonio import SignalReceiver as SignalReceiver
from ._tonio import signal_receiver as signal_receiver

__all__ = ['SignalReceiver', 'signal_receiver']
