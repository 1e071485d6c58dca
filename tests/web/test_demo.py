"""The demo seeds a living ledger once, with claims already scored, and it verifies."""

import re
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from forecasts.archive.verify import verify_database
from tests.factories import FakeClock
from web.db import Database
from web.demo import DEMO_CLAIMS, FORECASTERS, SETTLED_CLAIMS, seed_demo
from web.demo.kind_claims import (
    CHART_OPTIONS,
    CHART_SLUG,
    LIVE_KIND_CLAIMS,
    PRICE_SLUG,
    REVENUE_OUTCOME,
    REVENUE_SLUG,
    VIDEO_SLUG,
)

NOW = datetime(2026, 11, 24, 12, tzinfo=UTC)
SETTLED_SLUGS = [item.spec["slug"] for item in SETTLED_CLAIMS]
KIND_SLUGS = [spec["slug"] for spec in LIVE_KIND_CLAIMS] + [REVENUE_SLUG]


def _seeded(db: Database, clock: FakeClock) -> None:
    clock.set(NOW)
    assert seed_demo(db, now=NOW) is True


def _snapshot(client: TestClient) -> dict[str, Any]:
    """What a reader sees of the record: the head, the claims, the board and the scores."""
    return {
        "head": client.get("/api/v1/ledger/head").json(),
        "claims": client.get("/api/v1/claims?limit=50").json(),
        "board": client.get("/api/v1/leaderboard").json(),
        "scores": [client.get(f"/api/v1/claims/{slug}/scores").json() for slug in SETTLED_SLUGS],
    }


def test_demo_seeds_once_and_verifies(db: Database, client: TestClient, clock: FakeClock) -> None:
    _seeded(db, clock)
    before = _snapshot(client)
    assert seed_demo(db, now=NOW) is False
    assert _snapshot(client) == before  # running it twice changes nothing
    with db.reading() as session:
        report = verify_database(session)
    assert report.problems == [] and report.commitments > 10
    claims = client.get("/api/v1/claims?limit=50").json()["items"]
    made = {spec["slug"] for spec in DEMO_CLAIMS}
    assert {c["slug"] for c in claims} == made | set(SETTLED_SLUGS) | set(KIND_SLUGS)
    assert all(c["source"]["claimant"] == "seed-essay" for c in claims)
    binary = [c for c in claims if c["kind"] == "binary"]
    assert all(c["source"]["stance"] in ("asserts", "denies") for c in binary)
    with_rules = [c for c in claims if c["rules"]]
    assert len(with_rules) >= 4
    history = client.get("/api/v1/claims/gemini-omni-announced-at-io-2026/forecasts").json()
    assert len(history["items"]) == 15  # closed: everyone's imported history is public
    crowded = [c for c in claims if c["crowd_probability"] is not None]
    assert len(crowded) >= 5


def test_settled_demo_claims_are_scored(db: Database, client: TestClient, clock: FakeClock) -> None:
    _seeded(db, clock)
    for item in SETTLED_CLAIMS:
        slug = item.spec["slug"]
        claim = client.get(f"/api/v1/claims/{slug}").json()
        assert (claim["status"], claim["outcome"]) == ("resolved", item.outcome)
        scores = client.get(f"/api/v1/claims/{slug}/scores").json()["items"]
        assert {s["handle"] for s in scores} == {*FORECASTERS, "@crowd"}
        assert all(s["brier"] is not None for s in scores)
        history = client.get(f"/api/v1/claims/{slug}/forecasts").json()["items"]
        assert len(history) >= 3 * len(FORECASTERS)  # several forecasts each
    shut_down = client.get(f"/api/v1/claims/{SETTLED_SLUGS[0]}").json()
    assert shut_down["closed_at"].startswith("2026-04-26")  # settled before its close


def test_demo_leaderboard_has_intervals_and_profiles_calibration(
    db: Database, client: TestClient, clock: FakeClock
) -> None:
    _seeded(db, clock)
    board = {row["handle"]: row for row in client.get("/api/v1/leaderboard").json()["items"]}
    assert set(FORECASTERS) <= set(board)
    for handle in FORECASTERS:
        assert board[handle]["claims_scored"] >= 3
        low, high = board[handle]["mean_brier_ci"]
        assert low <= board[handle]["mean_brier"] <= high
    briers = sorted(board[handle]["mean_brier"] for handle in FORECASTERS)
    assert briers[-1] - briers[0] > 0.2  # skills differ, so the board is worth reading
    profile = client.get("/api/v1/forecasters/ana").json()
    assert sum(cell["count"] for cell in profile["calibration"]) == len(SETTLED_CLAIMS)
    assert profile["murphy"]["count"] == len(SETTLED_CLAIMS)


def test_demo_pages_show_the_resolved_claims(
    db: Database, client: TestClient, clock: FakeClock
) -> None:
    _seeded(db, clock)
    pages = {path: client.get(path) for path in ("/", "/leaderboard", "/forecasters/ana")}
    assert all(response.status_code == 200 for response in pages.values())
    for slug in SETTLED_SLUGS:
        assert f'href="/claims/{slug}"' in pages["/"].text
    assert all(f"/forecasters/{handle}" in pages["/leaderboard"].text for handle in FORECASTERS)
    assert "95% interval" in pages["/leaderboard"].text
    assert '<circle class="dot"' in pages["/forecasters/ana"].text  # the calibration chart
    claim_page = client.get(f"/claims/{SETTLED_SLUGS[0]}").text
    assert "Sora shut down on 26 April 2026." in claim_page and "Brier (0\u20131)" in claim_page


