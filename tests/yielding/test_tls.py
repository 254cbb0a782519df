"""TLS streams in generator syntax: handshake, ALPN, certificates, close_notify both ways, broken
sessions, half-close, readiness with decrypted data pending, one reader and one writer at once,
cancellation. Both ends are tonio here; tests/runtime/test_tls_peers.py talks to openssl."""

import hashlib
import ssl

import pytest
from tests.conftest import run_bounded
from tests.tls_support import certificates

import tonio
from tonio import net
from tonio.exceptions import BusyResourceError, ResourceBroken, WouldBlock
from tonio.net import tls


@pytest.fixture(scope='module')
def certs():
    return certificates()


def port_of(listeners):
    return listeners[0].transport_listener.socket.getsockname()[1]


def serve(s, handler, context, **options):
    listeners = yield s.start(
        tls.serve_tls_over_tcp, handler, 0, context, host='127.0.0.1', **options
    )
    return port_of(listeners)


def echo(stream):
    while True:
        data = yield stream.receive_some()
        if not data:
            return
        yield stream.send_all(data)


def receive_exactly(stream, size):
    parts = []
    while size:
        data = yield stream.receive_some(size)
        assert data, 'the stream ended early'
        parts.append(data)
        size -= len(data)
    return b''.join(parts)


def test_echo_with_alpn_and_the_server_certificate(threads, certs):
    seen = {}

    def handler(stream):
        seen['alpn'] = stream.selected_alpn_protocol()
        seen['server_side'] = stream.server_side
        seen['client_cert'] = stream.getpeercert()
        yield echo(stream)

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context(['h2', 'http/1.1']))
            stream = yield tls.open_tls_over_tcp_stream(
                '127.0.0.1', port, ssl_context=certs.client_context(['h2'])
            )
            yield stream.send_all(b'hello')
            reply = yield receive_exactly(stream, 5)
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
            yield stream.close()
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

    def handler(stream):
        subjects.append(stream.getpeercert()['subjectAltName'])
        yield echo(stream)

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context(verify_client=True))
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context(certificate=True)
            )
            yield stream.send_all(b'me')
            assert (yield receive_exactly(stream, 2)) == b'me'
            yield stream.close()
            # Without a certificate: TLS 1.3 lets the client finish first, so the refusal
            # arrives with the first read at the latest.
            with pytest.raises(ResourceBroken):
                anonymous = yield tls.open_tls_over_tcp_stream(
                    'localhost', port, ssl_context=certs.client_context()
                )
                try:
                    yield anonymous.receive_some()
                finally:
                    yield anonymous.close()
            s.cancel()

    run_bounded(main())
    assert len(subjects) == 1
    assert ('DNS', 'client.tonio.test') in subjects[0]


