"""TLS streams in async syntax, the mirror of tests/yielding/test_tls.py: handshake, ALPN,
certificates, close_notify both ways, broken sessions, half-close, readiness with decrypted data
pending, one reader and one writer at once, cancellation."""

import hashlib
import ssl

import pytest
from tests.conftest import run_bounded
from tests.tls_support import certificates

import tonio.colored as tonio
from tonio.colored import net
from tonio.colored.net import tls
from tonio.exceptions import BusyResourceError, ResourceBroken, WouldBlock


@pytest.fixture(scope='module')
def certs():
    return certificates()


def port_of(listeners):
    return listeners[0].transport_listener.socket.getsockname()[1]


async def serve(s, handler, context, **options):
    listeners = await s.start(
        tls.serve_tls_over_tcp, handler, 0, context, host='127.0.0.1', **options
    )
    return port_of(listeners)


async def echo(stream):
    while True:
        data = await stream.receive_some()
        if not data:
            return
        await stream.send_all(data)


async def receive_exactly(stream, size):
    parts = []
    while size:
        data = await stream.receive_some(size)
        assert data, 'the stream ended early'
        parts.append(data)
        size -= len(data)
    return b''.join(parts)


def test_echo_with_alpn_and_the_server_certificate(threads, certs):
    seen = {}

    async def handler(stream):
        seen['alpn'] = stream.selected_alpn_protocol()
        seen['server_side'] = stream.server_side
        seen['client_cert'] = stream.getpeercert()
        await echo(stream)

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context(['h2', 'http/1.1']))
            stream = await tls.open_tls_over_tcp_stream(
                '127.0.0.1', port, ssl_context=certs.client_context(['h2'])
            )
            await stream.send_all(b'hello')
            reply = await receive_exactly(stream, 5)
            info = (
                stream.selected_alpn_protocol(),
                stream.version(),
                stream.cipher()[1],
                stream.server_side,
                stream.getpeercert()['subjectAltName'],
                ssl.DER_cert_to_PEM_cert(stream.getpeercert(binary_form=True)).startswith(
                    '-----BEGIN CERTIFICATE-----'
                ),
                isinstance(stream.transport_stream, net.SocketStream),
                stream.transport is stream.transport_stream,
            )
            await stream.close()
            s.cancel()
        return reply, info

    reply, info = run_bounded(main(), threads=threads)
    assert reply == b'hello'
    alpn, version, cipher_version, server_side, names, pem, socket_stream, alias = info
    assert (alpn, version, cipher_version, server_side) == ('h2', 'TLSv1.3', 'TLSv1.3', False)
    assert ('DNS', 'localhost') in names
    assert pem and socket_stream and alias
    assert seen == {'alpn': 'h2', 'server_side': True, 'client_cert': None}


def test_a_server_that_requires_client_certificates_sees_them(certs):
    subjects = []

    async def handler(stream):
        subjects.append(stream.getpeercert()['subjectAltName'])
        await echo(stream)

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context(verify_client=True))
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context(certificate=True)
            )
            await stream.send_all(b'me')
            assert (await receive_exactly(stream, 2)) == b'me'
            await stream.close()
            # Without a certificate: TLS 1.3 lets the client finish first, so the refusal
            # arrives with the first read at the latest.
            with pytest.raises(ResourceBroken):
                anonymous = await tls.open_tls_over_tcp_stream(
                    'localhost', port, ssl_context=certs.client_context()
                )
                try:
                    await anonymous.receive_some()
                finally:
                    await anonymous.close()
            s.cancel()

    run_bounded(main())
    assert len(subjects) == 1
    assert ('DNS', 'client.tonio.test') in subjects[0]


