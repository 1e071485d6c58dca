"""The demo: the seed essay's claims about AI video products and reasoning stacks, with rules,
a handful of forecasters and their forecasts, so a new user sees a living ledger at once."""

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlmodel import select

from claims.lifecycle import create_claim
from claims.models import Claim
from claims.schemas import ClaimCreate
from forecasts.accounts import create_account
from forecasts.importing import ImportedForecast, import_forecasts
from forecasts.ledger import record
from forecasts.models import Account
from forecasts.submit import SubmitRequest, append_batch
from web.db import Database

ESSAY = {
    "url": "https://example.org/essays/video-is-a-feature",
    "claimant": "Seed essay: 'Video is a feature, not a product'",
}
# App Store ids of standalone generative-video apps. A starting list for the demo: editors must
# confirm the ids against the store before the claims close (README, "The demo").
STANDALONE_VIDEO_APPS = "['6744034028', '6478163421', '6449450384', '6670788272']"
APP_STORE_GROSSING = (
    "https://itunes.apple.com/us/rss/topgrossingapplications/limit=25/genre=6008/json"
)

DEMO_CLAIMS: list[dict[str, Any]] = [
    {
        "slug": "standalone-video-out-of-top-five-2026",
        "title": "By the end of 2026, no standalone generative-video product ranks in the top "
        "five of its category by revenue",
        "description": "The essay argues that video generation becomes a feature of general "
        "assistants rather than a product of its own.",
        "resolution_criteria": "Yes if, on the US App Store top-grossing chart for Photo & Video "
        "on 31 December 2026, none of the top five apps is a standalone generative-video app "
        "(the curated list in the fine print). Apple's top-grossing chart is the only public "
        "revenue rank.",
        "fine_print": "Standalone generative-video apps: Sora, Kling AI, Hailuo, Pika (by App "
        "Store id). Several snapshots are kept because the chart moves hourly.",
        "tags": ["video", "app-store", "revenue"],
        "closes_at": "2026-12-31T23:59:59Z",
        "rules": [
            {
                "url": APP_STORE_GROSSING,
                "format": "json",
                "expression": "length(feed.entry[:5][?contains("
                + STANDALONE_VIDEO_APPS
                + ', id.attributes."im:id")]) == `0`',
            }
        ],
    },
    {
        "slug": "top-five-video-are-reasoning-stack-features-2026",
        "title": "By the end of 2026, the top five generative-video offerings are all features "
        "of reasoning-stack products",
        "resolution_criteria": "Yes if the five most used generative-video offerings at the end "
        "of 2026 are all features of products built around a general reasoning model (ChatGPT, "
        "Gemini, Grok, Meta AI, Copilot...). Resolved by editors from published usage figures.",
        "tags": ["video", "reasoning-stacks"],
        "closes_at": "2026-12-31T23:59:59Z",
        "rules": [],
    },
    {
        "slug": "gemini-omni-announced-at-io-2026",
        "title": "Google announces Gemini Omni at I/O 2026",
        "resolution_criteria": "Yes if Google announces a model or product called Gemini Omni "
        "during Google I/O 2026, as shown by an entry on Google's AI blog feed.",
        "tags": ["google", "announcements"],
        "opens_at": "2026-03-01T00:00:00Z",
        "closes_at": "2026-05-19T16:00:00Z",
        "resolves_at": "2026-05-22T00:00:00Z",
        "rules": [
            {
                "url": "https://blog.google/technology/ai/rss/",
                "format": "rss",
                "expression": "length(entries[?contains(title, 'Gemini Omni')]) > `0`",
                "yes_early": True,
            }
        ],
    },
    {
        "slug": "chatgpt-native-video-before-mid-2027",
        "title": "ChatGPT ships native video generation before mid-2027",
        "resolution_criteria": "Yes if OpenAI announces video generation available inside "
        "ChatGPT itself (not only a separate app) before 30 June 2027.",
        "tags": ["openai", "video"],
        "closes_at": "2027-06-30T00:00:00Z",
        "rules": [
            {
                "url": "https://openai.com/news/rss.xml",
                "format": "rss",
                "expression": "length(entries[?contains(title, 'ChatGPT') && contains(title, "
                "'video')]) > `0`",
                "yes_early": True,
            }
        ],
    },
    {
        "slug": "standalone-video-app-back-in-top-ten-grossing",
        "title": "A standalone video app is back in the US top-grossing Photo & Video top ten "
        "before mid-2027",
        "resolution_criteria": "Yes if any standalone generative-video app (fine print) appears "
        "in the top ten of the US App Store top-grossing Photo & Video chart before 30 June 2027.",
        "fine_print": "Same curated list of apps as the top-five claim.",
        "tags": ["video", "app-store", "revenue"],
        "closes_at": "2027-06-30T00:00:00Z",
        "rules": [
            {
                "url": APP_STORE_GROSSING,
                "format": "json",
                "expression": "length(feed.entry[:10][?contains("
                + STANDALONE_VIDEO_APPS
                + ', id.attributes."im:id")]) > `0`',
                "yes_early": True,
            }
        ],
    },
    {
        "slug": "video-inference-cost-falls-tenfold-2027",
        "title": "The price of a minute of generated video falls tenfold by the end of 2027",
        "resolution_criteria": "Yes if the cheapest list price of one minute of 1080p generated "
        "video from a major API falls to a tenth of its 1 January 2026 level by 31 December "
        "2027. Resolved by editors from published price lists.",
        "tags": ["video", "costs"],
        "closes_at": "2027-12-31T23:59:59Z",
        "rules": [],
    },
]
FORECASTERS = ["ana", "bayes-bot", "chen", "dmitri", "ema"]
EDITOR = "desk"


