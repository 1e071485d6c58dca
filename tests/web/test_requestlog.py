"""The request log: one line per request, with the id sent back as X-Request-ID, and no secret."""

import json
import logging
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import FakeClock, auth, make_claim
from web.app import create_app
from web.settings import Settings

LOGGER = "forecast_ledger.requests"
URL = "/api/v1/claims/gen-video-out-of-top-five/forecasts"
COOKIE = "fl_session=a-secret-session-cookie"


@pytest.fixture
def json_client(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    app = create_app(settings.model_copy(update={"log_format": "json"}), clock=clock)
    with TestClient(app) as test_client:
        yield test_client


def _lines(caplog: pytest.LogCaptureFixture, request_id: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == LOGGER and request_id in r.msg]


def _lane_submission(client: TestClient, token: str) -> str:
    """The request id of a submission the fast lane answered (web/fastpath.py)."""
    first = client.post(URL, json={"probability": 0.3}, headers=auth(token))
    assert first.status_code == 201  # FastAPI's lane: it authenticates the token
    assert client.app.state.ctx.lane_tokens  # type: ignore[attr-defined]
    headers = {**auth(token), "Cookie": COOKIE, "Idempotency-Key": "log-test-1"}
    second = client.post(URL, json={"probability": 0.4}, headers=headers)
    assert second.status_code == 201
    return str(second.headers["x-request-id"])


def test_each_request_has_an_id_and_one_text_line(
    client: TestClient, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    health = client.get("/api/v1/health")
    assert health.status_code == 200
    health_id = health.headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{16}", health_id)
    [line] = _lines(caplog, health_id)
    assert re.fullmatch(
        rf"\d{{4}}-\d\d-\d\dT[\d:.]+Z {health_id} GET /api/v1/health 200 [\d.]+ms", line
    )

    make_claim(client, tokens.editor)
    lane_id = _lane_submission(client, tokens.alice)
    [line] = _lines(caplog, lane_id)
    assert f" POST {URL} 201 " in line
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert tokens.alice not in logged and tokens.editor not in logged
    assert "a-secret-session-cookie" not in logged and "log-test-1" not in logged


def test_json_lines_carry_the_same_fields(
    json_client: TestClient, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    health_id = json_client.get("/api/v1/health").headers["x-request-id"]
    make_claim(json_client, tokens.editor)
    lane_id = _lane_submission(json_client, tokens.alice)
    for request_id, method, path, status in (
        (health_id, "GET", "/api/v1/health", 200),
        (lane_id, "POST", URL, 201),
    ):
        [line] = _lines(caplog, request_id)
        record = json.loads(line)
        assert set(record) == {"time", "request_id", "method", "path", "status", "duration_ms"}
        assert (record["request_id"], record["method"], record["path"]) == (
            request_id,
            method,
            path,
        )
        assert record["status"] == status and record["duration_ms"] >= 0
    assert tokens.alice not in caplog.text and "a-secret-session-cookie" not in caplog.text


def test_a_proxys_request_id_is_kept_if_plain(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    kept = client.get("/health", headers={"X-Request-ID": "edge-1234abcd"})
    assert kept.headers["x-request-id"] == "edge-1234abcd"
    assert _lines(caplog, "edge-1234abcd")
    forged = client.get("/health", headers={"X-Request-ID": "forged id; with spaces"})
    assert re.fullmatch(r"[0-9a-f]{16}", forged.headers["x-request-id"])


def test_odd_paths_stay_on_one_line(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    response = client.get("/claims/a%20b%0Aforged%22")
    [line] = _lines(caplog, response.headers["x-request-id"])
    assert "\n" not in line and '"' not in line and " 404 " in line
