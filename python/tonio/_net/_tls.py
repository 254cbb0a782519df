"""TLS over any tonio stream: ``TLSStream`` and ``TLSListener``, driven by the standard library's
``ssl`` module (an ``SSLObject`` over two ``MemoryBIO``\\ s), not a TLS stack of our own.

How it moves bytes. The ``SSLObject`` never touches the network: an operation (``do_handshake``,
``read``, ``write``, ``unwrap``) consumes ciphertext from the *incoming* BIO and appends ciphertext
to the *outgoing* one, or raises ``SSLWantReadError`` when it needs more from the peer. After every
operation the outgoing bytes move, in order, to ``_outbox``; then, if the outbox has something to
send, it is flushed (``transport.send_all``), and if the operation wanted to read, one
``transport.receive_some()`` feeds the incoming BIO and the operation is tried again.

Two roles, so a reader and a writer make progress at once. A TLS read can need a write (a key
update, a renegotiation) and a write can need a read, so either task may have to use either
direction of the transport. Whoever sends holds the *send role* (``_sending``) and sends until
the outbox is empty; whoever receives holds the *receive role* (``_receiving``). A task that needs
the receive role while another holds it waits for that task's bytes, then tries its operation
again (the count ``_received`` tells whether new bytes arrived since it failed: trio's scheme). A
reader that produced bytes while someone else holds the send role leaves them in the outbox (the
holder sends them before it lets go). A writer (``send_all``, ``send_eof``) takes the send role
before its SSL call writes and keeps it until its bytes have gone: a reader never finds a writer's
ciphertext in the outbox (sending it, it could block while nobody reads), ``send_all`` returning
means the bytes reached the transport, and the outbox never grows without bound.

The locking rule: ``_lock`` (a plain ``threading.Lock``) guards the ``SSLObject``, both BIOs and
every field below it; it is held only around short synchronous calls and never across a
suspension (no ``yield`` inside ``with self._lock``). So one SSL object is never used by two
threads at once, while a reader and a writer on two workers (free-threaded Python) only contend
for the microseconds of an ``ssl`` call. Tasks that wait for a role or for a handshake another
task runs wait on ``_changed``, an Event replaced (and set) each time a role or the state changes
while someone waits.

States: new -> handshaking -> ready, or broken (an ``ssl`` error, a transport failure, a send
interrupted midway: ``ResourceBroken`` from then on, the first error as ``__cause__``), or closed.
A handshake cancelled while it waited for the peer can be resumed; one cancelled while sending
leaves the stream broken.
"""

from __future__ import annotations

import contextlib
import errno
import ssl as _stdlib_ssl
import threading
import types
import weakref
from collections.abc import Callable, Generator
from typing import Any

from .._streams import Stream
from .._tonio import Event, Waiter
from ..exceptions import BusyResourceError, ResourceBroken, WouldBlock
from ._socket import _immediately
from ._streams import SocketStream, StreamWatcher, _wait_ready

# The most plaintext one TLS record carries (one ``SSLObject.read`` gives at most one record).
_RECORD = 16384
# What ``receive_some`` returns at most by default (several records when they are there).
_DEFAULT_RECEIVE = 65536
# How much plaintext ``send_all`` encrypts before it flushes: bounds the ciphertext held in memory.
_SEND_CHUNK = 1 << 18

_NEW, _HANDSHAKING, _READY, _BROKEN, _CLOSED = range(5)


def _closed_error() -> OSError:
    return OSError(errno.EBADF, 'the TLS stream is closed')


def _max_bytes(max_bytes: Any) -> int:
    if max_bytes is None:
        return _DEFAULT_RECEIVE
    if isinstance(max_bytes, bool) or not isinstance(max_bytes, int):
        raise TypeError(f'max_bytes must be an int or None, not {type(max_bytes).__name__}')
    if max_bytes < 1:
        raise ValueError(f'max_bytes must be at least 1, got {max_bytes}')
    return max_bytes


