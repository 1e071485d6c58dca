"""Every FORECAST_LEDGER_* setting, in one pydantic-settings class."""

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORECAST_LEDGER_", extra="ignore")

    database_url: str = "sqlite:///forecast-ledger.sqlite3"
    fetch_allow: str = ""
    challenge_window: float = Field(default=24 * 3600, ge=0)
    rate_limit: int = Field(default=120, ge=0)
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
    rule_deadline: float = Field(default=5.0, gt=0, le=300)  # one rule's parse and evaluation
    # bodies and values fetched from non-public addresses (the allow list) shown to everyone
    publish_private_evidence: bool = False


@lru_cache
def get_settings() -> Settings:
    return Settings()
