"""What every tonio stream shares: ``close()``, ``with`` closes it, and the ``NotReady``
sentinel the ``*_nowait`` methods return."""

from __future__ import annotations

from typing import final


class Stream:
    """Base of tonio's byte streams (sockets, TLS, pipes)."""

    __slots__ = ()

    @final
    class NotReady:
        """Returned by ``receive_some_nowait`` when nothing can be received yet."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
