"""Certificates for the TLS tests, made at test time: a CA, a server certificate for
``localhost`` and ``127.0.0.1``, and a client certificate, all signed by the CA.

They come from ``trustme`` where it installs; on the free-threaded 3.13 interpreter it cannot
(its ``cryptography`` dependency has no wheel there), so the same set is made with the
``openssl`` command line tool, which the peer tests need anyway.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import ssl
import subprocess
import tempfile
from dataclasses import dataclass

OPENSSL = shutil.which('openssl') or '/usr/bin/openssl'


@dataclass(frozen=True)
class Certificates:
    ca: str  # the CA certificate (PEM)
    server: str  # the server's key and certificate (PEM)
    client: str  # the client's key and certificate (PEM)
    made_by: str

    def server_context(self, alpn: list[str] | None = None, *, verify_client: bool = False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.server)
        if verify_client:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context

    def client_context(self, alpn: list[str] | None = None, *, certificate: bool = False):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(self.ca)
        if certificate:
            context.load_cert_chain(self.client)
        if alpn:
            context.set_alpn_protocols(alpn)
        return context


def _with_trustme(folder: str) -> Certificates | None:
    try:
        import trustme
    except ImportError:
        return None
    ca = trustme.CA()
    paths = {name: os.path.join(folder, f'{name}.pem') for name in ('ca', 'server', 'client')}
    ca.cert_pem.write_to_path(paths['ca'])
    ca.issue_cert('localhost', '127.0.0.1').private_key_and_cert_chain_pem.write_to_path(
        paths['server']
    )
    ca.issue_cert('client.tonio.test').private_key_and_cert_chain_pem.write_to_path(paths['client'])
    return Certificates(**paths, made_by='trustme')


def _openssl(folder: str, *args: str) -> None:
    subprocess.run([OPENSSL, *args], cwd=folder, check=True, capture_output=True, timeout=60)


def _with_openssl(folder: str) -> Certificates:
    ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
    _openssl(
        folder, 'req', '-x509', *ec, '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2',
        '-subj', '/O=tonio tests/CN=tonio test CA',
        '-addext', 'basicConstraints=critical,CA:TRUE',
        '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    )  # fmt: skip
    for name, subject, alt in (
        ('server', '/CN=localhost', 'DNS:localhost,IP:127.0.0.1'),
        ('client', '/CN=client.tonio.test', 'DNS:client.tonio.test'),
    ):
        _openssl(
            folder, 'req', '-new', *ec, '-keyout', f'{name}.key', '-out', f'{name}.csr',
            '-subj', subject, '-addext', f'subjectAltName={alt}',
        )  # fmt: skip
        _openssl(
            folder, 'x509', '-req', '-in', f'{name}.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
            '-CAcreateserial', '-out', f'{name}.crt', '-days', '2', '-copy_extensions', 'copy',
        )  # fmt: skip
        with open(os.path.join(folder, f'{name}.pem'), 'w') as pem:
            for part in (f'{name}.key', f'{name}.crt', 'ca.pem'):
                with open(os.path.join(folder, part)) as source:
                    pem.write(source.read())
    return Certificates(
        ca=os.path.join(folder, 'ca.pem'),
        server=os.path.join(folder, 'server.pem'),
        client=os.path.join(folder, 'client.pem'),
        made_by='openssl',
    )


@functools.cache
def certificates() -> Certificates:
    """The test session's certificates (made once, removed at exit)."""
    folder = tempfile.mkdtemp(prefix='tonio-tls-')
    atexit.register(shutil.rmtree, folder, True)
    return _with_trustme(folder) or _with_openssl(folder)
