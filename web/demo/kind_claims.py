"""The demo's claims that are a number, a choice or a date (SPEC §7), from the seed essay,
with the forecasts the demo forecasters make on them: deterministic, so every seed is alike."""

import math
import random
from datetime import UTC, datetime, timedelta
from typing import Any

from forecasts.archive.importing import ImportedForecast
from web.demo.claims import SettledClaim
from web.demo.histories import PERSONAS, Persona

REVENUE_SLUG = "sora-lifetime-revenue"
REVENUE_OUTCOME = 2.1e6  # the essay: about $2.1 million in lifetime in-app revenue
REVENUE_NOTE = "The seed essay: about $2.1 million in lifetime in-app revenue."
CHART_SLUG = "top-grossing-photo-video-app-end-2026"
VIDEO_SLUG = "chat-assistant-native-video-date"
PRICE_SLUG = "generated-video-minute-price-end-2027"

REVENUE: dict[str, Any] = {
    "slug": REVENUE_SLUG,
    "kind": "numeric",
    "title": "How much in-app revenue did the Sora app make in its lifetime?",
    "description": "The essay's measure of a standalone video product that could not pay its "
    "way: its lifetime revenue, estimated after the shutdown.",
    "resolution_criteria": "The estimated lifetime in-app revenue of the Sora app (App Store "
    "and Google Play, worldwide, in US dollars) as published by app-intelligence firms after "
    "the app's shutdown. Resolved by editors.",
    "tags": ["openai", "video", "sora", "revenue"],
    "opens_at": "2026-01-05T00:00:00Z",
    "closes_at": "2026-04-01T00:00:00Z",
    "resolves_at": "2026-06-01T00:00:00Z",
    "range_min": 100_000.0,
    "range_max": 100_000_000.0,
    "log_scale": True,
    "unit": "USD",
    "rules": [],
}
CHART_OPTIONS = ["CapCut", "Picsart", "Meitu", "A standalone generative-video app", "Another app"]
CHART: dict[str, Any] = {
    "slug": CHART_SLUG,
    "kind": "multiple_choice",
    "title": "Which app tops the US top-grossing Photo & Video chart at the end of 2026?",
    "description": "The essay expects general editing suites, not standalone video "
    "generators, to keep the top of the revenue charts.",
    "resolution_criteria": "The app ranked first on the US App Store top-grossing chart for "
    "Photo & Video on 31 December 2026 (the last snapshot of the day). A standalone "
    "generative-video app is one of the curated list of the top-five claim's fine print.",
    "tags": ["video", "app-store", "revenue"],
    "closes_at": "2026-12-31T23:59:59Z",
    "options": CHART_OPTIONS,
    "rules": [],
}
VIDEO: dict[str, Any] = {
    "slug": VIDEO_SLUG,
    "kind": "date",
    "title": "When does a chat assistant first ship native video generation to all its users?",
    "description": "The essay's thesis in one date: video becomes a feature of the "
    "assistants people already use.",
    "resolution_criteria": "The date on which ChatGPT, Gemini, Claude, Copilot, Grok or Meta "
    "AI makes video generation available inside the chat itself to every user of a paid or "
    "free plan in the US, as announced by its maker.",
    "tags": ["video", "reasoning-stacks"],
    "closes_at": "2027-06-30T00:00:00Z",
    "range_min": "2026-01-01T00:00:00Z",
    "range_max": "2028-12-31T00:00:00Z",
    "open_lower_bound": False,
    "rules": [],
}
PRICE: dict[str, Any] = {
    "slug": PRICE_SLUG,
    "kind": "numeric",
    "title": "What does a minute of generated video cost through the cheapest major API at the "
    "end of 2027?",
    "description": "The essay's cost argument as a number: the cheaper a minute of video, the "
    "more it is a feature of the assistants rather than a product of its own.",
    "resolution_criteria": "The lowest list price in US dollars of one minute of 1080p video "
    "generated through the public API of OpenAI, Google, Runway, Luma, Kling or Pika, as the "
    "provider's pricing page shows it on 31 December 2027. Resolved by editors.",
    "tags": ["video", "costs"],
    "closes_at": "2027-12-31T00:00:00Z",
    "range_min": 0.01,
    "range_max": 100.0,
    "log_scale": True,
    "unit": "USD",
    "rules": [],
}
LIVE_KIND_CLAIMS = [CHART, VIDEO, PRICE]

