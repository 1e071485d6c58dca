"""Pages over the demo seed: an app on a copied database, signed-in clients, CSRF tokens."""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from claims.lifecycle import get_claim
from forecasts.accounts.service import create_account
from forecasts.resolution.settle import settle_claim
from tests.factories import FakeClock
from web.app import create_app
from web.db import Database
from web.demo import seed_demo
from web.settings import Settings

PASSWORD = "correct horse battery"
RESOLVED_SLUG = "gemini-omni-announced-at-io-2026"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    match = _CSRF.search(html)
    assert match is not None, "no CSRF token in the page"
    return match.group(1)


def seed(db: Database, now: datetime, *, resolve: bool = True) -> None:
    """The demo, an editor with a password, and the closed demo claim resolved (scores)."""
    seed_demo(db, now=now)
    with db.writing() as session:
        create_account(session, "maria", role="editor", now=now, password=PASSWORD)
        if resolve:
            claim = get_claim(session, RESOLVED_SLUG)
            settle_claim(session, claim, "yes", now=now, note="Announced on stage.", by="maria")


@pytest.fixture
def demo_clock() -> FakeClock:
    # demo forecasts are stamped with the real time, so the pages' clock runs just after it
    return FakeClock(now=datetime.now(UTC) + timedelta(seconds=5))


@pytest.fixture
def site(database_url: str, db: Database, demo_clock: FakeClock) -> Iterator[TestClient]:
    seed(db, demo_clock.now)
    settings = Settings(database_url=database_url, rate_limit=0, secret_key="test-secret")
    app = create_app(settings, clock=demo_clock, migrate=False)
    with TestClient(app) as client:
        yield client


def sign_in(client: TestClient, handle: str, password: str = PASSWORD) -> None:
    token = csrf_of(client.get("/signin").text)
    response = client.post(
        "/signin", data={"handle": handle, "password": password, "csrf_token": token}
    )
    assert response.status_code == 200 and f">{handle}</a>" in response.text, response.text


def claim_form_data(closes: datetime, **extra: str) -> dict[str, str]:
    """What the desk's new-claim form posts for a binary claim, with `extra` fields."""
    return {
        "slug": "desk-made-claim",
        "title": "A claim made at the desk",
        "resolution_criteria": "Yes if it happens.\r\nLine two.",
        "description": "",
        "fine_print": "",
        "tags": "desk video",
        "opens_at": "",
        "closes_at": closes.strftime("%Y-%m-%dT%H:%M:%S"),
        "resolves_at": "",
        "rules": "",
        "source_url": "",
        "source_claimant": "",
        "source_quote": "",
        "source_published_at": "",
        "action": "save",
        **extra,
    }


def post_form(client: TestClient, form_page: str, action: str, data: dict[str, str]) -> str:
    """Post a form with the CSRF token of `form_page`; the page it ends on (200 only)."""
    token = csrf_of(client.get(form_page).text)
    response = client.post(action, data={**data, "csrf_token": token})
    assert response.status_code == 200, response.text[:800]
    return response.text