def test_full_duplex_transfers_on_both_sides_at_once(threads, certs):
    size = 3 << 20
    pattern = bytes(range(256)) * (size // 256)
    digest = hashlib.sha256(pattern).hexdigest()
    results = []

    def sender(stream):
        for start in range(0, size, 100_003):
            yield stream.send_all(pattern[start : start + 100_003])

    def digest_of(stream):
        sha = hashlib.sha256()
        received = 0
        while received < size:
            data = yield stream.receive_some()
            assert data
            sha.update(data)
            received += len(data)
        return sha.hexdigest()

    def handler(stream):
        _, theirs = yield tonio.spawn(sender(stream), digest_of(stream))
        results.append(theirs)

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            _, theirs = yield tonio.spawn(sender(stream), digest_of(stream))
            results.append(theirs)
            # The server's handler has returned once its close_notify arrives.
            assert (yield stream.receive_some()) == b''
            yield stream.close()
            s.cancel()

    run_bounded(main(), threads=threads)
    assert results == [digest, digest]


def test_close_notify_ends_the_stream_in_both_directions(threads, certs):
    server_saw = []

    def handler(stream):
        server_saw.append((yield stream.receive_some()))
        server_saw.append((yield stream.receive_some()))
        server_saw.append((yield stream.receive_some()))

    def says_bye(stream):
        yield stream.send_all(b'bye')

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            yield stream.send_all(b'hi')
            yield stream.close()
            yield stream.close()  # closing twice is fine
            with pytest.raises(OSError):
                yield stream.receive_some()

            port2 = yield serve(s, says_bye, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port2, ssl_context=certs.client_context()
            )
            got = [(yield stream.receive_some()), (yield stream.receive_some())]
            got.append((yield stream.receive_some()))
            yield stream.close()
            s.cancel()
        return got

    assert run_bounded(main(), threads=threads) == [b'bye', b'', b'']
    assert server_saw == [b'hi', b'', b'']


def test_a_peer_that_vanishes_without_close_notify_breaks_the_stream(certs):
    def rude(stream):
        yield stream.send_all(b'x')
        stream.transport_stream.close()

    def main(https_compatible):
        with tonio.scope() as s:
            port = yield serve(s, rude, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost',
                port,
                ssl_context=certs.client_context(),
                https_compatible=https_compatible,
            )
            assert (yield stream.receive_some()) == b'x'
            try:
                if https_compatible:
                    return (yield stream.receive_some())
                with pytest.raises(ResourceBroken) as broken:
                    yield stream.receive_some()
                assert isinstance(broken.value.__cause__, ssl.SSLError)
                # Unusable from then on.
                with pytest.raises(ResourceBroken):
                    yield stream.send_all(b'y')
                with pytest.raises(ResourceBroken):
                    yield stream.receive_some()
                return 'broken'
            finally:
                yield stream.close()
                s.cancel()

    assert run_bounded(main(False)) == 'broken'
    assert run_bounded(main(True)) == b''


def test_failed_handshakes_raise_resource_broken_and_the_server_goes_on(certs):
    def main():
        with tonio.scope() as s:
            port = yield serve(s, echo, certs.server_context())
            # A client that does not trust the server's CA.
            with pytest.raises(ResourceBroken) as untrusted:
                yield tls.open_tls_over_tcp_stream(
                    '127.0.0.1', port, ssl_context=ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
                )
            assert isinstance(untrusted.value.__cause__, ssl.SSLCertVerificationError)
            # A certificate for another name.
            tcp = yield net.open_tcp_stream('127.0.0.1', port)
            stream = tls.TLSStream(tcp, certs.client_context(), server_hostname='example.org')
            with pytest.raises(ResourceBroken) as mismatch:
                yield stream.do_handshake()
            assert isinstance(mismatch.value.__cause__, ssl.SSLCertVerificationError)
            with pytest.raises(ResourceBroken):
                yield stream.send_all(b'no')
            yield stream.close()
            # Plain text to a TLS server.
            tcp = yield net.open_tcp_stream('127.0.0.1', port)
            yield tcp.send_all(b'GET / HTTP/1.0\r\n\r\n')
            try:
                end = yield tcp.receive_some()
            except ConnectionResetError:
                end = b''
            assert end == b''  # the server hung up
            tcp.close()
            # The server still serves.
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            yield stream.send_all(b'still here')
            reply = yield receive_exactly(stream, 10)
            yield stream.close()
            s.cancel()
        return reply

    assert run_bounded(main()) == b'still here'


def test_send_eof_half_closes_a_tls13_stream_and_is_refused_on_tls12(certs):
    def handler(stream):
        request = b''
        while data := (yield stream.receive_some()):
            request += data
        yield stream.send_all(b'reply to ' + request)

    def main(version):
        context = certs.server_context()
        context.maximum_version = version
        with tonio.scope() as s:
            port = yield serve(s, handler, context)
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            try:
                yield stream.send_all(b'request')
                yield stream.send_eof()
                yield stream.send_eof()  # once is enough
                with pytest.raises(RuntimeError, match='send_eof'):
                    yield stream.send_all(b'more')
                reply = b''
                while data := (yield stream.receive_some()):
                    reply += data
                return reply
            finally:
                yield stream.close()
                s.cancel()

    assert run_bounded(main(ssl.TLSVersion.TLSv1_3)) == b'reply to request'
    with pytest.raises(RuntimeError, match=r'TLS 1\.3'):
        run_bounded(main(ssl.TLSVersion.TLSv1_2))


def test_a_refused_send_eof_gives_back_what_it_took(certs):
    """send_eof on TLS 1.2 is refused before it writes anything: sending goes on, and close()
    still says goodbye (the refused call let go of the send role it waited for)."""
    received = []

    def handler(stream):
        request = b''
        while data := (yield stream.receive_some()):
            request += data
        received.append(request)

    def main():
        context = certs.server_context()
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with tonio.scope() as s:
            port = yield serve(s, handler, context)
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            yield stream.send_all(b'before')
            with pytest.raises(RuntimeError, match=r'TLS 1\.3'):
                yield stream.send_eof()
            yield stream.send_all(b' and after')
            yield stream.close()
            while not received:
                yield tonio.sleep(0.005)
            s.cancel()

    run_bounded(main(), timeout=20)
    assert received == [b'before and after']


def test_readiness_counts_plaintext_already_decrypted(certs):
    release = tonio.Event()

    def handler(stream):
        yield stream.send_all(b'abcdef')  # one record
        yield release.wait()

    def main():
        context = certs.server_context()
        # TLS 1.2: nothing arrives after the handshake but the record itself.
        context.maximum_version = ssl.TLSVersion.TLSv1_2
        with tonio.scope() as s:
            port = yield serve(s, handler, context)
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            first = yield stream.receive_some(1)
            # The whole record left the socket: only the TLS stream knows more is there. (The
            # socket's readiness may need a second failed read to clear: another event, such
            # as writability, can arrive between the first one and its clear.)
            transport = stream.transport_stream
            for _ in range(100):
                assert transport.receive_some_nowait() is stream.NotReady
                if transport.waiter_readable() is not None:
                    break
            ready = yield stream.wait_readable(0)
            with stream.watch_readable() as watcher:
                watched = watcher.ready() and watcher.waiter() is None
            rest = [stream.receive_some_nowait(2), stream.try_receive_some()]
            assert stream.receive_some_nowait() is stream.NotReady
            with pytest.raises(WouldBlock):
                stream.try_receive_some()
            for _ in range(100):
                # Readiness may be reported spuriously, never forever.
                idle = yield stream.wait_readable(0.05)
                if not idle:
                    break
                assert stream.receive_some_nowait() is stream.NotReady
            assert (yield stream.wait_writable(1)) is True
            release.set()
            yield stream.close()
            s.cancel()
        return first, ready, watched, rest, idle

    assert run_bounded(main()) == (b'a', True, True, [b'bc', b'def'], False)


def test_the_readiness_api_needs_a_finished_handshake(certs):
    def main():
        with tonio.scope() as s:
            port = yield serve(s, echo, certs.server_context())
            tcp = yield net.open_tcp_stream('127.0.0.1', port)
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
            yield stream.handshake()  # TonIO's name
            assert stream.receive_some_nowait() is stream.NotReady
            yield stream.close()
            s.cancel()

    run_bounded(main())


def test_the_first_send_and_receive_run_the_handshake_once(threads, certs):
    def main():
        with tonio.scope() as s:
            port = yield serve(s, echo, certs.server_context())
            tcp = yield net.open_tcp_stream('127.0.0.1', port)
            stream = tls.TLSStream(tcp, certs.client_context(), server_hostname='localhost')
            assert stream.version() is None

            def writer():
                yield stream.send_all(b'x' * 50_000)

            _, data = yield tonio.spawn(writer(), receive_exactly(stream, 50_000))
            version = stream.version()
            yield stream.close()
            s.cancel()
        return data, version

    assert run_bounded(main(), threads=threads) == (b'x' * 50_000, 'TLSv1.3')


def test_one_reader_and_one_writer_at_a_time(certs):
    release = tonio.Event()

    def handler(stream):
        yield release.wait()
        yield stream.send_all(b'late')
        yield echo(stream)

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            with tonio.scope() as readers:
                readers.spawn(stream.receive_some())
                yield tonio.sleep(0.02)
                with pytest.raises(BusyResourceError):
                    yield stream.receive_some()
                with pytest.raises(BusyResourceError):
                    stream.receive_some_nowait()
                readers.cancel()
            yield readers()
            # The cancelled read lost nothing: the stream goes on.
            release.set()
            late = yield receive_exactly(stream, 4)
            yield stream.send_all(b'ping')
            pong = yield receive_exactly(stream, 4)
            yield stream.close()
            s.cancel()
        return late, pong

    assert run_bounded(main()) == (b'late', b'ping')


def test_a_handshake_cancelled_while_waiting_for_the_peer_can_resume(certs):
    def main():
        listeners = yield net.open_tcp_listeners(0, host='127.0.0.1')
        port = listeners[0].socket.getsockname()[1]
        tcp = yield net.open_tcp_stream('127.0.0.1', port)
        raw = yield listeners[0].accept()
        client = tls.TLSStream(tcp, certs.client_context(), server_hostname='localhost')
        with tonio.move_on_after(0.05) as timeout:
            yield client.do_handshake()  # the server is not answering yet
        assert timeout.cancelled
        server = tls.TLSStream(raw, certs.server_context(), server_side=True)
        with tonio.scope() as s:
            s.spawn(server.do_handshake())
            yield client.do_handshake()
        yield s()
        yield client.send_all(b'resumed')
        data = yield receive_exactly(server, 7)
        yield client.close()
        yield server.close()
        listeners[0].close()
        return data

    assert run_bounded(main()) == b'resumed'


def test_closing_wakes_a_task_waiting_to_receive(certs):
    def handler(stream):
        yield tonio.sleep(30)

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )

            def reader():
                try:
                    yield stream.receive_some()
                except OSError as error:
                    return type(error).__name__, error.errno

            waiting = tonio.spawn(reader())
            yield tonio.sleep(0.02)
            yield stream.close()
            result = yield waiting
            s.cancel()
        return result

    assert run_bounded(main()) == ('OSError', 9)