def _is_ragged_eof(error: BaseException) -> bool:
    """The transport ended without a close_notify."""
    return isinstance(error, _stdlib_ssl.SSLEOFError) or 'UNEXPECTED_EOF' in str(error)


def _send_nowait(transport: Any, data: bytes) -> int:
    """Sends what the transport takes right now, without waiting: the count, or -1 if it
    failed. Only socket streams can; for others nothing is sent."""
    if not isinstance(transport, SocketStream):
        return 0
    try:
        return transport.socket._sock.send(data)
    except (BlockingIOError, InterruptedError):
        return 0
    except OSError:
        return -1


class TLSStream(Stream):
    """A TLS connection over ``transport_stream`` (a ``SocketStream``, or any stream with
    ``send_all``/``receive_some``/``close``), configured by a standard ``ssl.SSLContext``.

    The same stream interface as ``SocketStream``: ``send_all``, ``receive_some`` (``b""`` once
    the peer sent close_notify), the readiness methods, ``close``. The handshake runs on first
    use, or explicitly with ``do_handshake()``. One reader and one writer may work at once (two
    readers, or two writers: ``BusyResourceError``). A failed handshake, a broken session or a
    transport failure raises ``ResourceBroken`` (the cause attached), and so does every later
    call. ``close()`` sends close_notify and returns a wait (yield or await it to be sure the
    goodbye went out; usually it already has).

    ``https_compatible=True``: a peer that closes the connection without close_notify ends the
    stream like an EOF (``b""``), and ``close()`` does not send close_notify (as most HTTPS
    servers and clients behave).
    """

    __slots__ = (
        '_broken_by',
        '_changed',
        '_eof_sent',
        '_fresh',
        '_https_compatible',
        '_incoming',
        '_lock',
        '_outbox',
        '_outbox_held',
        '_outgoing',
        '_peer_eof',
        '_plain',
        '_reading',
        '_received',
        '_receiving',
        '_sending',
        '_ssl',
        '_state',
        '_transport_eof',
        '_waiting',
        '_writing',
        'transport_stream',
    )

    def __init__(
        self,
        transport_stream: Any,
        ssl_context: _stdlib_ssl.SSLContext,
        *,
        server_hostname: str | bytes | None = None,
        server_side: bool = False,
        https_compatible: bool = False,
    ) -> None:
        if not isinstance(ssl_context, _stdlib_ssl.SSLContext):
            raise TypeError(
                f'ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}'
            )
        for method in ('send_all', 'receive_some', 'close'):
            if not callable(getattr(transport_stream, method, None)):
                kind = type(transport_stream).__name__
                raise TypeError(f'TLSStream needs a stream with {method}(), not {kind}')
        if isinstance(server_hostname, bytes):
            server_hostname = server_hostname.decode('ascii')
        self.transport_stream = transport_stream
        self._https_compatible = bool(https_compatible)
        self._lock = threading.Lock()
        self._incoming = _stdlib_ssl.MemoryBIO()
        self._outgoing = _stdlib_ssl.MemoryBIO()
        self._ssl = ssl_context.wrap_bio(
            self._incoming,
            self._outgoing,
            server_side=server_side,
            server_hostname=server_hostname,
        )
        self._state = _NEW
        self._broken_by: BaseException | None = None
        self._changed = Event()
        self._waiting = False
        # Ciphertext produced and not yet handed to the transport, oldest first.
        self._outbox = bytearray()
        # The outbox holds only a TLS 1.3 server's session tickets: they wait for the next send.
        self._outbox_held = False
        self._sending = False
        self._receiving = False
        # Transport reads fed to the incoming BIO so far (a failed operation notes the count).
        self._received = 0
        # The incoming BIO has bytes no read has tried yet.
        self._fresh = False
        # The peer's side ended (close_notify or end of the transport): reads return at once.
        self._peer_eof = False
        self._transport_eof = False
        # Plaintext taken out of the SSL object (by send_eof), returned before any more is read.
        self._plain = b''
        self._reading = False
        self._writing = False
        self._eof_sent = False

    # The SSL object's information (each call under the lock).

    @property
    def transport(self) -> Any:
        """TonIO's name for ``transport_stream``."""
        return self.transport_stream

    @property
    def server_side(self) -> bool:
        return self._ssl.server_side

    @property
    def server_hostname(self) -> str | None:
        return self._ssl.server_hostname

    @property
    def context(self) -> _stdlib_ssl.SSLContext:
        return self._ssl.context

    @property
    def session_reused(self) -> bool:
        with self._lock:
            return self._ssl.session_reused

    def selected_alpn_protocol(self) -> str | None:
        """The protocol ALPN agreed on (None before the handshake or without ALPN)."""
        with self._lock:
            return self._ssl.selected_alpn_protocol()

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The peer's certificate, as ``ssl.SSLSocket.getpeercert`` gives it."""
        with self._lock:
            return self._ssl.getpeercert(binary_form)

    def version(self) -> str | None:
        """The TLS version in use (``'TLSv1.3'``), None before the handshake."""
        with self._lock:
            return self._ssl.version()

    def cipher(self) -> tuple[str, str, int] | None:
        with self._lock:
            return self._ssl.cipher()

    def shared_ciphers(self) -> list[tuple[str, str, int]] | None:
        with self._lock:
            return self._ssl.shared_ciphers()

    def compression(self) -> str | None:
        with self._lock:
            return self._ssl.compression()

    def get_channel_binding(self, cb_type: str = 'tls-unique') -> bytes | None:
        with self._lock:
            return self._ssl.get_channel_binding(cb_type)

    # State, roles and wake-ups. The `_locked` methods expect `_lock` held.

    def _usable_locked(self) -> None:
        if self._state == _CLOSED:
            raise _closed_error()
        if self._state == _BROKEN:
            raise ResourceBroken(
                'the TLS stream is broken by an earlier failure'
            ) from self._broken_by

    def _break_locked(self, error: BaseException | None) -> None:
        if self._state not in (_BROKEN, _CLOSED):
            self._state = _BROKEN
            self._broken_by = error

    def _wait_for_change_locked(self) -> Waiter[bool]:
        self._waiting = True
        return self._changed.wait()

    def _announce_locked(self) -> Event | None:
        """A role or the state changed: the Event to set (after the lock) if someone waits."""
        if not self._waiting:
            return None
        self._waiting = False
        event, self._changed = self._changed, Event()
        return event

    def _announce(self) -> None:
        with self._lock:
            event = self._announce_locked()
        if event is not None:
            event.set()

    def _collect_locked(self) -> bool:
        """Moves what the SSL object wrote to the outbox; True if there is something to send."""
        if self._outgoing.pending:
            self._outbox += self._outgoing.read()
            self._outbox_held = False
        return bool(self._outbox) and not self._outbox_held

    def _feed_locked(self, data: bytes) -> None:
        """Gives the SSL object what the transport read (``b""``: its end)."""
        if self._transport_eof:
            return
        if data:
            self._incoming.write(data)
        else:
            self._incoming.write_eof()
            self._transport_eof = True
            self._peer_eof = True

    def _enter(self, reading: bool) -> None:
        with self._lock:
            if reading:
                if self._reading:
                    raise BusyResourceError(
                        'another task is already receiving on this TLS stream (one reader and '
                        'one writer at a time)'
                    )
                self._reading = True
            else:
                if self._writing:
                    raise BusyResourceError(
                        'another task is already sending on this TLS stream (one reader and '
                        'one writer at a time)'
                    )
                self._writing = True

    def _leave(self, reading: bool) -> None:
        with self._lock:
            if reading:
                self._reading = False
            else:
                self._writing = False

    def _transport_failed_locked(self, error: BaseException) -> BaseException:
        """What a task raises when the transport failed under it (the stream is broken, unless
        it was closed)."""
        if self._state == _CLOSED:
            return _closed_error()
        self._break_locked(error)
        failure = ResourceBroken(f'the transport under the TLS stream failed: {error}')
        failure.__cause__ = error
        return failure

    # Moving ciphertext.

    def _take_send_role(self, wait: bool) -> Generator[Any, Any, bool]:
        """Takes the send role: True once held. ``wait=False``: False at once when another task
        holds it (that task sends the outbox, bytes left there meanwhile included, before it lets
        go)."""
        while True:
            with self._lock:
                self._usable_locked()
                if not self._sending:
                    self._sending = True
                    return True
                if not wait:
                    return False
                change = self._wait_for_change_locked()
            yield change

    def _release_send_role(self) -> None:
        with self._lock:
            self._sending = False
            event = self._announce_locked()
        if event is not None:
            event.set()

    def _send_outbox(self, release: bool) -> Generator[Any, Any, None]:
        """Sends the outbox until it is empty; the caller holds the send role. ``release``: gives
        the role back in the same lock section that finds the outbox empty, so bytes another task
        leaves there meanwhile are never stranded. A failure gives the role back (the stream is
        broken then)."""
        event: Event | None = None
        try:
            while True:
                with self._lock:
                    if self._state in (_BROKEN, _CLOSED) or not self._outbox:
                        if release:
                            self._sending = False
                            event = self._announce_locked()
                        break
                    data = bytes(self._outbox)
                    self._outbox.clear()
                    self._outbox_held = False
                yield self.transport_stream.send_all(data)
        except BaseException as error:
            # Part of a record may have gone out: nothing can follow it any more.
            with self._lock:
                self._sending = False
                if isinstance(error, Exception):
                    failure = self._transport_failed_locked(error)
                else:
                    self._break_locked(None)
                    failure = error
                event = self._announce_locked()
            if event is not None:
                event.set()
            if failure is error:
                raise
            raise failure from error
        if event is not None:
            event.set()
        with self._lock:
            self._usable_locked()

    def _flush(self, wait: bool) -> Generator[Any, Any, None]:
        """Gets the outbox sent. ``wait``: until it has reached the transport (waiting for a
        task that is sending, then sending what is left). Else, when another task is sending,
        leaves the bytes to it."""
        if (yield from self._take_send_role(wait)):
            yield from self._send_outbox(release=True)

    def _receive_more(self, seen: int) -> Generator[Any, Any, None]:
        """Feeds the incoming BIO with one transport read, unless another task did since the
        caller's operation failed (``seen``): then the caller just tries again."""
        while True:
            with self._lock:
                self._usable_locked()
                if self._received != seen:
                    return
                if not self._receiving:
                    self._receiving = True
                    break
                change = self._wait_for_change_locked()
            yield change
        try:
            data = yield self.transport_stream.receive_some()
        except BaseException as error:
            # Nothing was read (a read that happened is delivered, not lost to the cancel).
            with self._lock:
                self._receiving = False
                failure = (
                    self._transport_failed_locked(error) if isinstance(error, Exception) else error
                )
                event = self._announce_locked()
            if event is not None:
                event.set()
            if failure is error:
                raise
            raise failure from error
        with self._lock:
            self._receiving = False
            self._feed_locked(data)
            self._received += 1
            self._fresh = True
            event = self._announce_locked()
        if event is not None:
            event.set()

    def _drive(
        self,
        operation: Callable[..., Any],
        *args: Any,
        wait: bool = False,
        held: bool = False,
        handshake: bool = False,
    ) -> Generator[Any, Any, Any]:
        """Runs ``operation`` on the SSL object until it no longer wants to read, sending what it
        writes and receiving what it asks for. ``held``: the caller holds the send role (a
        writer) and sends the outbox itself; else ``wait`` as for ``_flush``."""
        while True:
            with self._lock:
                self._usable_locked()
                want_read = False
                failure: BaseException | None = None
                try:
                    result = operation(*args)
                except _stdlib_ssl.SSLWantReadError:
                    want_read = True
                except (_stdlib_ssl.SSLError, _stdlib_ssl.CertificateError) as error:
                    self._break_locked(error)
                    failure = error
                self._fresh = not want_read and self._incoming.pending > 0
                send = self._collect_locked()
                if (
                    handshake
                    and failure is None
                    and not want_read
                    and self._ssl.server_side
                    and self._ssl.version() == 'TLSv1.3'
                ):
                    # A TLS 1.3 server writes session tickets as its handshake ends: they wait
                    # for the next send, so a client that closes at once is no failure here.
                    self._outbox_held = True
                    send = False
                seen = self._received
                event = self._announce_locked() if failure is not None else None
            if failure is not None:
                if event is not None:
                    event.set()
                what = 'TLS handshake failed' if handshake else 'TLS session failed'
                raise ResourceBroken(f'{what}: {failure}') from failure
            if send:
                if held:
                    yield from self._send_outbox(release=False)
                else:
                    yield from self._flush(wait)
            if not want_read:
                return result
            yield from self._receive_more(seen)

    # The handshake.

    def _handshake(self) -> Generator[Any, Any, None]:
        """Runs the handshake, or waits for the task running it."""
        while True:
            with self._lock:
                if self._state == _READY:
                    return
                self._usable_locked()
                if self._state == _NEW:
                    self._state = _HANDSHAKING
                    break
                change = self._wait_for_change_locked()
            yield change
        try:
            yield from self._drive(self._ssl.do_handshake, wait=True, handshake=True)
        except BaseException:
            with self._lock:
                if self._state == _HANDSHAKING:
                    # Cancelled while waiting for the peer: a later call carries on.
                    self._state = _NEW
                event = self._announce_locked()
            if event is not None:
                event.set()
            raise
        with self._lock:
            if self._state == _HANDSHAKING:
                self._state = _READY
            event = self._announce_locked()
        if event is not None:
            event.set()

    @types.coroutine
    def do_handshake(self) -> Generator[Any, Any, None]:
        """Runs the TLS handshake now (otherwise the first send or receive does). Done at once
        if it already was; ``ResourceBroken`` if it fails."""
        yield from self._handshake()

    def handshake(self) -> Any:
        """TonIO's name for ``do_handshake()``."""
        return self.do_handshake()

    def _ready_locked(self, what: str) -> None:
        self._usable_locked()
        if self._state != _READY:
            raise RuntimeError(
                f'{what} needs a finished handshake: wait for stream.do_handshake() first'
            )

    # Receiving.

    def _read_locked(self, max_bytes: int) -> bytes:
        """Plaintext from the SSL object: at least one byte, up to ``max_bytes`` (several
        records when they are already there); ``b""`` at the end; ``SSLWantReadError`` if none
        has arrived yet."""
        if self._plain:
            data, self._plain = self._plain[:max_bytes], self._plain[max_bytes:]
            return data
        try:
            data = self._ssl.read(min(max_bytes, _RECORD))
        except _stdlib_ssl.SSLZeroReturnError:
            data = b''
        except _stdlib_ssl.SSLError as error:
            if not (self._https_compatible and _is_ragged_eof(error)):
                raise
            data = b''
        if not data:
            self._peer_eof = True
            return b''
        if len(data) >= max_bytes:
            return data
        # More records may be waiting: take them too, up to max_bytes (one wake, one call).
        parts = [data]
        size = len(data)
        while size < max_bytes and (self._ssl.pending() or self._incoming.pending):
            try:
                more = self._ssl.read(min(max_bytes - size, _RECORD))
            except _stdlib_ssl.SSLError:
                # WantRead, the end, or a failure: the next call meets it.
                break
            if not more:
                break
            parts.append(more)
            size += len(more)
        return b''.join(parts)

    @types.coroutine
    def _receive(self, max_bytes: int) -> Generator[Any, Any, bytes]:
        self._enter(reading=True)
        try:
            yield from self._handshake()
            data: bytes = yield from self._drive(self._read_locked, max_bytes)
            return data
        finally:
            self._leave(reading=True)

    def receive_some(self, max_bytes: int | None = None) -> Any:
        """The plaintext available (at least one byte, at most ``max_bytes``, default 64 KiB),
        waiting for some if none is; ``b""`` once the peer said goodbye (close_notify)."""
        return self._receive(_max_bytes(max_bytes))

    def receive_some_nowait(self, max_bytes: int | None = None) -> Any:
        """The plaintext available now, or ``stream.NotReady`` if none is yet (needs a finished
        handshake). Bytes this read makes the stream owe the peer are sent if the transport
        takes them at once, else with the next send."""
        max_bytes = _max_bytes(max_bytes)
        self._enter(reading=True)
        try:
            while True:
                with self._lock:
                    self._ready_locked('receive_some_nowait()')
                    failure: BaseException | None = None
                    try:
                        data = self._read_locked(max_bytes)
                    except _stdlib_ssl.SSLWantReadError:
                        data = None
                    except (_stdlib_ssl.SSLError, _stdlib_ssl.CertificateError) as error:
                        self._break_locked(error)
                        failure = error
                    self._fresh = data is not None and self._incoming.pending > 0
                    send = self._collect_locked() and not self._sending
                    if send:
                        self._sending = True
                    take = data is None and failure is None and not self._receiving
                    if take:
                        self._receiving = True
                if failure is not None:
                    self._announce()
                    raise ResourceBroken(f'TLS session failed: {failure}') from failure
                if send:
                    self._flush_nowait()
                if data is not None:
                    return data
                if not take:
                    # Another task is receiving: what it gets, it reads itself.
                    return self.NotReady
                try:
                    chunk = self.transport_stream.receive_some_nowait()
                except Exception as error:
                    with self._lock:
                        self._receiving = False
                        failed = self._transport_failed_locked(error)
                    self._announce()
                    raise failed from error
                with self._lock:
                    self._receiving = False
                    if chunk is not self.NotReady:
                        self._feed_locked(chunk)
                        self._received += 1
                        self._fresh = True
                self._announce()
                if chunk is self.NotReady:
                    return self.NotReady
        finally:
            self._leave(reading=True)

    def _flush_nowait(self) -> None:
        """Sends what the transport takes at once; the caller holds the send role, which this
        gives back. The rest stays in the outbox for the next send."""
        with self._lock:
            data = bytes(self._outbox)
            self._outbox.clear()
        sent = _send_nowait(self.transport_stream, data) if data else 0
        with self._lock:
            if sent < 0:
                self._break_locked(OSError('sending to the transport failed'))
            elif sent < len(data):
                self._outbox[:0] = data[sent:]
            self._sending = False
            event = self._announce_locked()
        if event is not None:
            event.set()

    def try_receive_some(self, max_bytes: int | None = None) -> bytes:
        """The plaintext available now; raises ``WouldBlock`` if none is yet."""
        data = self.receive_some_nowait(max_bytes)
        if data is self.NotReady:
            raise WouldBlock('no data to receive yet')
        return data  # type: ignore[no-any-return]

    # Sending.

    @types.coroutine
    def _send_all(self, data: bytes | memoryview) -> Generator[Any, Any, None]:
        self._enter(reading=False)
        try:
            if self._eof_sent:
                raise RuntimeError("can't send data after send_eof()")
            yield from self._handshake()
            # The role is held from before the first write until the last byte has gone: the
            # ciphertext is in the outbox only while its writer sends it, so a reader never
            # finds it there and blocks sending it (both readers of a full-duplex connection
            # stuck in sends their peers do not read: a deadlock).
            yield from self._take_send_role(wait=True)
            sent = False
            try:
                with memoryview(data) as view:
                    for start in range(0, len(view), _SEND_CHUNK):
                        chunk = view[start : start + _SEND_CHUNK]
                        yield from self._drive(self._ssl.write, chunk, held=True)
                sent = True
                yield from self._send_outbox(release=True)
            finally:
                if not sent:
                    self._release_send_role()
        finally:
            self._leave(reading=False)

    def send_all(self, data: Any) -> Any:
        """Encrypts and sends every byte of ``data`` (bytes-like); returns once all of it has
        reached the transport."""
        memoryview(data).release()  # not bytes-like: the usual TypeError, now
        return self._send_all(data)

    @types.coroutine
    def _send_eof(self) -> Generator[Any, Any, None]:
        self._enter(reading=False)
        try:
            if self._eof_sent:
                return
            yield from self._handshake()
            # As in send_all, the role is held from before unwrap() writes the close_notify until
            # it has gone: a receiving task never finds it in the outbox and blocks sending it.
            yield from self._take_send_role(wait=True)
            unwrapped = False
            try:
                with self._lock:
                    self._usable_locked()
                    if self._transport_eof:
                        # The peer's transport has ended: there is no one to say goodbye to.
                        self._eof_sent = True
                        return
                    version = self._ssl.version()
                    if version != 'TLSv1.3':
                        raise RuntimeError(
                            f'send_eof() needs TLS 1.3 (this connection uses {version}, where '
                            'close_notify ends both directions): use close()'
                        )
                    # unwrap() sends close_notify, then tries to read the peer's and would choke
                    # on application data: keep the decrypted bytes aside, hide the unread ones.
                    pending = self._ssl.pending()
                    if pending:
                        self._plain += self._ssl.read(pending)
                    hidden = self._incoming.read()
                    try:
                        self._ssl.unwrap()
                    except _stdlib_ssl.SSLWantReadError:
                        pass
                    except _stdlib_ssl.SSLError as error:
                        self._break_locked(error)
                        raise ResourceBroken(f'TLS session failed: {error}') from error
                    finally:
                        if hidden:
                            self._incoming.write(hidden)
                    self._eof_sent = True
                    self._collect_locked()
                unwrapped = True
                yield from self._send_outbox(release=True)
            finally:
                if not unwrapped:
                    self._release_send_role()
        finally:
            self._leave(reading=False)

    def send_eof(self) -> Any:
        """Says goodbye in the sending direction only (close_notify; TLS 1.3 only): the peer
        reads the end of the stream, and this side can still receive. A wait."""
        return self._send_eof()

    # Readiness.

    def _arm_r(self, timeout: float | None) -> Waiter[bool] | None:
        with self._lock:
            self._ready_locked('waiting for readability')
            if self._plain or self._fresh or self._peer_eof or self._ssl.pending():
                return None
        return self.transport_stream.waiter_readable(timeout)  # type: ignore[no-any-return]

    def _arm_w(self, timeout: float | None) -> Waiter[bool] | None:
        with self._lock:
            self._ready_locked('waiting for writability')
        return self.transport_stream.waiter_writable(timeout)  # type: ignore[no-any-return]

    def _check_ready(self, what: str) -> None:
        with self._lock:
            self._ready_locked(what)

    def wait_readable(self, timeout: float | None = None) -> Any:
        """Waits until plaintext may be read (already decrypted, or ciphertext arrived): True,
        or False when ``timeout`` seconds pass first. Needs a finished handshake."""
        self._check_ready('wait_readable()')
        return _wait_ready(self._arm_r, timeout)

    def wait_writable(self, timeout: float | None = None) -> Any:
        """Waits until the transport can take data: True, or False after ``timeout`` seconds."""
        self._check_ready('wait_writable()')
        return _wait_ready(self._arm_w, timeout)

    def waiter_readable(self, timeout: float | None = None) -> Waiter[bool] | None:
        return self._arm_r(timeout)

    def waiter_writable(self, timeout: float | None = None) -> Waiter[bool] | None:
        return self._arm_w(timeout)

    def watch_readable(self) -> StreamWatcher:
        return StreamWatcher(self._arm_r)

    def watch_writable(self) -> StreamWatcher:
        return StreamWatcher(self._arm_w)

    # Closing.

    @property
    def closed(self) -> bool:
        return self._state == _CLOSED

    def close(self) -> Any:
        """Closes the stream, saying goodbye first (close_notify) when the session is up. The
        goodbye usually leaves at once; the wait returned (yield or await it) finishes it when
        the transport could not take it yet, then closes the transport. Tasks waiting on the
        stream wake with ``OSError(EBADF)``."""
        transport = self.transport_stream
        with self._lock:
            if self._state == _CLOSED:
                return _immediately(None)
            polite = self._state == _READY and not self._https_compatible and not self._sending
            self._state = _CLOSED
            data = b''
            if polite:
                self._sending = True
                if not self._eof_sent:
                    # Unread data would make unwrap() fail after it wrote close_notify.
                    self._incoming.read()
                    with contextlib.suppress(_stdlib_ssl.SSLError, _stdlib_ssl.CertificateError):
                        self._ssl.unwrap()
                self._collect_locked()
                data = bytes(self._outbox)
                self._outbox.clear()
            event = self._announce_locked()
        if event is not None:
            event.set()
        sent = _send_nowait(transport, data) if data else len(data)
        if sent < 0 or sent == len(data):
            transport.close()
            return _immediately(None)
        goodbye = _finish_close(transport, data[sent:])
        # Never waited for: the transport closes when the wait is dropped.
        weakref.finalize(goodbye, transport.close)
        return goodbye

    def __repr__(self) -> str:
        state = ('new', 'handshaking', 'ready', 'broken', 'closed')[self._state]
        side = 'server' if self._ssl.server_side else 'client'
        return f'<tonio TLSStream {side} {state} over {self.transport_stream!r}>'