def test_an_earlier_demo_gains_the_settled_claims(
    db: Database, client: TestClient, clock: FakeClock
) -> None:
    # seeded while the essay's outcomes were still unknown: the settled claims wait
    assert seed_demo(db, now=datetime(2026, 5, 20, tzinfo=UTC)) is True
    statuses = {
        c["slug"]: c["status"] for c in client.get("/api/v1/claims?limit=50").json()["items"]
    }
    assert statuses.get(SETTLED_SLUGS[0]) == "resolved"  # known since 26 April
    assert SETTLED_SLUGS[1] not in statuses
    clock.set(NOW)
    assert seed_demo(db, now=NOW) is True
    for slug in SETTLED_SLUGS:
        assert client.get(f"/api/v1/claims/{slug}").json()["status"] == "resolved"
    with db.reading() as session:
        assert verify_database(session).problems == []


def test_demo_claims_of_each_kind_have_forecasts_and_plots(
    db: Database, client: TestClient, clock: FakeClock
) -> None:
    _seeded(db, clock)
    chart = client.get(f"/api/v1/claims/{CHART_SLUG}").json()
    assert chart["kind"] == "multiple_choice" and chart["options"] == CHART_OPTIONS
    assert chart["forecasters"] == len(FORECASTERS)
    assert abs(sum(chart["crowd"].values()) - 1) < 1e-9
    video = client.get(f"/api/v1/claims/{VIDEO_SLUG}").json()
    assert video["kind"] == "date" and video["forecasters"] == len(FORECASTERS)
    assert video["crowd"]["quantiles"]["0.5"].startswith("2027-")
    page = client.get(f"/claims/{CHART_SLUG}").text
    assert page.count('<rect class="crowd"') == len(CHART_OPTIONS)
    page = client.get(f"/claims/{VIDEO_SLUG}").text
    assert '<polygon class="crowd"' in page and "Crowd median" in page
    assert "ana" not in page  # open: nobody's forecast is named
    revenue = client.get(f"/api/v1/claims/{REVENUE_SLUG}").json()
    assert (revenue["status"], revenue["outcome"]) == ("resolved", REVENUE_OUTCOME)
    scores = client.get(f"/api/v1/claims/{REVENUE_SLUG}/scores").json()["items"]
    assert {s["handle"] for s in scores} == {*FORECASTERS, "@crowd"}
    assert all(s["crps"] is not None and s["brier"] is None for s in scores)
    page = client.get(f"/claims/{REVENUE_SLUG}").text
    assert "Outcome</dt><dd>2.1M USD" in page and "logarithmic" in page
    assert "CRPS (0\u20131)" in page and "Brier (0\u20131)" not in page
    assert "All forecasts" in page and "median" in page  # resolved: everyone's are shown
    index = client.get("/").text  # lists show the likeliest option, or the median
    options = "|".join(CHART_OPTIONS)
    assert re.search(rf'kind-crowd"><span class="value">({options}) \d+%', index)
    assert re.search(r'kind-crowd"><span class="value">median \d+ \w+ 20\d\d', index)
    assert seed_demo(db, now=NOW) is False  # all there: nothing is added twice
    assert client.get(f"/api/v1/claims/{CHART_SLUG}").json()["forecasters"] == len(FORECASTERS)


def test_the_essay_is_a_claimant_with_a_record_on_first_run(
    db: Database, client: TestClient, clock: FakeClock
) -> None:
    _seeded(db, clock)
    essay = client.get("/api/v1/claimants/seed-essay").json()
    assert essay["kind"] == "publication"
    # the four Sora claims the essay itself decided, all on the essay's side
    assert essay["claims_resolved"] == 4 and essay["hit_rate"] == 1.0
    assert essay["mean_consensus"] is not None and essay["yield"] is not None
    listed = {claim["claim"]: claim for claim in essay["claims"]}
    assert set(listed) == {spec["slug"] for spec in DEMO_CLAIMS} | set(SETTLED_SLUGS) | set(
        KIND_SLUGS
    )
    assert listed[CHART_SLUG]["option"] == "A standalone generative-video app"
    assert listed["sora-lifetime-revenue-above-5m"]["stance"] == "denies"
    assert listed["sora-lifetime-revenue-above-5m"]["hit"] is True
    board = client.get("/api/v1/claimants").json()["items"]
    assert board[0]["slug"] == "seed-essay"


def test_a_visitor_finds_an_open_claim_of_every_kind(
    db: Database, client: TestClient, clock: FakeClock
) -> None:
    _seeded(db, clock)
    listed = client.get("/api/v1/claims", params={"status": "open", "limit": 50}).json()
    assert {c["kind"] for c in listed["items"]} == {"binary", "numeric", "date", "multiple_choice"}
    price = client.get(f"/api/v1/claims/{PRICE_SLUG}").json()
    assert (price["kind"], price["unit"], price["forecasters"]) == ("numeric", "USD", 5)
    assert 0.1 < price["crowd"]["quantiles"]["0.5"] < 10  # dollars a minute
    page = client.get(f"/claims/{PRICE_SLUG}").text
    assert '<polygon class="crowd"' in page and "Crowd median" in page
