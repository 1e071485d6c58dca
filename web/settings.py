"""Every FORECAST_LEDGER_* setting, in one pydantic-settings class.

Each field's description says what it accepts: the CLI quotes it when a value is refused.
"""

import ssl
from functools import lru_cache
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from claims.fetch import parse_allow_list
from forecasts.notify.email.sending import Mailer
from forecasts.notify.email.smtp import parse_smtp_url, tls_context
from web.hosts import public_base_url

CIDRS = "comma-separated CIDRs such as 10.0.0.0/8,127.0.0.1/32, or empty"
SECONDS = "a number of seconds"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECAST_LEDGER_", extra="ignore")

    database_url: str = Field(default="sqlite:///forecast-ledger.sqlite3", description="a URL")
    fetch_allow: str = Field(default="", description=CIDRS)
    challenge_window: float = Field(default=24 * 3600, ge=0, description=f"{SECONDS}, >= 0")
    # forecast submissions per account per minute
    rate_limit: int = Field(default=120, ge=0, description="a whole number >= 0 (0: off)")
    # sign-ins and sign-ups per client address, and from all clients, per minute (0: off)
    sign_in_rate: int = Field(default=10, ge=0, description="a whole number >= 0 (0: off)")
    sign_in_total: int = Field(default=60, ge=0, description="a whole number >= 0 (0: off)")
    password_hashing: int = Field(  # argon2 hashes at once
        default=1, ge=1, le=64, description="a whole number, 1-64"
    )
    idempotency_hours: float = Field(  # how long a key's answer is kept
        default=24.0, gt=0, description="a number of hours, > 0"
    )
    secret_key: str = ""
    # session cookie only over HTTPS
    secure_cookies: bool = Field(default=False, description="true or false")
    peer_accuracy_prior: float = Field(default=10.0, gt=0, description="a number > 0")
    max_body_bytes: int = Field(default=1_000_000, gt=0, description="a whole number > 0")
    # how often the scheduler looks for due work (each rule still polls at its own interval)
    job_interval: float = Field(default=5.0, gt=0, description=f"{SECONDS}, > 0")
    # automatic resolution (forecasts.resolution.autoresolve.ResolutionPolicy), in seconds
    poll_every: float = Field(default=3600.0, gt=0, description=f"{SECONDS}, > 0")
    max_backoff: float = Field(default=24 * 3600, gt=0, description=f"{SECONDS}, > 0")
    fetch_timeout: float = Field(default=10.0, gt=0, le=300, description=f"{SECONDS}, 0 to 300")
    fetch_concurrency: int = Field(default=16, ge=1, le=256, description="a whole number, 1-256")
    # the request log (web/requestlog.py) and who may read /metrics (web/metrics.py)
    log_format: Literal["text", "json"] = Field(default="text", description="text or json")
    metrics_allow: str = Field(default="", description=CIDRS)
    # scheme://host[:port]: used in pages; set, requests for other hosts get a 400 (web/hosts.py)
    public_url: str = Field(default="", description="scheme://host[:port], or empty")
    # one rule's parse and evaluation (claims/sandbox.py)
    rule_deadline: float = Field(default=5.0, gt=0, le=300, description=f"{SECONDS}, 0 to 300")
    # bodies and values fetched from non-public addresses (the allow list) shown to everyone
    publish_private_evidence: bool = Field(default=False, description="true or false")
    # notifications (SPEC §9): claim.closing_soon this long before closes_at; crowd.moved at
    # a change of at least this much
    closing_soon: float = Field(default=86400.0, gt=0, description=f"{SECONDS}, > 0")
    crowd_move: float = Field(default=0.1, gt=0, le=1, description="a number, 0 < x <= 1")
    # email (SPEC §9): on only with smtp_url and public_url set
    smtp_url: str = Field(
        default="", description="smtp://[user:password@]host[:port][?tls=none], smtps://…, or empty"
    )
    email_from: str = Field(default="", description="an email address, or empty")
    # the CAs TLS to the SMTP server trusts instead of the system's (a private CA)
    smtp_ca_file: str = Field(
        default="", description="the path of a readable PEM file of CA certificates, or empty"
    )

    @field_validator("fetch_allow", "metrics_allow")
    @classmethod
    def _networks(cls, value: str) -> str:
        parse_allow_list(value)  # a ValueError names the bad entry
        return value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: str) -> str:
        if value.strip():
            parse_smtp_url(value)  # the ValueError says what is wrong, never the password
        return value.strip()

    @field_validator("smtp_ca_file")
    @classmethod
    def _smtp_ca_file(cls, value: str) -> str:
        if value.strip():
            try:
                tls_context(value.strip())
            except (OSError, ssl.SSLError):
                raise ValueError("must be a readable PEM file of CA certificates") from None
        return value.strip()

    @property
    def email_on(self) -> bool:
        return bool(self.smtp_url and self.public_url)

    def mailer(self) -> Mailer | None:
        """Where email goes, or None when email is off."""
        if not self.email_on:
            return None
        host = urlsplit(self.public_url).hostname
        sender = self.email_from or f"forecast-ledger@{host}"
        # EHLO names the site (smtplib's default, the machine's FQDN, may be a DNS wait or
        # a name the server refuses)
        target = parse_smtp_url(self.smtp_url, ca_file=self.smtp_ca_file, helo=host)
        return Mailer(target, sender, self.public_url)

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return public_base_url(value)


@lru_cache
def get_settings() -> Settings:
    return Settings()
