"""tonio's TLS against peers nobody here wrote (Debian's ``openssl s_server`` and ``s_client``,
started by each test on a free loopback port, bounded in time, stopped afterwards), and the
reliability rules: a peer that resets mid-handshake, cancellation during the handshake, a
receive or a send, leave no file descriptor and no reactor registration behind.

``-state`` makes openssl print every alert it reads or writes: that is how these tests check that
a close_notify went each way (a connection cut without one prints none)."""

import contextlib
import gc
import os
import socket
import ssl
import subprocess
import threading
import time

import pytest
from tests.conftest import FREE_THREADED, run_bounded
from tests.tls_support import OPENSSL, certificates

import tonio
from tonio import net
from tonio._tonio import _runtime_stats
from tonio.exceptions import ResourceBroken
from tonio.net import tls

pytestmark = pytest.mark.skipif(not os.path.exists(OPENSSL), reason='needs the openssl tool')

CLOSE_NOTIFY_READ = 'SSL3 alert read:warning:close notify'
CLOSE_NOTIFY_WRITTEN = 'SSL3 alert write:warning:close notify'


@pytest.fixture(scope='module')
def certs():
    return certificates()


def open_fds():
    gc.collect()  # what earlier tests dropped is closed, not counted
    return len(os.listdir('/proc/self/fd'))


def registered_fds():
    return _runtime_stats()['registered_fds']


def free_port():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


