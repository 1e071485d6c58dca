"""The demo seeds a living ledger once, and it verifies."""

from datetime import UTC, datetime

from fastapi.testclient import TestClient

from forecasts.verify import verify_database
from tests.factories import FakeClock
from web.db import Database
from web.demo import DEMO_CLAIMS, seed_demo


def test_demo_seeds_once_and_verifies(db: Database, client: TestClient, clock: FakeClock) -> None:
    now = datetime(2026, 11, 24, 12, tzinfo=UTC)
    clock.set(now)
    assert seed_demo(db, now=now) is True
    assert seed_demo(db, now=now) is False
    with db.reading() as session:
        report = verify_database(session)
    assert report.problems == [] and report.commitments > 10
    claims = client.get("/api/v1/claims?limit=50").json()["items"]
    assert {c["slug"] for c in claims} == {spec["slug"] for spec in DEMO_CLAIMS}
    with_rules = [c for c in claims if c["rules"]]
    assert len(with_rules) >= 4
    history = client.get("/api/v1/claims/gemini-omni-announced-at-io-2026/forecasts").json()
    assert len(history["items"]) == 15  # closed: everyone's imported history is public
    crowded = [c for c in claims if c["crowd_probability"] is not None]
    assert len(crowded) >= 5
