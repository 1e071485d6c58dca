"""Evidence servers: 127.0.0.1 is the allowed one, 127.0.0.2 the forbidden one."""

import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.claims.evidence_server import TLS_NAME, EvidenceServer
from tests.factories import openssl


@pytest.fixture(scope="session")
def _servers() -> Iterator[tuple[EvidenceServer, EvidenceServer]]:
    allowed = EvidenceServer("127.0.0.1")
    forbidden = EvidenceServer("127.0.0.2")
    allowed.redirect_target = forbidden.url("/appstore/v2.json")
    allowed.start()
    forbidden.start()
    yield allowed, forbidden
    allowed.stop()
    forbidden.stop()


@pytest.fixture
def server(_servers: tuple[EvidenceServer, EvidenceServer]) -> EvidenceServer:
    """The allowed server (127.0.0.1), its request count reset."""
    _servers[0].reset()
    return _servers[0]


@pytest.fixture
def forbidden_server(_servers: tuple[EvidenceServer, EvidenceServer]) -> EvidenceServer:
    """A server on 127.0.0.2, outside the tests' allow list; it must never see a request."""
    _servers[1].reset()
    return _servers[1]


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A self-signed certificate (and key beside it) for `TLS_NAME`, made by openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    command = [
        *(openssl(), "req", "-x509", "-nodes", "-days", "2"),
        *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
        *("-keyout", str(key), "-out", str(cert)),
        *("-subj", f"/CN={TLS_NAME}", "-addext", f"subjectAltName=DNS:{TLS_NAME}"),
    ]
    subprocess.run(command, check=True, capture_output=True)
    return cert


@pytest.fixture(scope="session")
def tls_server(certificate: Path) -> Iterator[EvidenceServer]:
    """An HTTPS server on 127.0.0.1 whose certificate names `TLS_NAME`, not the address."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(certificate, certificate.with_name("key.pem"))
    server = EvidenceServer("127.0.0.1", tls=context)
    server.start()
    yield server
    server.stop()
