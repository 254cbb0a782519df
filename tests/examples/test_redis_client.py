"""examples/redis_client.py against a real redis-server: every RESP reply type, pipelining,
both syntaxes, concurrency, and a client that is never left out of step after a cancel; and
the parser alone, fed every reply split at every byte."""

import os
import socket
import subprocess
import time

import pytest
import redis_client
from redis_client import ProtocolError, Push, RedisError, RespParser, Verbatim, connect, encode
from tests.conftest import run_bounded

import tonio
import tonio.colored

from .conftest import free_port, require, stopped_at_exit


def _answers_ping(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as probe:
            probe.sendall(b'PING\r\n')
            return probe.recv(100) == b'+PONG\r\n'
    except OSError:
        return False


@pytest.fixture(scope='module')
def redis_address(tmp_path_factory):
    """A redis-server of our own on a free loopback port, persisting nothing, stopped after the
    module's tests."""
    binary = require('redis-server')
    directory = tmp_path_factory.mktemp('redis')
    port = free_port()
    log = directory / 'redis.log'
    with log.open('wb') as output:
        process = subprocess.Popen(
            [
                binary,
                '--port', str(port),
                '--bind', '127.0.0.1',
                '--save', '',
                '--appendonly', 'no',
                '--dir', str(directory),
                '--enable-debug-command', 'local',  # DEBUG PROTOCOL: one reply of each RESP3 type
            ],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=directory,
        )  # fmt: skip
    with stopped_at_exit(process):
        deadline = time.monotonic() + 20
        while not _answers_ping(port):
            if process.poll() is not None:
                pytest.fail(f'redis-server exited: {log.read_text()}')
            if time.monotonic() > deadline:
                pytest.fail('redis-server did not answer PING within 20 s')
            time.sleep(0.02)
        yield f'127.0.0.1:{port}'


def run_async(coro, threads=1):
    return run_bounded(coro, timeout=30, threads=threads)


@pytest.fixture
def key(request):
    """A key no other test uses."""
    return f'{request.node.name}:{os.urandom(4).hex()}'


# Every RESP2 reply type, from a real server.


def test_simple_string_integer_and_bulk_replies(redis_address, key):
    async def main():
        client = await connect(redis_address)
        async with client:
            return [
                await client.ping(),
                await client.set(key, 'hello'),
                await client.get(key),
                await client.incr(key + ':n'),
                await client.incr(key + ':n', 41),
            ]

    assert run_async(main()) == ['PONG', 'OK', b'hello', 1, 42]


def test_bulk_strings_are_binary_safe_and_any_size(redis_address, key):
    values = [b'', b'\r\n$-1\r\n*3\r\n', bytes(range(256)), os.urandom(3_000_000)]

    async def main():
        async with await connect(redis_address) as client:
            got = []
            for value in values:
                await client.set(key, value)
                got.append(await client.get(key))
            return got

    assert run_async(main()) == values


def test_null_bulk_reply(redis_address, key):
    async def main():
        async with await connect(redis_address) as client:
            return (
                await client.get(key),
                await client.set(key, 1, nx=True),
                await client.set(key, 2, nx=True),
            )

    assert run_async(main()) == (None, 'OK', None)


def test_error_replies_raise_and_leave_the_client_usable(redis_address, key):
    async def main():
        async with await connect(redis_address) as client:
            await client.set(key, 'not a number')
            with pytest.raises(RedisError, match='not an integer') as not_integer:
                await client.incr(key)
            await client.execute_command('LPUSH', key + ':list', 'x')
            with pytest.raises(RedisError) as wrong_type:
                await client.get(key + ':list')
            with pytest.raises(RedisError, match='unknown command'):
                await client.execute_command('NO-SUCH-COMMAND')
            return not_integer.value.kind, wrong_type.value.kind, await client.ping()

    assert run_async(main()) == ('ERR', 'WRONGTYPE', 'PONG')


def test_array_empty_array_and_null_array_replies(redis_address, key):
    async def main():
        async with await connect(redis_address) as client:
            await client.execute_command('RPUSH', key, 'a', 'b', 'c')
            return [
                await client.execute_command('LRANGE', key, 0, -1),
                await client.execute_command('LRANGE', key + ':none', 0, -1),
                # BLPOP timing out is RESP2's null array (*-1).
                await client.execute_command('BLPOP', key + ':none', 0.01),
            ]

    assert run_async(main()) == [[b'a', b'b', b'c'], [], None]


def test_nested_array_replies(redis_address, key):
    async def main():
        async with await connect(redis_address) as client:
            await client.execute_command('HSET', key, 'field', 'value')
            scan = await client.execute_command('HSCAN', key, 0)
            await client.execute_command('MULTI')
            await client.execute_command('RPUSH', key + ':l', 1, 2)
            await client.execute_command('LRANGE', key + ':l', 0, -1)
            await client.incr(key + ':n')
            transaction = await client.execute_command('EXEC')
            return scan, transaction

    assert run_async(main()) == ([b'0', [b'field', b'value']], [2, [b'1', b'2'], 1])


# RESP3: each type DEBUG PROTOCOL can send.

RESP3_REPLIES = {
    'string': b'Hello World',
    'integer': 12345,
    'double': 3.141,
    'bignum': 1234567999999999999999999999999999999,
    'null': None,
    'array': [0, 1, 2],
    'set': {0, 1, 2},
    'map': {0: False, 1: True, 2: False},
    'attrib': b'Some real reply following the attribute',
    'push': b'Some real reply following the push reply',
    'verbatim': 'This is a verbatim\nstring',
    'true': True,
    'false': False,
}


def test_every_resp3_reply_type(redis_address):
    async def main():
        async with await connect(redis_address, protocol=3) as client:
            replies = {}
            for kind in RESP3_REPLIES:
                replies[kind] = await client.execute_command('DEBUG', 'PROTOCOL', kind)
            return replies, client.pushes

    replies, pushes = run_async(main())
    assert replies == RESP3_REPLIES
    assert all(type(replies[kind]) is bool for kind in ('true', 'false'))
    assert isinstance(replies['verbatim'], Verbatim) and replies['verbatim'].format == 'txt'
    # The push came out of band, beside the reply that followed it.
    assert pushes == [[b'server-cpu-usage', 42]] and isinstance(pushes[0], Push)


def test_resp3_maps_and_nulls_from_real_commands(redis_address, key):
    async def main():
        async with await connect(redis_address, protocol=3) as client:
            await client.execute_command('HSET', key, 'a', 1, 'b', 2)
            await client.execute_command('ZADD', key + ':z', 1.5, 'm')
            return (
                await client.execute_command('HGETALL', key),
                await client.execute_command('ZSCORE', key + ':z', 'm'),
                await client.get(key + ':none'),
                await client.execute_command('BLPOP', key + ':none', 0.01),
            )

    assert run_async(main()) == ({b'a': b'1', b'b': b'2'}, 1.5, None, None)


# Pipelining.


def test_pipeline_sends_queued_commands_and_returns_replies_in_order(redis_address, key):
    async def main():
        async with await connect(redis_address) as client:
            pipe = client.pipeline()
            pipe.set(key, 'v').get(key).incr(key).delete(key)
            for _ in range(1000):
                pipe.incr(key + ':n')
            assert len(pipe) == 1004
            replies = await pipe.execute()
            return replies, await pipe.execute(), await client.get(key + ':n')

    replies, empty, counter = run_async(main())
    assert replies[:2] == ['OK', b'v']
    assert isinstance(replies[2], RedisError) and replies[3] == 1  # errors in place
    assert replies[4:] == list(range(1, 1001))
    assert empty == [] and counter == b'1000'


# Both syntaxes, and many tasks.


def test_generator_syntax_uses_the_same_client(redis_address, key):
    def main():
        client = yield connect(redis_address)
        yield client.set(key, 'from a generator')
        value = yield client.get(key)
        pipe = client.pipeline()
        pipe.incr(key + ':n').incr(key + ':n')
        counts = yield pipe.execute()
        yield client.close()
        return value, counts

    assert run_bounded(main(), timeout=30) == (b'from a generator', [1, 2])


def test_clients_in_parallel_tasks(redis_address, key, threads):
    async def worker():
        async with await connect(redis_address) as client:
            for _ in range(200):
                await client.incr(key)

    async def main():
        await tonio.colored.spawn(*(worker() for _ in range(8)))
        async with await connect(redis_address) as client:
            return await client.get(key)

    assert run_async(main(), threads=threads) == b'1600'


def test_a_client_refuses_a_second_task(redis_address, key):
    async def main():
        async with await connect(redis_address) as client:
            blocked = tonio.colored.spawn(client.execute_command('BLPOP', key, 0.5))
            while not client._busy.locked():  # until the BLPOP holds the connection
                await tonio.colored.sleep(0.001)
            with pytest.raises(RuntimeError, match='one task at a time'):
                await client.ping()
            return await blocked

    assert run_async(main()) is None  # BLPOP timed out


def test_a_cancelled_command_closes_the_client_instead_of_desynchronising(redis_address, key):
    async def main():
        client = await connect(redis_address)
        with tonio.colored.move_on_after(0.05) as deadline:
            await client.execute_command('BLPOP', key, 1)
        assert deadline.timed_out
        with pytest.raises(ConnectionError, match='interrupted'):
            await client.ping()
        await client.close()
        async with await connect(redis_address) as fresh:
            return await fresh.ping()

    assert run_async(main()) == 'PONG'


def test_streaming_commands_are_refused(redis_address):
    async def main():
        async with await connect(redis_address) as client:
            with pytest.raises(ValueError, match='stream of messages'):
                await client.execute_command('subscribe', 'channel')
            with pytest.raises(ValueError, match='stream of messages'):
                client.pipeline().execute_command(b'MONITOR')
            return await client.ping()

    assert run_async(main()) == 'PONG'


def test_connect_errors():
    async def refused(port):
        await connect(f'127.0.0.1:{port}')

    with pytest.raises(OSError):
        run_async(refused(free_port()))
    with pytest.raises(ValueError, match='bad port'):
        run_async(connect('127.0.0.1:redis'))
    with pytest.raises(TypeError, match='address'):
        run_async(connect(('127.0.0.1', 6379)))
    with pytest.raises(ValueError, match='protocol'):
        run_async(connect('127.0.0.1:1', protocol=4))


# The parser and the encoder alone.

EVERY_TYPE = (
    b'+OK\r\n'
    b'-ERR bad thing\r\n'
    b':-42\r\n'
    b'$5\r\nhe\r\nl\r\n'
    b'$0\r\n\r\n'
    b'$-1\r\n'
    b'*-1\r\n'
    b'*0\r\n'
    b'*3\r\n:1\r\n*2\r\n$1\r\na\r\n*0\r\n$-1\r\n'
    b'_\r\n'
    b'#t\r\n'
    b',-inf\r\n'
    b',1.5\r\n'
    b'(123456789012345678901234567890\r\n'
    b'=8\r\ntxt:abcd\r\n'
    b'!9\r\nERR boom!\r\n'
    b'%2\r\n$1\r\nk\r\n:1\r\n*1\r\n:2\r\n~0\r\n'
    b'~3\r\n:1\r\n:1\r\n*2\r\n:2\r\n:3\r\n'
    b'|1\r\n+ttl\r\n:3600\r\n+after an attribute\r\n'
    b'*2\r\n|1\r\n+a\r\n+b\r\n:7\r\n:8\r\n'
    b'>2\r\n+message\r\n:1\r\n'
)


EVERY_TYPE_PARSED = [
    'OK',
    RedisError('ERR bad thing'),
    -42,
    b'he\r\nl',
    b'',
    None,
    None,
    [],
    [1, [b'a', []], None],
    None,
    True,
    float('-inf'),
    1.5,
    123456789012345678901234567890,
    Verbatim('abcd', 'txt'),
    RedisError('ERR boom!'),
    {b'k': 1, (2,): set()},
    {1, (2, 3)},
    'after an attribute',
    [7, 8],
    Push(['message', 1]),
]


def parse_in_pieces(data, size):
    parser = RespParser()
    replies = []
    for start in range(0, len(data), size):
        parser.feed(data[start : start + size])
        while parser.has_reply():
            replies.append(parser.pop())
    return replies


@pytest.mark.parametrize('size', [len(EVERY_TYPE), 1, 2, 3, 7])
def test_parser_reads_every_type_in_any_pieces(size):
    replies = parse_in_pieces(EVERY_TYPE, size)
    # repr: errors compare by identity, and it tells a Push or a Verbatim from a list or a str.
    assert repr(replies) == repr(EVERY_TYPE_PARSED)
    assert [type(reply) for reply in replies] == [type(reply) for reply in EVERY_TYPE_PARSED]


def test_parser_at_every_split_point():
    for split in range(1, len(EVERY_TYPE)):
        parser = RespParser()
        parser.feed(EVERY_TYPE[:split])
        parser.feed(EVERY_TYPE[split:])
        replies = []
        while parser.has_reply():
            replies.append(parser.pop())
        assert repr(replies) == repr(EVERY_TYPE_PARSED), split


def test_parser_keeps_a_large_reply_linear():
    count = 200_000
    data = b'*%d\r\n' % count + b':7\r\n' * count
    started = time.perf_counter()
    (reply,) = parse_in_pieces(data, 4096)
    assert reply == [7] * count
    # Re-parsing from the start on every piece would take minutes here.
    assert time.perf_counter() - started < 20


def test_parser_returns_only_complete_replies():
    parser = RespParser()
    parser.feed(b'*2\r\n:1\r\n')
    assert not parser.has_reply()
    with pytest.raises(LookupError):
        parser.pop()
    parser.feed(b':2\r\n$3\r\nab')
    assert parser.pop() == [1, 2] and not parser.has_reply()
    parser.feed(b'c\r\n')
    assert parser.pop() == b'abc'


@pytest.mark.parametrize(
    'data',
    [
        b'?what\r\n',
        b'\r\n',
        b':12x\r\n',
        b'$abc\r\n',
        b'$-2\r\n',
        b'$3\r\nabcXY',
        b'*-5\r\n',
        b'#x\r\n',
        b',pi\r\n',
        b'+' + b'x' * (redis_client.MAX_LINE + 10),
    ],
)
def test_parser_rejects_what_is_not_resp(data):
    with pytest.raises(ProtocolError):
        RespParser().feed(data)


def test_encode():
    assert encode('SET', b'k\r\n', 1, 2.5, bytearray(b'x')) == (
        b'*5\r\n$3\r\nSET\r\n$3\r\nk\r\n\r\n$1\r\n1\r\n$3\r\n2.5\r\n$1\r\nx\r\n'
    )
    assert encode('GET', 'é') == b'*2\r\n$3\r\nGET\r\n$2\r\n\xc3\xa9\r\n'
    with pytest.raises(TypeError, match='bool'):
        encode('SET', 'k', True)
    with pytest.raises(TypeError, match='NoneType'):
        encode('SET', 'k', None)
    with pytest.raises(ValueError, match='name'):
        encode()
