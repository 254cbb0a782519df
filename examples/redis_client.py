"""A Redis client on tonio: commands, pipelining, and a parser for every RESP reply type.

::

    import tonio.colored as tonio
    from redis_client import connect

    async def main():
        client = await connect('127.0.0.1:6379')
        await client.set('greeting', 'hello')
        assert await client.get('greeting') == b'hello'
        assert await client.incr('visits') == 1
        pipe = client.pipeline()
        pipe.set('a', 1).incr('a').get('a')
        assert await pipe.execute() == ['OK', 2, b'2']
        await client.close()

    tonio.run(main())

The client is written with ``async def``, and generator code uses it unchanged: tonio runs a
yielded coroutine inline, so ``value = yield client.get('greeting')`` works too.

Three parts, each usable alone:

- ``RespParser``: bytes in, replies out. It keeps no I/O and resumes where the last chunk ended
  (a reply split across reads is never parsed twice from its start).
- ``encode``: a command as RESP (an array of bulk strings).
- ``Client`` and ``Pipeline``: a connection that sends commands and reads their replies in order.

How replies map to Python (RESP2, and RESP3 after ``connect(..., protocol=3)``): simple string
``+OK`` → ``str``; error ``-ERR ...`` → ``RedisError`` (raised by a command, returned in place by
a pipeline); integer → ``int``; bulk string → ``bytes``; null bulk and null array → ``None``;
array → ``list`` (nested arrays nest). RESP3 adds: null → ``None``, boolean → ``bool``, double →
``float``, big number → ``int``, verbatim string → ``Verbatim`` (a ``str`` with ``.format``),
map → ``dict``, set → ``set``, push → ``Push`` (a ``list``), bulk error → ``RedisError``;
attributes are read and dropped. Aggregates inside a set or as map keys become tuples (or
frozensets) so they can be hashed.

A client belongs to one task at a time. If a command is cancelled or fails mid-way (the
connection is then out of step with the server), the client closes itself: the next command
raises ``ConnectionError`` instead of reading some other command's reply.
"""

from __future__ import annotations

import threading

import tonio.colored.net

__all__ = [
    'Client',
    'Pipeline',
    'Push',
    'RedisError',
    'RespParser',
    'Verbatim',
    'connect',
    'encode',
]


class RedisError(Exception):
    """An error reply (``-ERR ...``, ``-WRONGTYPE ...``, or a RESP3 bulk error)."""

    @property
    def kind(self):
        """The error's first word: ``ERR``, ``WRONGTYPE``, ``NOSCRIPT``, ..."""
        return str(self).split(' ', 1)[0]


class ProtocolError(ConnectionError):
    """The server sent something that is not RESP: the connection cannot be trusted any more."""


class Verbatim(str):
    """A RESP3 verbatim string: its text, and ``format`` (``'txt'`` or ``'mkd'``)."""

    format: str

    def __new__(cls, text, format):
        self = super().__new__(cls, text)
        self.format = format
        return self


class Push(list):
    """A RESP3 push message (out-of-band data such as pub/sub messages)."""


# The parser --------------------------------------------------------------------------------------

_NOT_YET = object()  # the next token has not fully arrived
_OPENED = object()  # an aggregate header was read: its elements follow
_DROPPED = object()  # a finished attribute: no value for the parent

# The longest header line accepted (a type byte, a length or a simple string): a peer that sends
# more without a line end is not speaking RESP, and must not make us buffer without bound.
MAX_LINE = 64 * 1024
MAX_BULK = 512 * 1024 * 1024  # Redis' own limit on a bulk string


def _hashable(value):
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, set):
        return frozenset(value)
    if isinstance(value, dict):
        return tuple((key, _hashable(item)) for key, item in value.items())
    return value


class _Aggregate:
    """An array, map, set, push or attribute still waiting for ``remaining`` elements."""

    __slots__ = ('items', 'kind', 'remaining')

    def __init__(self, kind, remaining):
        self.kind = kind
        self.remaining = remaining
        self.items = []

    def finish(self):
        items = self.items
        if self.kind == b'*':
            return items
        if self.kind == b'>':
            return Push(items)
        if self.kind == b'~':
            return {_hashable(item) for item in items}
        if self.kind == b'%':
            return {_hashable(items[i]): items[i + 1] for i in range(0, len(items), 2)}
        return _DROPPED  # b'|': attributes describe the next reply; this client ignores them