def test_full_duplex_transfers_on_both_sides_at_once(threads, certs):
    size = 3 << 20
    pattern = bytes(range(256)) * (size // 256)
    digest = hashlib.sha256(pattern).hexdigest()
    results = []

    async def sender(stream):
        for start in range(0, size, 100_003):
            await stream.send_all(pattern[start : start + 100_003])

    async def digest_of(stream):
        sha = hashlib.sha256()
        received = 0
        while received < size:
            data = await stream.receive_some()
            assert data
            sha.update(data)
            received += len(data)
        return sha.hexdigest()

    async def handler(stream):
        _, theirs = await tonio.spawn(sender(stream), digest_of(stream))
        results.append(theirs)

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            _, theirs = await tonio.spawn(sender(stream), digest_of(stream))
            results.append(theirs)
            # The server's handler has returned once its close_notify arrives.
            assert (await stream.receive_some()) == b''
            await stream.close()
            s.cancel()

    run_bounded(main(), threads=threads)
    assert results == [digest, digest]


def test_close_notify_ends_the_stream_in_both_directions(threads, certs):
    server_saw = []

    async def handler(stream):
        server_saw.append(await stream.receive_some())
        server_saw.append(await stream.receive_some())
        server_saw.append(await stream.receive_some())

    async def says_bye(stream):
        await stream.send_all(b'bye')

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            await stream.send_all(b'hi')
            await stream.close()
            await stream.close()  # closing twice is fine
            with pytest.raises(OSError):
                await stream.receive_some()

            port2 = await serve(s, says_bye, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port2, ssl_context=certs.client_context()
            )
            got = [await stream.receive_some(), await stream.receive_some()]
            got.append(await stream.receive_some())
            await stream.close()
            s.cancel()
        return got

    assert run_bounded(main(), threads=threads) == [b'bye', b'', b'']
    assert server_saw == [b'hi', b'', b'']


def test_a_peer_that_vanishes_without_close_notify_breaks_the_stream(certs):
    async def rude(stream):
        await stream.send_all(b'x')
        stream.transport_stream.close()

    async def main(https_compatible):
        async with tonio.scope() as s:
            port = await serve(s, rude, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost',
                port,
                ssl_context=certs.client_context(),
                https_compatible=https_compatible,
            )
            assert (await stream.receive_some()) == b'x'
            try:
                if https_compatible:
                    return await stream.receive_some()
                with pytest.raises(ResourceBroken) as broken:
                    await stream.receive_some()
                assert isinstance(broken.value.__cause__, ssl.SSLError)
                # Unusable from then on.
                with pytest.raises(ResourceBroken):
                    await stream.send_all(b'y')
                with pytest.raises(ResourceBroken):
                    await stream.receive_some()
                return 'broken'
            finally:
                await stream.close()
                s.cancel()

    assert run_bounded(main(False)) == 'broken'
    assert run_bounded(main(True)) == b''


def test_failed_handshakes_raise_resource_broken_and_the_server_goes_on(certs):
    async def main():
        async with tonio.scope() as s:
            port = await serve(s, echo, certs.server_context())
            # A client that does not trust the server's CA.
            with pytest.raises(ResourceBroken) as untrusted:
                await tls.open_tls_over_tcp_stream(
                    '127.0.0.1', port, ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                )
            assert isinstance(untrusted.value.__cause__, ssl.SSLCertVerificationError)
            # A certificate for another name.
            tcp = await net.open_tcp_stream('127.0.0.1', port)
            stream = tls.TLSStream(tcp, certs.client_context(), server_hostname='example.org')
            with pytest.raises(ResourceBroken) as mismatch:
                await stream.do_handshake()
            assert isinstance(mismatch.value.__cause__, ssl.SSLCertVerificationError)
            with pytest.raises(ResourceBroken):
                await stream.send_all(b'no')
            await stream.close()
            # Plain text to a TLS server.
            tcp = await net.open_tcp_stream('127.0.0.1', port)
            await tcp.send_all(b'GET / HTTP/1.0\r\n\r\n')
            try:
                end = await tcp.receive_some()
            except ConnectionResetError:
                end = b''
            assert end == b''  # the server hung up
            tcp.close()
            # The server still serves.
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            await stream.send_all(b'still here')
            reply = await receive_exactly(stream, 10)
            await stream.close()
            s.cancel()
        return reply

    assert run_bounded(main()) == b'still here'


def test_send_eof_half_closes_a_tls13_stream_and_is_refused_on_tls12(certs):
    async def handler(stream):
        request = b''
        while data := (await stream.receive_some()):
            request += data
        await stream.send_all(b'reply to ' + request)

    async def main(version):
        context = certs.server_context()
        context.maximum_version = version
        async with tonio.scope() as s:
            port = await serve(s, handler, context)
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            try:
                await stream.send_all(b'request')
                await stream.send_eof()
                await stream.send_eof()  # once is enough
                with pytest.raises(RuntimeError, match='send_eof'):
                    await stream.send_all(b'more')
                reply = b''
                while data := (await stream.receive_some()):
                    reply += data
                return reply
            finally:
                await stream.close()
                s.cancel()

    assert run_bounded(main(ssl.TLSVersion.TLSv1_3)) == b'reply to request'
    with pytest.raises(RuntimeError, match=r'TLS 1\.3'):
        run_bounded(main(ssl.TLSVersion.TLSv1_2))


def test_a_refused_send_eof_gives_back_what_it_took(certs):
    """send_eof on TLS 1.2 is refused before it writes anything: sending goes on, and close()
    still says goodbye (the refused call let go of the send role it waited for)."""
    received = []

    async def handler(stream):
        request = b''
        while data := (await stream.receive_some()):
            request += data
        received.append(request)

    async def main():
        context = certs.server_context()
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        async with tonio.scope() as s:
            port = await serve(s, handler, context)
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            await stream.send_all(b'before')
            with pytest.raises(RuntimeError, match=r'TLS 1\.3'):
                await stream.send_eof()
            await stream.send_all(b' and after')
            await stream.close()
            while not received:
                await tonio.sleep(0.005)
            s.cancel()

    run_bounded(main(), timeout=20)
    assert received == [b'before and after']


def test_readiness_counts_plaintext_already_decrypted(certs):
    release = tonio.Event()

    async def handler(stream):
        await stream.send_all(b'abcdef')  # one record
        await release.wait()

    async def main():
        context = certs.server_context()
        # TLS 1.2: nothing arrives after the handshake but the record itself.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        async with tonio.scope() as s:
            port = await serve(s, handler, context)
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            first = await stream.receive_some(1)
            # The whole record left the socket: only the TLS stream knows more is there. (The
            # socket's readiness may need a second failed read to clear: another event, such
            # as writability, can arrive between the first one and its clear.)
            transport = stream.transport_stream
            for _ in range(100):
                assert transport.receive_some_nowait() is stream.NotReady
                if transport.waiter_readable() is not None:
                    break
            ready = await stream.wait_readable(0)
            with stream.watch_readable() as watcher:
                watched = watcher.ready() and watcher.waiter() is None
            rest = [stream.receive_some_nowait(2), stream.try_receive_some()]
            assert stream.receive_some_nowait() is stream.NotReady
            with pytest.raises(WouldBlock):
                stream.try_receive_some()
            for _ in range(100):
                # Readiness may be reported spuriously, never forever.
                idle = await stream.wait_readable(0.05)
                if not idle:
                    break
                assert stream.receive_some_nowait() is stream.NotReady
            assert (await stream.wait_writable(1)) is True
            release.set()
            await stream.close()
            s.cancel()
        return first, ready, watched, rest, idle

    assert run_bounded(main()) == (b'a', True, True, [b'bc', b'def'], False)


def test_the_readiness_api_needs_a_finished_handshake(certs):
    async def main():
        async with tonio.scope() as s:
            port = await serve(s, echo, certs.server_context())
            tcp = await net.open_tcp_stream('127.0.0.1', port)
            stream = tls.TLSStream(tcp, certs.client_context(), server_hostname='localhost')
            for call in (
                stream.receive_some_nowait,
                stream.try_receive_some,
                stream.wait_readable,
                stream.wait_writable,
                lambda: stream.waiter_readable(),
            ):
                with pytest.raises(RuntimeError, match='handshake'):
                    call()
            await stream.handshake()  # TonIO's name
            assert stream.receive_some_nowait() is stream.NotReady
            await stream.close()
            s.cancel()

    run_bounded(main())


def test_the_first_send_and_receive_run_the_handshake_once(threads, certs):
    async def main():
        async with tonio.scope() as s:
            port = await serve(s, echo, certs.server_context())
            tcp = await net.open_tcp_stream('127.0.0.1', port)
            stream = tls.TLSStream(tcp, certs.client_context(), server_hostname='localhost')
            assert stream.version() is None

            async def writer():
                await stream.send_all(b'x' * 50_000)

            _, data = await tonio.spawn(writer(), receive_exactly(stream, 50_000))
            version = stream.version()
            await stream.close()
            s.cancel()
        return data, version

    assert run_bounded(main(), threads=threads) == (b'x' * 50_000, 'TLSv1.3')


def test_one_reader_and_one_writer_at_a_time(certs):
    release = tonio.Event()

    async def handler(stream):
        await release.wait()
        await stream.send_all(b'late')
        await echo(stream)

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            async with tonio.scope() as readers:
                readers.spawn(stream.receive_some())
                await tonio.sleep(0.02)
                with pytest.raises(BusyResourceError):
                    await stream.receive_some()
                with pytest.raises(BusyResourceError):
                    stream.receive_some_nowait()
                readers.cancel()
            # The cancelled read lost nothing: the stream goes on.
            release.set()
            late = await receive_exactly(stream, 4)
            await stream.send_all(b'ping')
            pong = await receive_exactly(stream, 4)
            await stream.close()
            s.cancel()
        return late, pong

    assert run_bounded(main()) == (b'late', b'ping')


def test_a_handshake_cancelled_while_waiting_for_the_peer_can_resume(certs):
    async def main():
        listeners = await net.open_tcp_listeners(0, host='127.0.0.1')
        port = listeners[0].socket.getsockname()[1]
        tcp = await net.open_tcp_stream('127.0.0.1', port)
        raw = await listeners[0].accept()
        client = tls.TLSStream(tcp, certs.client_context(), server_hostname='localhost')
        with tonio.move_on_after(0.05) as timeout:
            await client.do_handshake()  # the server is not answering yet
        assert timeout.cancelled
        server = tls.TLSStream(raw, certs.server_context(), server_side=True)
        async with tonio.scope() as s:
            s.spawn(server.do_handshake())
            await client.do_handshake()
        await client.send_all(b'resumed')
        data = await receive_exactly(server, 7)
        await client.close()
        await server.close()
        listeners[0].close()
        return data

    assert run_bounded(main()) == b'resumed'


def test_closing_wakes_a_task_waiting_to_receive(certs):
    async def handler(stream):
        await tonio.sleep(30)

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )

            async def reader():
                try:
                    await stream.receive_some()
                except OSError as error:
                    return type(error).__name__, error.errno

            waiting = tonio.spawn(reader())
            await tonio.sleep(0.02)
            await stream.close()
            result = await waiting
            s.cancel()
        return result

    assert run_bounded(main()) == ('OSError', 9)


