"""Decorators: ``blocking`` (run a plain function on the blocking pool), ``max_concurrency(n)``
(at most ``n`` calls at once) and ``cpu_bound(n)`` (both)."""

from ._mark import blocking as blocking
from ._mark import cpu_bound as cpu_bound
from ._mark import max_concurrency as max_concurrency

__all__ = ['blocking', 'cpu_bound', 'max_concurrency']
