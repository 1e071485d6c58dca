"""FORECAST_LEDGER_SMTP_URL read, and one message handed to the SMTP server (smtplib).

`smtp://[user:password@]host[:port]` speaks STARTTLS (port 587 by default), `?tls=none`
plain SMTP for a local relay (port 25), `smtps://` implicit TLS (port 465).
"""

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from enum import Enum
from urllib.parse import parse_qs, unquote, urlsplit

TIMEOUT = 10.0
_PROBLEM = "must be smtp://[user:password@]host[:port][?tls=none] or smtps://…"
_DEFAULT_PORTS = {("smtp", "starttls"): 587, ("smtp", "none"): 25, ("smtps", "tls"): 465}


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    security: str  # starttls, none or tls
    user: str | None = None
    password: str | None = None


def parse_smtp_url(url: str) -> SmtpTarget:
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
    return SmtpTarget(
        host=parts.hostname,
        port=port or _DEFAULT_PORTS[(parts.scheme, tls)],
        security=tls,
        user=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Outcome(Enum):
    SENT = "sent"
    RETRY = "retry"  # a 4xx reply, a lost or refused connection, a timeout
    DROP = "drop"  # a 5xx reply: the server will never take it


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
    said = text.decode(errors="replace") if isinstance(text, bytes) else text
    outcome = Outcome.DROP if 500 <= code < 600 else Outcome.RETRY
    return outcome, f"{code} {said}"[:500]


def _send(target: SmtpTarget, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if target.security == "tls":
        smtp = smtplib.SMTP_SSL(target.host, target.port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(target.host, target.port, timeout=TIMEOUT)
    with smtp:
        if target.security == "starttls":
            smtp.starttls(context=context)
        if target.user is not None:
            smtp.login(target.user, target.password or "")
        smtp.send_message(message)
