"""The account page lists the account's webhooks, and says when one was disabled for failing."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import update

from forecasts.accounts.service import get_account, issue_token
from forecasts.notify.models import Webhook
from tests.factories import auth
from tests.web.pages.conftest import sign_in
from web.db import Database


def test_a_webhook_disabled_for_failing_shows_on_the_account_page(
    site: TestClient, db: Database
) -> None:
    sign_in(site, "maria")
    now = site.app.state.ctx.clock()  # type: ignore[attr-defined]
    with db.writing() as session:
        token = issue_token(session, get_account(session, "maria"), now=now)
    body = {"url": "https://93.184.216.34/hook", "events": ["claim.published"]}
    made = site.post("/api/v1/me/webhooks", json=body, headers=auth(token))
    assert made.status_code == 201, made.text
    page = site.get("/account").text
    assert "https://93.184.216.34/hook" in page and "active" in page
    with db.writing() as session:  # as the worker leaves it after 72 h of failures
        since = now - timedelta(hours=73)
        session.execute(
            update(Webhook)
            .where(Webhook.id == made.json()["id"])  # type: ignore[arg-type]
            .values(active=False, disabled_at=since, disabled_reason="failing", failing_since=since)
        )
        session.commit()
    assert "failing since" in site.get("/account").text
