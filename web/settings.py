"""Every FORECAST_LEDGER_* setting, in one pydantic-settings class."""

from functools import lru_cache

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from web.hosts import public_base_url


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECAST_LEDGER_", extra="ignore")

    database_url: str = "sqlite:///forecast-ledger.sqlite3"
    fetch_allow: str = ""
    challenge_window: float = Field(default=24 * 3600, ge=0)
    rate_limit: int = Field(default=120, ge=0)  # forecast submissions per account per minute
    # sign-ins and sign-ups per client address, and from all clients, per minute (0: off)
    sign_in_rate: int = Field(default=10, ge=0)
    sign_in_total: int = Field(default=60, ge=0)
    password_hashing: int = Field(default=1, ge=1, le=64)  # argon2 hashes at once
    idempotency_hours: float = Field(default=24.0, gt=0)  # how long a key's answer is kept
    secret_key: str = ""
    secure_cookies: bool = False  # session cookie only over HTTPS
    peer_accuracy_prior: float = Field(default=10.0, gt=0)
    max_body_bytes: int = Field(default=1_000_000, gt=0)
    # how often the scheduler looks for due work (each rule still polls at its own interval)
    job_interval: float = Field(default=5.0, gt=0)
    # automatic resolution (forecasts.autoresolve.ResolutionPolicy), in seconds
    poll_every: float = Field(default=3600.0, gt=0)
    max_backoff: float = Field(default=24 * 3600, gt=0)
    fetch_timeout: float = Field(default=10.0, gt=0, le=300)
    fetch_concurrency: int = Field(default=16, ge=1, le=256)
    # scheme://host[:port]: used in pages; set, requests for other hosts get a 400 (web/hosts.py)
    public_url: str = ""

    @field_validator("public_url")
    @classmethod
    def _public_url(cls, value: str) -> str:
        return public_base_url(value)


@lru_cache
def get_settings() -> Settings:
    return Settings()
