"""Exceptions raised by tonio."""

from ._tonio import CancelledError as CancelledError

__all__ = ['CancelledError']