def seed_demo(db: Database, *, now: datetime) -> bool:
    """Seed once; returns False when the demo is already there."""
    with db.writing() as session:
        if session.exec(select(Claim.id).where(Claim.slug == DEMO_CLAIMS[0]["slug"])).first():
            return False
        editor = create_account(session, EDITOR, role="editor", now=now)
        accounts = [create_account(session, h, role="forecaster", now=now) for h in FORECASTERS]
        for spec in DEMO_CLAIMS:
            data = ClaimCreate.model_validate({**spec, "source": ESSAY})
            create_claim(session, data, editor_id=editor.id, now=now, record=record)
        _history(session, accounts, now)
    _live_forecasts(db, accounts, now)
    return True


def _history(session: Any, accounts: list[Account], now: datetime) -> None:
    """Forecasts on the claim that has already closed, imported as history."""
    rng = random.Random(2026)
    start = datetime(2026, 3, 2, tzinfo=UTC)
    rows = []
    for index, account in enumerate(accounts):
        at = start + timedelta(days=7 * index)
        for _ in range(3):
            probability = round(min(0.95, max(0.05, rng.gauss(0.35 + 0.1 * index, 0.1))), 3)
            rows.append(
                ImportedForecast(
                    claim="gemini-omni-announced-at-io-2026",
                    handle=account.handle,
                    probability=probability,
                    created_at=at,
                )
            )
            at += timedelta(days=rng.randint(3, 15))
    if now > datetime(2026, 5, 19, 16, tzinfo=UTC):
        import_forecasts(session, rows, now=now)


def _live_forecasts(db: Database, accounts: list[Account], now: datetime) -> None:
    rng = random.Random(7)
    leanings = {
        "standalone-video-out-of-top-five-2026": 0.7,
        "top-five-video-are-reasoning-stack-features-2026": 0.4,
        "chatgpt-native-video-before-mid-2027": 0.65,
        "standalone-video-app-back-in-top-ten-grossing": 0.3,
        "video-inference-cost-falls-tenfold-2027": 0.55,
    }
    requests = [
        SubmitRequest(
            account_id=int(account.id or 0),
            handle=account.handle,
            slug=slug,
            probability=round(min(0.97, max(0.03, rng.gauss(lean, 0.12))), 2),
            rationale="Demo forecast.",
        )
        for slug, lean in leanings.items()
        for account in accounts
        if rng.random() < 0.85
    ]
    with db.write_engine.begin() as conn:
        append_batch(conn, requests, lambda: max(now, datetime.now(UTC)))
