"""Decorators for ``async def`` code: the same objects as ``tonio.mark``, awaited instead of
yielded."""

from .._mark import blocking as blocking
from .._mark import cpu_bound as cpu_bound
from .._mark import max_concurrency as max_concurrency

__all__ = ['blocking', 'cpu_bound', 'max_concurrency']