class RespParser:
    """Incremental RESP2/RESP3 parser: ``feed(data)``, then take replies with ``pop()``.

    Raises ``ProtocolError`` on bytes that are not RESP; the parser is unusable afterwards.
    """

    def __init__(self):
        self._buffer = bytearray()
        self._position = 0
        self._open = []  # aggregates being filled, innermost last
        self._replies = []
        self._taken = 0

    def feed(self, data):
        """Adds received bytes and parses every reply they complete."""
        self._buffer += data
        while (value := self._token()) is not _NOT_YET:
            if value is not _OPENED:
                self._complete(value)
        if self._position > 65536 and self._position * 2 > len(self._buffer):
            # Forget what was parsed, without copying the rest more than once per 64 KiB.
            del self._buffer[: self._position]
            self._position = 0

    def has_reply(self):
        return self._taken < len(self._replies)

    def pop(self):
        """The oldest complete reply not taken yet (``has_reply()`` must be true)."""
        if not self.has_reply():
            raise LookupError('no complete reply yet')
        reply = self._replies[self._taken]
        self._taken += 1
        if self._taken == len(self._replies):
            self._replies.clear()
            self._taken = 0
        return reply

    def _complete(self, value):
        """Hands a finished value to the innermost open aggregate, closing those it fills."""
        while value is not _DROPPED:
            if not self._open:
                self._replies.append(value)
                return
            aggregate = self._open[-1]
            aggregate.items.append(value)
            aggregate.remaining -= 1
            if aggregate.remaining:
                return
            value = self._open.pop().finish()

    def _line(self):
        """The next line without its CRLF, or None until it has arrived."""
        end = self._buffer.find(b'\r\n', self._position)
        if end < 0:
            if len(self._buffer) - self._position > MAX_LINE:
                raise ProtocolError(f'a RESP line longer than {MAX_LINE} bytes')
            return None
        line = bytes(self._buffer[self._position : end])
        self._position = end + 2
        return line

    def _length(self, text, kind):
        try:
            length = int(text)
        except ValueError:
            raise ProtocolError(f'bad length {text!r} after {kind!r}') from None
        if length < -1 or length > MAX_BULK:
            raise ProtocolError(f'bad length {length} after {kind!r}')
        return length

    def _token(self):
        """Parses one header (and a bulk payload with it): a value, ``_OPENED`` or ``_NOT_YET``."""
        start = self._position
        line = self._line()
        if line is None:
            return _NOT_YET
        if not line:
            raise ProtocolError('an empty RESP line')
        kind, rest = line[:1], line[1:]
        if kind == b'+':
            return rest.decode('utf-8', 'replace')
        if kind == b'-':
            return RedisError(rest.decode('utf-8', 'replace'))
        if kind in (b':', b'('):
            try:
                return int(rest)
            except ValueError:
                raise ProtocolError(f'bad integer {rest!r}') from None
        if kind in (b'$', b'=', b'!'):
            length = self._length(rest, kind)
            if length == -1:
                return None
            end = self._position + length
            if len(self._buffer) < end + 2:
                self._position = start  # wait for the whole payload, then read the header again
                return _NOT_YET
            if self._buffer[end : end + 2] != b'\r\n':
                raise ProtocolError('a bulk string not followed by CRLF')
            payload = bytes(self._buffer[self._position : end])
            self._position = end + 2
            if kind == b'$':
                return payload
            if kind == b'!':
                return RedisError(payload.decode('utf-8', 'replace'))
            format, _, text = payload.decode('utf-8', 'replace').partition(':')
            return Verbatim(text, format)
        if kind in (b'*', b'%', b'~', b'>', b'|'):
            count = self._length(rest, kind)
            if count == -1:
                return None
            if kind in (b'%', b'|'):
                count *= 2
            if count == 0:
                return _Aggregate(kind, 0).finish()
            self._open.append(_Aggregate(kind, count))
            return _OPENED
        if kind == b'_':
            return None
        if kind == b'#':
            if rest not in (b't', b'f'):
                raise ProtocolError(f'bad boolean {rest!r}')
            return rest == b't'
        if kind == b',':
            try:
                return float(rest)  # also 'inf', '-inf' and 'nan'
            except ValueError:
                raise ProtocolError(f'bad double {rest!r}') from None
        raise ProtocolError(f'unknown RESP type {kind!r}')


# Encoding commands -------------------------------------------------------------------------------


def _argument(value):
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, bool):
        raise TypeError('a command argument cannot be a bool (Redis has none): pass 0 or 1')
    if isinstance(value, int):
        return b'%d' % value
    if isinstance(value, float):
        return repr(value).encode()  # Redis reads 'inf' and '-inf' too
    raise TypeError(
        f'a command argument must be bytes, str, int or float, not {type(value).__name__}'
    )


def encode(*args):
    """A command (``'SET', 'key', 1``) as RESP: an array of bulk strings."""
    if not args:
        raise ValueError('a command needs at least its name')
    parts = [b'*%d\r\n' % len(args)]
    for arg in args:
        data = _argument(arg)
        parts.append(b'$%d\r\n%s\r\n' % (len(data), data))
    return b''.join(parts)


# Commands after which the server sends messages nobody asked for: not supported here.
_STREAMING = {b'SUBSCRIBE', b'PSUBSCRIBE', b'SSUBSCRIBE', b'MONITOR', b'SYNC', b'PSYNC'}


def _encode_supported(args):
    request = encode(*args)
    if _argument(args[0]).upper() in _STREAMING:
        raise ValueError(
            f'{args[0]!r} turns the connection into a stream of messages, '
            'which this client does not support'
        )
    return request


