"""The automatic-resolution policy as the settings configure it."""

from datetime import timedelta

from claims.fetch import FetchPolicy, parse_allow_list
from forecasts.autoresolve import ResolutionPolicy
from web.settings import Settings


def resolution_policy(settings: Settings) -> ResolutionPolicy:
    """Fetch allow list (FORECAST_LEDGER_FETCH_ALLOW) and challenge window from the settings."""
    return ResolutionPolicy(
        fetch=FetchPolicy(allow=parse_allow_list(settings.fetch_allow)),
        challenge_window=timedelta(seconds=settings.challenge_window),
    )