class Peer:
    """An openssl process: its output collected by a thread, its input written by the test."""

    def __init__(self, *args):
        self.process = subprocess.Popen(
            [OPENSSL, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._lines = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._collect, daemon=True)
        self._reader.start()

    def _collect(self):
        for line in self.process.stdout:
            with self._changed:
                self._lines.append(line.decode(errors='replace').rstrip('\n'))
                self._changed.notify_all()
        with self._changed:
            self._lines.append(None)
            self._changed.notify_all()

    @property
    def output(self):
        with self._changed:
            return '\n'.join(line for line in self._lines if line is not None)

    def wait_for(self, text, timeout=20.0):
        """Whether ``text`` appeared in the output before it ended or ``timeout`` passed."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                if any(line is not None and text in line for line in self._lines):
                    return True
                remaining = deadline - time.monotonic()
                if None in self._lines or remaining <= 0:
                    return False
                self._changed.wait(remaining)

    def send(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def close_input(self):
        if not self.process.stdin.closed:
            self.process.stdin.close()

    def finish(self, timeout=20.0):
        """Waits for the process to end by itself (killing it if it does not)."""
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.close_input()
        self._reader.join(timeout)
        self.process.stdout.close()


def s_server(certs, *options):
    """An s_server on a free port, serving one connection: (peer, port)."""
    for _ in range(5):
        port = free_port()
        peer = Peer(
            's_server', '-accept', f'127.0.0.1:{port}', '-cert', certs.server,
            '-naccept', '1', '-state', *options,
        )  # fmt: skip
        if peer.wait_for('ACCEPT'):
            return peer, port
        peer.finish(1)  # the port was taken meanwhile: try another
    raise AssertionError(f'openssl s_server did not start:\n{peer.output}')


VERSIONS = {
    'tls1_2': ('-tls1_2', 'TLSv1.2'),
    'tls1_3': ('-tls1_3', 'TLSv1.3'),
}


@pytest.mark.parametrize('version', sorted(VERSIONS))
def test_a_tonio_client_talks_to_s_server(certs, version):
    """ALPN, data both ways, the server renegotiating (TLS 1.2) or updating keys (TLS 1.3) in
    the middle, so that a read has to write, then a close_notify the server reads."""
    flag, name = VERSIONS[version]
    peer, port = s_server(certs, flag, '-alpn', 'h2,http/1.1')

    def receive_line(stream, line):
        data = b''
        while line not in data:
            more = yield stream.receive_some()
            assert more, f'the stream ended before {line!r}: {data!r}'
            data += more
        return data

    def main():
        stream = yield tls.open_tls_over_tcp_stream(
            'localhost', port, ssl_context=certs.client_context(['h2'])
        )
        info = stream.selected_alpn_protocol(), stream.version()
        yield stream.send_all(b'hello from tonio\n')
        assert (yield tonio.spawn_blocking(peer.wait_for, 'hello from tonio'))
        peer.send(b'hello from openssl\n')
        yield receive_line(stream, b'hello from openssl')
        # 'R': a renegotiation (TLS 1.2); 'K': a key update the client must answer (TLS 1.3).
        peer.send(b'R\n' if version == 'tls1_2' else b'K\n')
        yield tonio.sleep(0.05)
        peer.send(b'after the handshake message\n')
        yield receive_line(stream, b'after the handshake message')
        yield stream.send_all(b'tonio still talking\n')
        assert (yield tonio.spawn_blocking(peer.wait_for, 'tonio still talking'))
        yield stream.close()
        return info

    try:
        assert run_bounded(main(), threads=4) == ('h2', name)
        assert peer.wait_for(CLOSE_NOTIFY_READ), peer.output
    finally:
        peer.finish()
    if version == 'tls1_2':
        assert peer.output.count('read client hello') >= 2, peer.output
    else:
        assert 'read client key update' in peer.output, peer.output


def test_send_eof_to_s_server_and_its_close_notify_back(certs):
    """TLS 1.3 half-close with a foreign peer: our close_notify is read, theirs ends our
    stream cleanly (``b""``, not ResourceBroken)."""
    peer, port = s_server(certs, '-tls1_3')

    def main():
        stream = yield tls.open_tls_over_tcp_stream(
            'localhost', port, ssl_context=certs.client_context()
        )
        try:
            yield stream.send_all(b'last words\n')
            yield stream.send_eof()
            data = b''
            while more := (yield stream.receive_some()):
                data += more
            return data
        finally:
            yield stream.close()

    try:
        assert run_bounded(main()) == b''
        assert peer.wait_for(CLOSE_NOTIFY_READ), peer.output
        assert peer.wait_for(CLOSE_NOTIFY_WRITTEN), peer.output
    finally:
        peer.finish()
    assert 'last words' in peer.output


@pytest.mark.parametrize('version', sorted(VERSIONS))
def test_s_client_talks_to_a_tonio_server(certs, version):
    """ALPN chosen by our server, the certificate verified by openssl, data both ways, then the
    close_notify each side sends: s_client's when its input ends, ours when our handler
    returns."""
    flag, name = VERSIONS[version]
    seen = {}

    def handler(stream):
        seen['alpn'] = stream.selected_alpn_protocol()
        seen['version'] = stream.version()
        data = b''
        while b'ping' not in data:
            more = yield stream.receive_some()
            assert more
            data += more
        yield stream.send_all(b'PONG\n')
        seen['end'] = yield stream.receive_some()  # s_client's close_notify

    def handler_that_says_bye(stream):
        yield stream.send_all(b'bye from tonio\n')

    def main():
        context = certs.server_context(['h2', 'http/1.1'])
        with tonio.scope() as s:
            listeners = yield s.start(tls.serve_tls_over_tcp, handler, 0, context, host='127.0.0.1')
            port = listeners[0].transport_listener.socket.getsockname()[1]
            client = ['s_client', '-connect', f'127.0.0.1:{port}', '-CAfile', certs.ca]
            client += ['-servername', 'localhost', '-verify_return_error', '-state', flag]
            peer = Peer(*client, '-alpn', 'h2')
            try:
                assert (yield tonio.spawn_blocking(peer.wait_for, 'Verify return code: 0'))
                peer.send(b'ping\n')
                assert (yield tonio.spawn_blocking(peer.wait_for, 'PONG'))
                peer.close_input()  # s_client says goodbye
                yield tonio.spawn_blocking(peer.finish)
            finally:
                peer.finish()
            first = peer.output

            listeners = yield s.start(
                tls.serve_tls_over_tcp, handler_that_says_bye, 0, context, host='127.0.0.1'
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
            client[2] = f'127.0.0.1:{port}'
            peer = Peer(*client, '-ign_eof')
            try:
                yield tonio.spawn_blocking(peer.finish)  # ends when we said goodbye
            finally:
                peer.finish()
            s.cancel()
        return first, peer.output

    first, second = run_bounded(main(), threads=4)
    assert seen == {'alpn': 'h2', 'version': name, 'end': b''}
    assert 'ALPN protocol: h2' in first and CLOSE_NOTIFY_WRITTEN in first, first
    assert 'bye from tonio' in second and CLOSE_NOTIFY_READ in second, second


def a_client_hello():
    """The first flight of a TLS client, made with the stdlib (no network)."""
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    client = ssl.create_default_context().wrap_bio(incoming, outgoing, server_hostname='x')
    with pytest.raises(ssl.SSLWantReadError):
        client.do_handshake()
    return outgoing.read()


def reset(sock):
    """Closes a stdlib socket with a TCP reset instead of an orderly end."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b'\x01\x00\x00\x00\x00\x00\x00\x00')
    sock.close()


def test_a_peer_that_resets_mid_handshake(certs, threads):
    """Client side: the server reads the ClientHello and resets. Server side: a client sends
    half a ClientHello and resets; the server goes on serving. Nothing is left open."""
    hello = a_client_hello()

    def main():
        fds, registered = open_fds(), registered_fds()
        # A "server" that resets once it has the ClientHello.
        listeners = yield net.open_tcp_listeners(0, host='127.0.0.1')
        port = listeners[0].socket.getsockname()[1]

        def resetting_server():
            raw = yield listeners[0].accept()
            yield raw.receive_some()
            raw.socket._deregister()
            reset(raw.socket._sock)

        with tonio.scope() as s:
            s.spawn(resetting_server())
            with pytest.raises(ResourceBroken) as broken:
                yield tls.open_tls_over_tcp_stream(
                    'localhost', port, ssl_context=certs.client_context()
                )
        yield s()
        listeners[0].close()
        client_cause = broken.value.__cause__

        # A client that resets halfway through its ClientHello.
        served = []

        def handler(stream):
            served.append((yield stream.receive_some()))

        with tonio.scope() as s:
            context = certs.server_context()
            listeners = yield s.start(tls.serve_tls_over_tcp, handler, 0, context, host='127.0.0.1')
            port = listeners[0].transport_listener.socket.getsockname()[1]
            for _ in range(3):
                raw = yield net.open_tcp_stream('127.0.0.1', port)
                yield raw.send_all(hello[: len(hello) // 2])
                yield tonio.sleep(0.01)
                raw.socket._deregister()
                reset(raw.socket._sock)
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            yield stream.send_all(b'fine')
            yield stream.close()
            while not served:
                yield tonio.sleep(0.01)
            s.cancel()
        yield s()
        return client_cause, served, (fds, registered), (open_fds(), registered_fds())

    cause, served, before, after = run_bounded(main(), threads=threads)
    assert isinstance(cause, (ConnectionResetError, ssl.SSLError)), repr(cause)
    assert served == [b'fine']
    assert before == after


def test_cancellation_at_every_point_leaves_nothing_behind(certs):
    """Clients cancelled after 0 ms, 0.1 ms, 0.2 ms... until whole rounds complete (so in
    connect, in the handshake, sending and receiving, whatever the machine's speed), a server
    whose handshakes are cut short, then the server cancelled: every descriptor closed, every
    registration gone, and the server served the whole time."""
    payload = os.urandom(1 << 18)

    def handler(stream):
        try:
            while data := (yield stream.receive_some()):
                yield stream.send_all(data)
        except (ResourceBroken, OSError):
            pass  # a client cancelled mid-transfer

    def client(port, context):
        stream = yield tls.open_tls_over_tcp_stream('localhost', port, ssl_context=context)
        try:

            def send_all():
                # The receiver cancelled mid-send breaks the stream under us.
                with contextlib.suppress(ResourceBroken):
                    yield stream.send_all(payload)

            def receive_all():
                size = 0
                try:
                    while size < len(payload):
                        size += len((yield stream.receive_some()))
                except ResourceBroken:
                    pass  # the sender was cancelled mid-send

            yield tonio.spawn(send_all(), receive_all())
        finally:
            yield stream.close()

    def main():
        fds, registered = open_fds(), registered_fds()
        context = certs.client_context()
        cancelled = completed = 0
        delay = 0.0
        with tonio.scope() as server:
            listeners = yield server.start(
                tls.serve_tls_over_tcp, handler, 0, certs.server_context(), host='127.0.0.1'
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
            while completed < 3 and cancelled < 400:
                with tonio.move_on_after(delay) as attempt:
                    yield client(port, context)
                if attempt.cancelled:
                    cancelled += 1
                    delay += 0.0001
                else:
                    completed += 1
            # Handshakes left waiting on the server side when it is cancelled.
            silent = []
            for _ in range(3):
                silent.append((yield net.open_tcp_stream('127.0.0.1', port)))
            yield tonio.sleep(0.01)
            server.cancel()
        yield server()
        for stream in silent:
            stream.close()
        return cancelled, completed, (fds, registered), (open_fds(), registered_fds())

    for _ in range(3 if FREE_THREADED else 1):
        cancelled, completed, before, after = run_bounded(main(), threads=4)
        assert before == after
        assert cancelled > 0 and completed == 3


def test_a_cancelled_send_or_receive_leaves_nothing_behind(certs):
    """A send blocked because the peer does not read and a receive blocked because it does not
    write, both cancelled: the send leaves the stream broken (part of a record may be out),
    the receive leaves it usable; closing then leaves nothing open."""

    def handler(stream):
        yield tonio.sleep(3600)

    def main():
        fds, registered = open_fds(), registered_fds()
        with tonio.scope() as server:
            listeners = yield server.start(
                tls.serve_tls_over_tcp, handler, 0, certs.server_context(), host='127.0.0.1'
            )
            port = listeners[0].transport_listener.socket.getsockname()[1]
            stream = yield tls.open_tls_over_tcp_stream(
                'localhost', port, ssl_context=certs.client_context()
            )
            with tonio.move_on_after(0.1) as receiving:
                yield stream.receive_some()
            with tonio.move_on_after(0.2) as sending:
                yield stream.send_all(b'x' * (64 << 20))
            with pytest.raises(ResourceBroken):
                yield stream.send_all(b'y')
            yield stream.close()
            server.cancel()
        yield server()
        return (
            receiving.cancelled,
            sending.cancelled,
            (fds, registered),
            (open_fds(), registered_fds()),
        )

    received, sent, before, after = run_bounded(main(), threads=4)
    assert received and sent
    assert before == after