# The client --------------------------------------------------------------------------------------


def _split_address(address):
    """``'host:port'``, ``'[v6]:port'`` or ``'host'`` (port 6379) as ``(host, port)``."""
    if not isinstance(address, str):
        raise TypeError(f'the address must be a str like "127.0.0.1:6379", not {address!r}')
    host, port = address, 6379
    if address.startswith('['):
        host, _, rest = address[1:].partition(']')
        if rest:
            port = rest.removeprefix(':')
    elif address.count(':') == 1:
        host, port = address.split(':')
    try:
        port = int(port)
    except ValueError:
        raise ValueError(f'bad port in Redis address {address!r}') from None
    return host, port


class _Commands:
    """The commands, shared by ``Client`` (each awaited) and ``Pipeline`` (queued)."""

    def _command(self, *args):
        raise NotImplementedError

    def ping(self, message=None):
        return self._command('PING') if message is None else self._command('PING', message)

    def set(self, key, value, *, ex=None, px=None, nx=False, xx=False):
        """``'OK'``, or None when ``nx``/``xx`` kept the value from being set."""
        args = ['SET', key, value]
        if ex is not None:
            args += ['EX', ex]
        if px is not None:
            args += ['PX', px]
        if nx:
            args.append('NX')
        if xx:
            args.append('XX')
        return self._command(*args)

    def get(self, key):
        """The value as ``bytes``, or None if there is none."""
        return self._command('GET', key)

    def incr(self, key, amount=1):
        """The new value, an ``int``."""
        if amount == 1:
            return self._command('INCR', key)
        return self._command('INCRBY', key, amount)

    def delete(self, *keys):
        """How many of ``keys`` existed."""
        return self._command('DEL', *keys)

    def execute_command(self, *args):
        """Any command: ``execute_command('HSET', 'h', 'field', 'value')``."""
        return self._command(*args)


class Client(_Commands):
    """A connection to Redis; make one with ``connect``. Each command method is awaited (or
    yielded, in generator code) and gives the reply."""

    def __init__(self, stream):
        self._stream = stream
        self._parser = RespParser()
        self._busy = threading.Lock()
        self._broken = None
        self.pushes = []  # RESP3 push messages received so far (client tracking, ...)

    async def _command(self, *args):
        (reply,) = await self._round_trip(_encode_supported(args), 1)
        if isinstance(reply, RedisError):
            raise reply
        return reply

    async def _round_trip(self, request, count):
        """Sends ``request`` and reads ``count`` replies: the one place the connection is used."""
        if not self._busy.acquire(blocking=False):
            raise RuntimeError('another task is using this Redis client (one task at a time)')
        try:
            if self._broken is not None:
                raise ConnectionError(f'the Redis connection is closed: {self._broken}')
            try:
                await self._stream.send_all(request)
                replies = []
                while len(replies) < count:
                    if self._parser.has_reply():
                        reply = self._parser.pop()
                        if isinstance(reply, Push):
                            self.pushes.append(reply)  # out of band: not a command's reply
                        else:
                            replies.append(reply)
                        continue
                    data = await self._stream.receive_some()
                    if not data:
                        raise ConnectionError('Redis closed the connection')
                    self._parser.feed(data)
                return replies
            except BaseException as error:
                # Replies may still be on their way: the connection is out of step for good.
                self._broken = f'a command was interrupted ({type(error).__name__})'
                self._stream.close()
                raise
        finally:
            self._busy.release()

    def pipeline(self):
        """Commands queued, then sent together by ``await pipeline.execute()``."""
        return Pipeline(self)

    async def close(self):
        if self._broken is None:
            self._broken = 'closed by the client'
            self._stream.close()

    async def __aenter__(self):
        return self

    async def __aexit__(self, *exc_info):
        await self.close()


class Pipeline(_Commands):
    """Queued commands (``pipe.set('a', 1).incr('a')``; each method returns the pipeline), sent in
    one write by ``execute()``, which gives their replies in order, errors in place."""

    def __init__(self, client):
        self._client = client
        self._queued = []

    def _command(self, *args):
        self._queued.append(_encode_supported(args))
        return self

    def __len__(self):
        return len(self._queued)

    async def execute(self):
        queued, self._queued = self._queued, []
        if not queued:
            return []
        return await self._client._round_trip(b''.join(queued), len(queued))


async def connect(address='127.0.0.1:6379', *, protocol=2):
    """Connects to the Redis server at ``address`` (``'host:port'``). ``protocol=3`` switches the
    connection to RESP3 (``HELLO 3``, Redis 6 or later)."""
    if protocol not in (2, 3):
        raise ValueError(f'protocol must be 2 or 3, not {protocol!r}')
    host, port = _split_address(address)
    client = Client(await tonio.colored.net.open_tcp_stream(host, port))
    if protocol == 3:
        try:
            await client.execute_command('HELLO', 3)
        except BaseException:
            await client.close()
            raise
    return client
