"""The demo's claims: the seed essay's live claims, with rules pointing at their real sources,
and claims whose outcome the essay already reports, settled with imported histories."""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

ESSAY_URL = "https://example.org/essays/video-is-a-feature"
# The essay as a claimant (SPEC §8); its name is the free text demo claims cited before.
ESSAY_CLAIMANT = {
    "slug": "seed-essay",
    "name": "Seed essay: 'Video is a feature, not a product'",
    "kind": "publication",
    "url": ESSAY_URL,
    "description": "The essay the demo's claims come from: video generation becomes a feature "
    "of general assistants, not a product of its own.",
}
# What the essay says of each claim: it will happen (asserts) or it will not (denies).
STANCES = {
    "standalone-video-out-of-top-five-2026": "asserts",
    "top-five-video-are-reasoning-stack-features-2026": "asserts",
    "gemini-omni-announced-at-io-2026": "asserts",
    "chatgpt-native-video-before-mid-2027": "asserts",
    "standalone-video-app-back-in-top-ten-grossing": "denies",
    "video-inference-cost-falls-tenfold-2027": "asserts",
    "sora-shut-down-before-may-2026": "asserts",
    "sora-lifetime-revenue-above-5m": "denies",
    "sora-lifetime-revenue-above-1m": "asserts",
    "sora-peak-users-above-one-million": "denies",
}


def essay_source(slug: str) -> dict[str, str]:
    """The source of a demo claim: the essay, and what it says of the claim."""
    return {"url": ESSAY_URL, "claimant": ESSAY_CLAIMANT["slug"], "stance": STANCES[slug]}


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


@dataclass(frozen=True)
class SettledClaim:
    """A demo claim the essay has already decided: its spec, outcome and where forecasters began."""

    spec: dict[str, Any]
    outcome: Literal["yes", "no"]
    note: str
    prior: float  # where the forecasters' first forecasts gather, before they learn more
    closed_at: datetime | None = None  # settled before its scheduled close


_SORA_WINDOW = {"opens_at": "2026-01-05T00:00:00Z", "resolves_at": "2026-06-01T00:00:00Z"}


def _revenue_claim(
    amount: str, slug_amount: str, outcome: Literal["yes", "no"], *, prior: float
) -> SettledClaim:
    """The essay puts Sora's lifetime in-app revenue at about $2.1 million: two thresholds."""
    return SettledClaim(
        spec={
            "slug": f"sora-lifetime-revenue-above-{slug_amount}",
            "title": f"Sora's lifetime in-app revenue passes {amount}",
            "resolution_criteria": "Yes if the estimated lifetime in-app revenue of the Sora "
            "app (App Store and Google Play, worldwide, as published by app-intelligence firms) "
            f"exceeds {amount}. Resolved by editors from the estimates published after the "
            "app's shutdown.",
            "tags": ["openai", "video", "sora", "revenue"],
            "closes_at": "2026-04-01T00:00:00Z",
            **_SORA_WINDOW,
        },
        outcome=outcome,
        note="The seed essay: about $2.1 million in lifetime in-app revenue.",
        prior=prior,
    )


SETTLED_CLAIMS: list[SettledClaim] = [
    SettledClaim(
        spec={
            "slug": "sora-shut-down-before-may-2026",
            "title": "OpenAI shuts the Sora app down before May 2026",
            "description": "The essay's lead example: a standalone video app that could not "
            "pay its way once video became a feature of general assistants.",
            "resolution_criteria": "Yes if OpenAI stops the Sora app (iOS and Android) before "
            "1 May 2026, as announced by OpenAI or shown by the app leaving both stores.",
            "tags": ["openai", "video", "sora"],
            "opens_at": "2026-01-05T00:00:00Z",
            "closes_at": "2026-05-01T00:00:00Z",
        },
        outcome="yes",
        note="The seed essay: Sora shut down on 26 April 2026.",
        prior=0.2,
        closed_at=datetime(2026, 4, 26, tzinfo=UTC),
    ),
    _revenue_claim("$5 million", "5m", "no", prior=0.6),
    _revenue_claim("$1 million", "1m", "yes", prior=0.75),
    SettledClaim(
        spec={
            "slug": "sora-peak-users-above-one-million",
            "title": "The Sora app peaks above one million active users",
            "resolution_criteria": "Yes if published estimates of the Sora app's peak active "
            "users exceed one million at any time before its shutdown. Resolved by editors "
            "from the estimates published after the shutdown.",
            "tags": ["openai", "video", "sora", "usage"],
            "closes_at": "2026-03-01T00:00:00Z",
            **_SORA_WINDOW,
        },
        outcome="no",
        note="The seed essay: Sora's active users peaked under 500,000.",
        prior=0.55,
    ),
]
