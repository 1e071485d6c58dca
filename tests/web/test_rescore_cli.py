"""`forecast-ledger rescore` rebuilds the scores and totals from the record."""

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from typer.testing import CliRunner

from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from web.cli import app
from web.db import Database
from web.settings import get_settings


def _resolved_claim(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, slug="c1", opens_at=T0, closes_at=T0 + timedelta(days=10))
    for token, p in ((tokens.alice, 0.7), (tokens.bob, 0.2)):
        clock.advance(days=1)
        response = client.post(
            "/api/v1/claims/c1/forecasts", json={"probability": p}, headers=auth(token)
        )
        assert response.status_code == 201
    clock.set(T0 + timedelta(days=11))
    response = client.post(
        "/api/v1/claims/c1/resolution", json={"outcome": "yes"}, headers=auth(tokens.editor)
    )
    assert response.status_code == 200


@pytest.mark.parametrize("workers", ["1", "2"])
def test_rescore_rebuilds_scores_and_totals(
    workers: str,
    client: TestClient,
    clock: FakeClock,
    db: Database,
    database_url: str,
    tokens: Tokens,
) -> None:
    _resolved_claim(client, clock, tokens)
    before = client.get("/api/v1/claims/c1/scores").json()["items"]
    board = client.get("/api/v1/leaderboard").json()["items"]
    with db.write_engine.begin() as conn:  # lose the derived data
        conn.execute(text("DELETE FROM scores"))
        conn.execute(text("DELETE FROM forecaster_totals"))
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            ["rescore", "--workers", workers],
            env={"FORECAST_LEDGER_DATABASE_URL": database_url},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "rescored 1 claims: 3 score rows, 3 handles" in result.output
    assert client.get("/api/v1/claims/c1/scores").json()["items"] == before
    assert client.get("/api/v1/leaderboard").json()["items"] == board
