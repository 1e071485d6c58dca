"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps what arrives, or refuses on purpose;
plain, with STARTTLS or implicit TLS (smtps), with a throwaway private CA made by openssl."""

import email
import email.policy
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from forecasts.notify.email.sending import Mailer
from tests.e2e.conftest import free_port
from tests.factories import openssl
from web.settings import Settings

USER, PASSWORD = "mailer", "s3cret-smtp-password"


@dataclass
class Mailbox:
    """What the server received; `refuse` (like "451 try later") answers every RCPT with it,
    `refuse_data` every DATA, `refuse_helo` every EHLO and HELO.
    `logins` records each AUTH as (user, whether the connection was encrypted then), and
    `encrypted` whether each kept message came over TLS, `helo` its EHLO name."""

    messages: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None
    refuse_data: str | None = None
    refuse_helo: str | None = None
    logins: list[tuple[str, bool]] = field(default_factory=list)
    encrypted: list[bool] = field(default_factory=list)
    helo: list[str] = field(default_factory=list)  # the name each sender's EHLO gave

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        if self.refuse_helo is not None:
            return [self.refuse_helo]
        session.host_name = hostname
        return responses

    async def handle_HELO(self, server: Any, session: Any, envelope: Any, hostname: str) -> str:
        if self.refuse_helo is not None:
            return self.refuse_helo
        session.host_name = hostname
        return f"250 {server.hostname}"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if self.refuse is not None:
            return self.refuse
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.refuse_data is not None:
            return self.refuse_data
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        self.encrypted.append(_encrypted(server))
        self.helo.append(session.host_name)
        return "250 Message accepted"

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), _encrypted(server)))
        right = (data.login.decode(), data.password.decode()) == (USER, PASSWORD)
        return AuthResult(success=right, handled=False)  # False: aiosmtpd answers the 535

    def take(self) -> list[EmailMessage]:
        taken, self.messages = self.messages, []
        return taken


def _encrypted(server: Any) -> bool:
    return server.transport.get_extra_info("ssl_object") is not None


@dataclass(frozen=True)
class Certificates:
    """A private CA and two server certificates it signed: one for 127.0.0.1 and one for
    another name (mail.example.test), each a (certificate, key) pair of PEM files."""

    ca: Path
    loopback: tuple[Path, Path]
    elsewhere: tuple[Path, Path]


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run([openssl(), *map(str, args)], cwd=cwd, check=True, capture_output=True)


def _server_certificate(directory: Path, name: str, alt: str) -> tuple[Path, Path]:
    key, request, cert, ext = (directory / f"{name}.{e}" for e in ("key", "csr", "pem", "ext"))
    ext.write_text(
        f"subjectAltName={alt}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n"
    )
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", key, "-out", request, "-subj", f"/CN={name}", cwd=directory,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", request, "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", ext, "-out", cert, cwd=directory,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="session")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> Certificates:
    """Made once per test session, thrown away with its folder."""
    directory = tmp_path_factory.mktemp("smtp-tls")
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Test mail CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=directory,
    )  # fmt: skip
    return Certificates(
        ca=directory / "ca.pem",
        loopback=_server_certificate(directory, "loopback", "IP:127.0.0.1"),
        elsewhere=_server_certificate(directory, "elsewhere", "DNS:mail.example.test"),
    )


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    security: str = "none"  # none (no STARTTLS offered), starttls or tls (smtps)

    @property
    def url(self) -> str:
        """The URL that reaches it as it is (a plain server: ?tls=none)."""
        return self.url_as("smtps" if self.security == "tls" else "smtp", plain=True)

    def url_as(self, scheme: str, *, plain: bool = False, login: bool = False) -> str:
        """A URL for it: `plain` adds ?tls=none to a plain server's, `login` the user."""
        user = f"{USER}:{PASSWORD}@" if login else ""
        query = "?tls=none" if plain and self.security == "none" else ""
        return f"{scheme}://{user}127.0.0.1:{self.port}{query}"


def mailer_for(settings: Settings, url: str, ca_file: Path | None = None) -> Mailer:
    """The mailer the app builds from these settings, sending to `url`."""
    update = {"smtp_url": url, "public_url": "http://testserver", "smtp_ca_file": ca_file or ""}
    mailer = settings.model_copy(update={k: str(v) for k, v in update.items()}).mailer()
    assert mailer is not None
    return mailer


def _server_context(pair: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*pair)
    return context


@contextmanager
def running_smtp(
    security: str = "none", pair: tuple[Path, Path] | None = None, *, auth: bool = False
) -> Iterator[SmtpServer]:
    """The server, stopped afterwards. `security` starttls offers STARTTLS (and requires it
    before MAIL), tls speaks TLS from the first byte; both present `pair`. `auth` offers AUTH
    (with STARTTLS: only over TLS, and required; else from the start)."""
    mailbox = Mailbox()
    port = free_port()
    options: dict[str, Any] = {}
    if auth:
        # aiosmtpd counts only STARTTLS as TLS: an smtps or plain server offers AUTH
        # without requiring it (aiosmtpd warns at requiring AUTH without its TLS)
        starttls = security == "starttls"
        options.update(
            authenticator=mailbox.authenticate, auth_required=starttls, auth_require_tls=starttls
        )
    if security == "starttls":
        assert pair is not None
        options.update(tls_context=_server_context(pair), require_starttls=True)
    elif security == "tls":
        assert pair is not None
        options["ssl_context"] = _server_context(pair)
    controller = Controller(mailbox, hostname="127.0.0.1", port=port, **options)
    controller.start()
    try:
        yield SmtpServer(port, mailbox, security)
    finally:
        controller.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server
