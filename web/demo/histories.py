"""The demo's forecasters and the histories they bring: deterministic, so every seed is alike."""

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from forecasts.archive.importing import ImportedForecast


@dataclass(frozen=True)
class Persona:
    """How a demo forecaster forecasts, so the leaderboard has a spread of skill."""

    handle: str
    skill: float  # share of the way from the prior to the outcome by the close (< 0: wrong way)
    noise: float
    forecasts: int  # per claim
    joins: float  # share of the window gone before their first forecast


PERSONAS = [
    Persona("ana", skill=0.8, noise=0.05, forecasts=4, joins=0.05),
    Persona("bayes-bot", skill=0.55, noise=0.02, forecasts=6, joins=0.0),
    Persona("chen", skill=0.35, noise=0.08, forecasts=3, joins=0.2),
    Persona("dmitri", skill=-0.3, noise=0.07, forecasts=4, joins=0.1),
    Persona("ema", skill=0.2, noise=0.1, forecasts=2, joins=0.5),
]
FORECASTERS = [persona.handle for persona in PERSONAS]


def settled_history(
    slug: str, *, outcome: float, prior: float, start: datetime, end: datetime
) -> list[ImportedForecast]:
    """Every persona's forecasts on a claim in [start, end), drifting from `prior` by skill."""
    rows = []
    for persona in PERSONAS:
        rng = random.Random(f"{persona.handle}:{slug}")  # str seeds do not depend on hashing
        first = start + (end - start) * persona.joins
        times = sorted(first + (end - first) * rng.random() for _ in range(persona.forecasts))
        for at in times:
            progress = (at - start) / (end - start)
            lean = persona.skill * (0.3 + 0.7 * progress)  # surer as the close nears
            probability = prior + (outcome - prior) * lean + rng.gauss(0, persona.noise)
            rows.append(_row(slug, persona.handle, probability, at.replace(microsecond=0)))
    return rows


def undecided_history(slug: str, *, handles: list[str]) -> list[ImportedForecast]:
    """Three forecasts each, a week apart by forecaster, on the closed claim left undecided."""
    rng = random.Random(2026)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    rows = []
    for index, handle in enumerate(handles):
        at = start + timedelta(days=7 * index)
        for _ in range(3):
            rows.append(_row(slug, handle, rng.gauss(0.35 + 0.1 * index, 0.1), at))
            at += timedelta(days=rng.randint(3, 15))
    return rows


def _row(slug: str, handle: str, probability: float, at: datetime) -> ImportedForecast:
    clamped = round(min(0.95, max(0.05, probability)), 2)
    return ImportedForecast(claim=slug, handle=handle, probability=clamped, created_at=at)
