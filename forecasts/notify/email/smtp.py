"""FORECAST_LEDGER_SMTP_URL read, and one message handed to the SMTP server (smtplib).

`smtp://[user:password@]host[:port]` speaks STARTTLS (port 587 by default), `?tls=none`
plain SMTP for a local relay (port 25), `smtps://` implicit TLS (port 465). TLS always
verifies the server's certificate and name, against the system's CAs or only those of
`ca_file` (FORECAST_LEDGER_SMTP_CA_FILE); a server that offers no STARTTLS is refused, never
spoken to in plain text, and a password is sent only over TLS.
"""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT = 10.0
_PROBLEM = "must be smtp://[user:password@]host[:port][?tls=none] or smtps://…"
_PLAIN_LOGIN = "a user and password need TLS: drop ?tls=none (STARTTLS) or use smtps://"
_DEFAULT_PORTS = {("smtp", "starttls"): 587, ("smtp", "none"): 25, ("smtps", "tls"): 465}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # starttls, none or tls
    user: str | None = None
    password: str | None = None
    ca_file: str | None = None  # a PEM bundle trusted instead of the system's CAs
    helo: str | None = None  # the name EHLO gives (the site's host); None: socket.getfqdn()


def parse_smtp_url(url: str, ca_file: str | None = None, helo: str | None = None) -> SmtpTarget:
    """The setting's parts; a ValueError says what is wrong (never echoing a password)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        raise ValueError(_PROBLEM) from None
    query = parse_qs(parts.query)
    tls = query.pop("tls", ["starttls" if parts.scheme == "smtp" else "tls"])[-1]
    if (parts.scheme == "smtps" and tls != "tls") or query or not parts.hostname:
        raise ValueError(_PROBLEM)
    if (parts.scheme, tls) not in _DEFAULT_PORTS or parts.path not in ("", "/"):
        raise ValueError(_PROBLEM)
    if tls == "none" and (parts.username or parts.password):
        raise ValueError(_PLAIN_LOGIN)  # smtplib would send it in the clear
    return SmtpTarget(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[(parts.scheme, tls)],
        security=tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        ca_file=ca_file or None,
        helo=helo or None,
    )


def tls_context(ca_file: str | None) -> ssl.SSLContext:
    """Certificates and host names verified; a ca_file replaces the system's CAs (an
    unreadable or empty bundle raises OSError or ssl.SSLError)."""
    return ssl.create_default_context(cafile=ca_file)


class Outcome(Enum):
    SENT = "sent"
    # a 4xx reply, a lost or refused connection, a timeout, a TLS failure, or a server that
    # offers no STARTTLS (no downgrade: the setting is wrong, not the message)
    RETRY = "retry"
    # a 5xx reply at any step, greeting, EHLO, STARTTLS and AUTH included (SPEC §9)
    DROP = "drop"


def send_message(target: SmtpTarget, message: EmailMessage) -> tuple[Outcome, str | None]:
    """Hand the message over; the outcome and, when it failed, why."""
    try:
        _send(target, message)
    except smtplib.SMTPRecipientsRefused as error:
        code, text = next(iter(error.recipients.values()))
        return _by_code(code, text)
    except smtplib.SMTPResponseException as error:
        return _by_code(error.smtp_code, error.smtp_error)
    except (smtplib.SMTPException, OSError) as error:
        return Outcome.RETRY, f"{type(error).__name__}: {error}"[:500]
    return Outcome.SENT, None


def _by_code(code: int, text: bytes | str) -> tuple[Outcome, str]:
    return Outcome.DROP if 500 <= code < 600 else Outcome.RETRY, _said(code, text)


def _said(code: int, text: bytes | str) -> str:
    said = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{code} {said}"[:500]


def _send(target: SmtpTarget, message: EmailMessage) -> None:
    smtp: smtplib.SMTP
    if target.security == "tls":
        context = tls_context(target.ca_file)
        smtp = smtplib.SMTP_SSL(
            target.host, target.port, target.helo, timeout=TIMEOUT, context=context
        )
    else:
        smtp = smtplib.SMTP(target.host, target.port, target.helo, timeout=TIMEOUT)
    with smtp:
        if target.security == "starttls":
            # raises SMTPNotSupportedError when the server offers no STARTTLS: no downgrade
            smtp.starttls(context=tls_context(target.ca_file))
        if target.user is not None and target.security != "none":
            smtp.login(target.user, target.password or "")
        smtp.send_message(message)