@types.coroutine
def _finish_close(transport: Any, rest: bytes) -> Generator[Any, Any, None]:
    try:
        yield transport.send_all(rest)
    except Exception:
        pass  # the goodbye is a courtesy: a peer that left does not make close() fail
    finally:
        transport.close()


@types.coroutine
def _accept_tls(listener: TLSListener) -> Generator[Any, Any, TLSStream]:
    stream = yield listener.transport_listener.accept()
    try:
        return TLSStream(
            stream,
            listener.ssl_context,
            server_side=True,
            https_compatible=listener.https_compatible,
        )
    except BaseException:
        stream.close()
        raise


class TLSListener(Stream):
    """Accepts TLS connections on a listener (``SocketListener``): ``accept()`` gives a
    ``TLSStream`` (server side) whose handshake runs in the task that uses it (first send or
    receive, or ``do_handshake()``), so a slow client never holds up the next ``accept``."""

    __slots__ = ('https_compatible', 'ssl_context', 'transport_listener')

    def __init__(
        self,
        transport_listener: Any,
        ssl_context: _stdlib_ssl.SSLContext,
        *,
        https_compatible: bool = False,
    ) -> None:
        if not isinstance(ssl_context, _stdlib_ssl.SSLContext):
            raise TypeError(
                f'ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}'
            )
        self.transport_listener = transport_listener
        self.ssl_context = ssl_context
        self.https_compatible = https_compatible

    @property
    def transport(self) -> Any:
        """TonIO's name for ``transport_listener``."""
        return self.transport_listener

    def accept(self) -> Any:
        """Waits for the next connection: a ``TLSStream``."""
        return _accept_tls(self)

    def close(self) -> None:
        self.transport_listener.close()

    def __repr__(self) -> str:
        return f'<tonio TLSListener over {self.transport_listener!r}>'


__all__ = ['TLSListener', 'TLSStream']
