"""The resolution flow on the pages: proposals, evidence, a dispute and the editors' queue."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from claims.fetch import FetchPolicy, parse_allow_list
from forecasts.accounts.service import create_account
from forecasts.resolution.autoresolve import ResolutionPolicy, run_due_rules
from tests.claims.evidence_server import EvidenceServer
from tests.factories import T0, FakeClock, make_domain_claim
from tests.web.pages.conftest import PASSWORD, csrf_of, sign_in
from web.app import create_app
from web.db import Database
from web.settings import Settings

POLICY = ResolutionPolicy(fetch=FetchPolicy(allow=parse_allow_list("127.0.0.1/32"), timeout=2.5))
CLOSES = T0 + timedelta(days=10)
YES = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"


@pytest.fixture
def desk(database_url: str, db: Database) -> Iterator[tuple[TestClient, FakeClock]]:
    clock = FakeClock(now=T0)
    with db.writing() as session:
        create_account(session, "maria", role="editor", now=T0, password=PASSWORD)
        create_account(session, "fran", role="forecaster", now=T0, password=PASSWORD)
    settings = Settings(database_url=database_url, rate_limit=0, secret_key="k")
    with TestClient(create_app(settings, clock=clock, migrate=False)) as client:
        yield client, clock


def _claim(db: Database, server: EvidenceServer, slug: str, path: str, expression: str) -> None:
    rule = {"url": server.url(path), "format": "json", "expression": expression}
    make_domain_claim(db, slug=slug, closes_at=CLOSES, resolves_at=CLOSES, rules=[rule])


def test_proposal_evidence_dispute_and_queue(
    desk: tuple[TestClient, FakeClock], db: Database, server: EvidenceServer
) -> None:
    client, clock = desk
    _claim(db, server, "sora-top-five", "/appstore/v2.json", YES)
    _claim(db, server, "broken-feed", "/error/500", YES)
    sign_in(client, "fran")  # who forecasts, and so may dispute
    html = client.get("/claims/sora-top-five").text
    forecast = {"percent": "20", "csrf_token": csrf_of(html)}
    assert "is recorded" in client.post("/claims/sora-top-five/forecast", data=forecast).text
    clock.set(CLOSES + timedelta(minutes=1))
    for _ in range(3):  # the broken one fails three times and reaches the queue
        run_due_rules(db.write_engine, clock, POLICY)
        clock.advance(hours=5)

    html = client.get("/claims/sora-top-five").text
    assert "The rules propose <strong>yes</strong>" in html
    assert "Evidence snapshots" in html and "/evidence/" not in html  # 127.0.0.1: editors'
    assert "withheld: fetched from a non-public address" in html
    assert "resolution proposed" in html
    response = client.post(
        "/claims/sora-top-five/dispute",
        data={"note": "The chart was <b>stale</b>", "csrf_token": csrf_of(html)},
    )
    assert "Dispute sent" in response.text and "resolution disputed" in response.text

    client.post("/signout", data={"csrf_token": csrf_of(response.text)})
    sign_in(client, "maria")
    assert "/evidence/" in client.get("/claims/sora-top-five").text
    queue = client.get("/desk").text
    assert "status-dispute" in queue and "The chart was &lt;b&gt;stale&lt;/b&gt;" in queue
    assert "status-failing" in queue and "3 failed fetches" in queue
    # a disputed proposal does not become final when its window ends: an editor decides
    assert "disputed: waits for an editor" in queue and ", final" not in queue
    form = client.get("/desk/claims/sora-top-five").text
    assert "a forecaster disputed it" in form and 'value="yes" required checked' in form
    broken = client.get("/desk/claims/broken-feed").text
    assert "3 failures in a row" in broken
    response = client.post(
        "/desk/claims/sora-top-five/resolve",
        data={"outcome": "no", "note": "Upheld the dispute.", "csrf_token": csrf_of(form)},
    )
    assert "Settled: no" in response.text
    assert "status-dispute" not in client.get("/desk").text


def test_an_editor_rejects_an_early_yes_on_the_desk(
    desk: tuple[TestClient, FakeClock], db: Database, server: EvidenceServer
) -> None:
    client, clock = desk
    rule = {"url": server.url("/appstore/v2.json"), "format": "json", "expression": YES}
    make_domain_claim(
        db,
        slug="early",
        closes_at=CLOSES,
        resolves_at=CLOSES,
        rules=[{**rule, "yes_early": True}],
    )
    clock.advance(days=1)
    assert run_due_rules(db.write_engine, clock, POLICY).proposed == 1
    sign_in(client, "maria")
    form = client.get("/desk/claims/early").text
    assert "Reject and reopen" in form
    refused = client.post(
        "/desk/claims/early/reopen", data={"note": "x" * 20_001, "csrf_token": csrf_of(form)}
    )
    assert "Not reopened: Note: string should have at most 20000 characters." in refused.text
    response = client.post(
        "/desk/claims/early/reopen",
        data={"note": "The chart was <b>cached</b>.", "csrf_token": csrf_of(form)},
    )
    assert "Reopened: the claim takes forecasts again" in response.text
    assert "claim reopened" in response.text  # the ledger entry, on the claim's page
    assert "Reject and reopen" not in client.get("/desk/claims/early").text
    again = client.post("/desk/claims/early/reopen", data={"csrf_token": csrf_of(form)})
    assert "Not reopened: only a claim with a proposed outcome" in again.text
