"""``limiter(n)``: at most ``n`` holders at a time, for ``tonio.mark.max_concurrency``.

A ``tonio.sync.Semaphore``: FIFO hand-off of its tokens, cancel-safe at every moment (a waiter
cancelled before a release reached it never holds a token; one whose hand-off won keeps it), and
its ``acquire()``/``release()`` are all ``tonio.mark`` uses.
"""

from __future__ import annotations

from ._tonio import Semaphore


def limiter(limit: int) -> Semaphore:
    """A limiter of ``limit`` permits (a positive integer)."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        raise TypeError(f'the concurrency limit must be an integer, not {type(limit).__name__}')
    if limit < 1:
        raise ValueError(f'the concurrency limit must be at least 1, got {limit}')
    return Semaphore(limit)