# where the forecasters start on each option, before their own leanings
_CHART_PRIOR = [0.45, 0.15, 0.12, 0.13, 0.15]
_Z90 = 1.2816  # the standard normal's 0.9 quantile


def chart_probabilities(persona: Persona) -> dict[str, float]:
    """A persona's probabilities of the options: the prior, shaken, summing to 1 exactly."""
    rng = random.Random(f"{persona.handle}:{CHART_SLUG}")
    raw = [max(0.02, p * math.exp(rng.gauss(0, 0.4 + persona.noise))) for p in _CHART_PRIOR]
    total = sum(raw)
    shares = [round(p / total, 3) for p in raw[:-1]]
    shares.append(round(1 - sum(shares), 3))
    return dict(zip(CHART_OPTIONS, shares, strict=True))


def revenue_quantiles(persona: Persona, progress: float) -> list[list[float]]:
    """A persona's 10%, 50% and 90% quantiles of Sora's revenue, closer to the outcome as
    the close nears (by skill)."""
    rng = random.Random(f"{persona.handle}:{REVENUE_SLUG}:{progress:.3f}")
    prior = math.log(8e6)  # before the essay, forecasters expected far more
    lean = persona.skill * (0.3 + 0.7 * progress)
    centre = prior + (math.log(REVENUE_OUTCOME) - prior) * lean + rng.gauss(0, 0.3)
    spread = 0.9 - 0.4 * progress + persona.noise
    median = round(math.exp(centre), -3)
    low, high = (round(median * math.exp(sign * _Z90 * spread), -3) for sign in (-1, 1))
    return [[0.1, low], [0.5, median], [0.9, high]]


def video_quantiles(persona: Persona) -> list[list[Any]]:
    """A persona's quartiles of the launch date, as ISO times."""
    rng = random.Random(f"{persona.handle}:{VIDEO_SLUG}")
    median = datetime(2027, 3, 1, tzinfo=UTC) + timedelta(days=rng.gauss(0, 90))
    spread = timedelta(days=60 + 200 * persona.noise)
    days = [median - spread, median, median + spread]
    when = [day.strftime("%Y-%m-%dT00:00:00Z") for day in days]
    return [[0.25, when[0]], [0.5, when[1]], [0.75, when[2]]]


def price_quantiles(persona: Persona) -> list[list[float]]:
    """A persona's 10%, 50% and 90% quantiles of the price of a minute, in dollars."""
    rng = random.Random(f"{persona.handle}:{PRICE_SLUG}")
    centre = math.log(1.5) + rng.gauss(0, 0.5)  # about $1.50 a minute, give or take
    spread = 0.6 + 2 * persona.noise
    return [
        [level, round(math.exp(centre + z * spread), 2)]
        for level, z in ((0.1, -_Z90), (0.5, 0.0), (0.9, _Z90))
    ]


def revenue_moments(persona: Persona, start: datetime, end: datetime) -> list[datetime]:
    """When a persona forecasts on the revenue claim, in [start, end)."""
    rng = random.Random(f"{persona.handle}:{REVENUE_SLUG}:times")
    first = start + (end - start) * persona.joins
    count = max(2, persona.forecasts // 2)
    return sorted(
        (first + (end - first) * rng.random()).replace(microsecond=0) for _ in range(count)
    )


def revenue_history(start: datetime, end: datetime) -> list[ImportedForecast]:
    """Every persona's quantile forecasts on Sora's revenue in [start, end)."""
    rows = []
    for persona in PERSONAS:
        for at in revenue_moments(persona, start, end):
            quantiles = revenue_quantiles(persona, (at - start) / (end - start))
            body = {"quantiles": quantiles, "claim": REVENUE_SLUG, "handle": persona.handle}
            rows.append(ImportedForecast.model_validate({**body, "created_at": at}))
    return rows


SETTLED_KIND_CLAIMS = [
    SettledClaim(REVENUE, REVENUE_OUTCOME, REVENUE_NOTE, prior=0.0, history=revenue_history)
]