def test_a_with_block_closes_with_close_notify(certs):
    ended = []

    def handler(stream):
        ended.append((yield stream.receive_some()))

    def main():
        with tonio.scope() as s:
            port = yield serve(s, handler, certs.server_context())
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            with stream:
                pass
            assert stream.closed and stream.transport_stream.socket.closed
            # Closing without waiting for what close() returns still closes the socket.
            other = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            other.close()
            assert other.transport_stream.socket.closed
            while len(ended) < 2:
                yield tonio.sleep(0.01)
            s.cancel()

    run_bounded(main())
    assert ended == [b'', b'']


def test_tls_over_a_unix_socket_pair(threads, certs):
    def main():
        left, right = net.socket.socketpair()
        client = tls.TLSStream(
            net.SocketStream(left), certs.client_context(), server_hostname='localhost'
        )
        server = tls.TLSStream(net.SocketStream(right), certs.server_context(), server_side=True)
        with tonio.scope() as s:
            s.spawn(server.do_handshake())
            s.spawn(client.do_handshake())
        yield s()
        yield client.send_all(b'over unix')
        data = yield receive_exactly(server, 9)
        yield client.close()
        end = yield server.receive_some()
        yield server.close()
        return data, end

    assert run_bounded(main(), threads=threads) == (b'over unix', b'')


def test_bad_arguments_are_refused_clearly(certs):
    def main():
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
            yield tls.open_tls_over_tcp_listeners(0, None)
        with pytest.raises(TypeError, match=r'ssl\.SSLContext'):
            tls.TLSListener(None, None)
        yield stream.close()
        right.close()

    run_bounded(main())
