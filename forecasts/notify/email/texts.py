"""What the emails say: plain text, links under the site's public URL only."""

from typing import Any

from forecasts.notify.email.own import number, percent

STREAM_NAMES = {
    "closing_soon": "Claims closing soon",
    "stale_forecasts": "Forecasts you may want to update",
    "scores": "Your scores",
    "new_claims": "New claims in tags you follow",
}


def confirm_text(link: str) -> tuple[str, str]:
    body = (
        "Someone (we hope you) asked Forecast Ledger to send email to this address.\n\n"
        f"To confirm it, open this link within 24 hours and press the button:\n\n{link}\n\n"
        "If it was not you, ignore this email: nothing will be sent to you.\n"
    )
    return "Confirm your email address", body


def reset_text(handle: str, link: str) -> tuple[str, str]:
    body = (
        f"Someone asked to set a new password for the account {handle}.\n\n"
        f"To set one, open this link within an hour (it works once):\n\n{link}\n\n"
        "If it was not you, ignore this email: your password stays as it is.\n"
    )
    return "Set a new password", body


def _mine(data: dict[str, Any]) -> str:
    # items made before the kinds' own words (#15) carry a probability only
    said = data.get("forecast")
    return said if isinstance(said, str) else percent(data.get("probability"))


def _outcome(outcome: Any) -> str:
    """yes/no, a label or an ISO time as they are; a number as people write it."""
    is_number = isinstance(outcome, int | float) and not isinstance(outcome, bool)
    return number(outcome) if is_number else str(outcome)


def _score(score: dict[str, Any]) -> str:
    """A binary or multiple-choice claim's Brier score, a numeric or date claim's CRPS."""
    if score.get("brier") is None and score.get("crps") is not None:
        return f"your CRPS: {score['crps']}"
    return f"your Brier score: {score.get('brier')}"


def item_line(stream: str, data: dict[str, Any], base_url: str) -> str:
    """One item: what happened, the recipient's own forecast at most, and the claim's page."""
    title, link = data.get("title") or data.get("slug"), f"{base_url}/claims/{data.get('slug')}"
    if stream == "closing_soon":
        said = f"closes at {data.get('closes_at')}; your forecast: {_mine(data)}"
    elif stream == "stale_forecasts":
        said = f"your forecast of {_mine(data)} dates from {data.get('forecast_at')}"
    elif stream == "scores":
        score = data.get("score")
        if score is None:
            said = "annulled: it is not scored"
        else:
            said = f"resolved {_outcome(data.get('outcome'))}; {_score(score)}"
    else:
        said = f"new claim, open until {data.get('closes_at')}"
    return f"- {title}: {said}\n  {link}"


def stream_text(
    items: list[tuple[str, dict[str, Any]]], base_url: str, unsubscribe: str
) -> tuple[str, str]:
    """A stream's email (one item) or a digest (several streams' items)."""
    streams = sorted({stream for stream, _ in items})
    subject = STREAM_NAMES[streams[0]] if len(streams) == 1 else "Your Forecast Ledger digest"
    sections = []
    for stream in streams:
        lines = [item_line(s, data, base_url) for s, data in items if s == stream]
        sections.append(f"{STREAM_NAMES[stream]}\n\n" + "\n".join(lines))
    named = ", ".join(STREAM_NAMES[s].lower() for s in streams)
    footer = (
        f"\n\nTo stop these emails ({named}), open {unsubscribe}\n"
        f"Your email settings: {base_url}/account#email\n"
    )
    return subject, "\n\n".join(sections) + footer
