"""The automatic-resolution policy as the settings configure it."""

from datetime import timedelta

from claims.fetch import FetchPolicy, parse_allow_list
from forecasts.notify.worker import DeliveryPolicy
from forecasts.resolution.autoresolve import ResolutionPolicy
from web.metrics import observe_fetch
from web.settings import Settings


def resolution_policy(settings: Settings) -> ResolutionPolicy:
    """The fetcher's allow list and timeout, the challenge window, polling and backoff."""
    return ResolutionPolicy(
        fetch=FetchPolicy(
            allow=parse_allow_list(settings.fetch_allow),
            timeout=settings.fetch_timeout,
            observe=observe_fetch,
        ),
        rule_deadline=settings.rule_deadline,
        challenge_window=timedelta(seconds=settings.challenge_window),
        poll_every=timedelta(seconds=settings.poll_every),
        max_backoff=timedelta(seconds=max(settings.max_backoff, settings.poll_every)),
        concurrency=settings.fetch_concurrency,
    )


def delivery_policy(settings: Settings) -> DeliveryPolicy:
    """Webhook deliveries: the fetcher's allow list; due work looked for at least each second."""
    return DeliveryPolicy(
        fetch=FetchPolicy(allow=parse_allow_list(settings.fetch_allow)),
        poll=min(settings.job_interval, 1.0),
    )
