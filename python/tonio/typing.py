"""Types for annotating code written with tonio; the module documentation of ``tonio._types``
says what a type checker can check in each syntax.

``Waiter[T]`` and ``Spawned[T]`` are generic classes of ``tonio`` itself: waiting on them gives
a ``T``.
"""

from ._types import AnyCoro as AnyCoro
from ._types import Coro as Coro
from ._types import GeneratorCoroutine as GeneratorCoroutine
from ._types import RuntimeOptions as RuntimeOptions
from ._types import Yieldable as Yieldable

__all__ = ['AnyCoro', 'Coro', 'GeneratorCoroutine', 'RuntimeOptions', 'Yieldable']
