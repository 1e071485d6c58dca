"""Real `serve` processes: the request log on stderr, and /metrics summed over processes."""

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from claims.clock import utc_now
from tests.e2e.conftest import start_server
from tests.factories import auth, make_account, make_domain_claim
from web.db import Database

SLUG = "operator-claim"
COUNT = "forecast_ledger_http_request_duration_seconds_count"  # requests answered
HEALTH = {"method": "GET", "route": "/api/v1/health", "status": "200"}


@contextmanager
def serving(env: dict[str, str], log: Path, *extra: str) -> Iterator[str]:
    process, url = start_server(env, log, "--no-scheduler", *extra)
    try:
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def health_count(url: str) -> float:
    response = httpx.get(f"{url}/metrics", timeout=10)
    assert response.status_code == 200
    return sum(
        sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
        if sample.name == COUNT and sample.labels == HEALTH
    )


def test_serve_logs_json_lines_without_secrets(tmp_path: Path, database_url: str) -> None:
    db = Database(database_url)
    now = utc_now()
    make_domain_claim(db, slug=SLUG, now=now, closes_at=now + timedelta(days=30))
    token = make_account(db, handle="opal")
    db.dispose()
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_LOG_FORMAT": "json",
    }
    log = tmp_path / "serve.log"
    with serving(env, log) as url, httpx.Client(base_url=url, timeout=10) as client:
        health = client.get("/api/v1/health")
        path = f"/api/v1/claims/{SLUG}/forecasts"
        headers = {**auth(token), "Cookie": "fl_session=secret-cookie-value"}
        answers = [client.post(path, json={"probability": p}, headers=headers) for p in (0.3, 0.4)]
    assert health.status_code == 200 and [a.status_code for a in answers] == [201, 201]
    text = log.read_text()
    records = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    by_id = {record["request_id"]: record for record in records}
    assert by_id[health.headers["x-request-id"]]["path"] == "/api/v1/health"
    for answer in answers:  # the second went through the fast lane
        record = by_id[answer.headers["x-request-id"]]
        assert (record["method"], record["path"], record["status"]) == ("POST", path, 201)
    assert token not in text and "secret-cookie-value" not in text


def test_metrics_sum_every_process_sharing_the_directory(tmp_path: Path, database_url: str) -> None:
    """Two serves (one of them with two uvicorn workers) on one PROMETHEUS_MULTIPROC_DIR: a
    scrape of either counts the requests all of them answered."""
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_METRICS_ALLOW": "127.0.0.1/32",
        "PROMETHEUS_MULTIPROC_DIR": str(shared),
    }
    with (
        serving(env, tmp_path / "a.log", "--workers", "2") as first,
        serving(env, tmp_path / "b.log") as second,
    ):
        before = health_count(first)
        for url, times in ((first, 3), (second, 4)):
            for _ in range(times):  # a new connection each: either of first's workers
                assert httpx.get(f"{url}/api/v1/health", timeout=10).status_code == 200
        assert health_count(first) - before == 7
        assert health_count(second) - before == 7
    assert len({path.name.split("_")[-1] for path in shared.glob("*.db")}) >= 2


def test_serve_with_workers_makes_and_removes_its_metrics_directory(
    tmp_path: Path, database_url: str
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"},
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_METRICS_ALLOW": "127.0.0.1/32",
        "TMPDIR": str(tmp_path),
    }
    with serving(env, tmp_path / "serve.log", "--workers", "2") as url:
        made = list(tmp_path.glob("forecast-ledger-metrics-*"))
        assert len(made) == 1
        before = health_count(url)
        for _ in range(6):  # a new connection each: either worker
            assert httpx.get(f"{url}/api/v1/health", timeout=10).status_code == 200
        assert health_count(url) - before == 6
    assert not made[0].exists()