def test_a_with_block_closes_with_close_notify(certs):
    ended = []

    async def handler(stream):
        ended.append(await stream.receive_some())

    async def main():
        async with tonio.scope() as s:
            port = await serve(s, handler, certs.server_context())
            stream = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            with stream:
                pass
            assert stream.closed and stream.transport_stream.socket.closed
            # Closing without waiting for what close() returns still closes the socket.
            other = await tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            other.close()
            assert other.transport_stream.socket.closed
            while len(ended) < 2:
                await tonio.sleep(0.01)
            s.cancel()

    run_bounded(main())
    assert ended == [b'', b'']


def test_tls_over_a_unix_socket_pair(threads, certs):
    async def main():
        left, right = net.socket.socketpair()
        client = tls.TLSStream(
            net.SocketStream(left), certs.client_context(), server_hostname='localhost'
        )
        server = tls.TLSStream(net.SocketStream(right), certs.server_context(), server_side=True)
        async with tonio.scope() as s:
            s.spawn(server.do_handshake())
            s.spawn(client.do_handshake())
        await client.send_all(b'over unix')
        data = await receive_exactly(server, 9)
        await client.close()
        end = await server.receive_some()
        await server.close()
        return data, end

    assert run_bounded(main(), threads=threads) == (b'over unix', b'')


def test_bad_arguments_are_refused_clearly(certs):
    async def main():
        left, right = net.socket.socketpair()
        stream = tls.TLSStream(net.SocketStream(left), certs.client_context(), server_hostname='x')
        with pytest.raises(TypeError, match=r'ssl\.SSLContext'):
            tls.TLSStream(net.SocketStream(right), 'context')
        with pytest.raises(TypeError, match='send_all'):
            tls.TLSStream(object(), certs.client_context())
        with pytest.raises(ValueError, match='at least 1'):
            stream.receive_some(0)
        with pytest.raises(TypeError):
            stream.receive_some('many')
        with pytest.raises(TypeError):
            stream.send_all('text')
        with pytest.raises(TypeError, match=r'ssl\.SSLContext'):
            await tls.open_tls_over_tcp_listeners(0, None)
        with pytest.raises(TypeError, match=r'ssl\.SSLContext'):
            tls.TLSListener(None, None)
        await stream.close()
        right.close()

    run_bounded(main())
