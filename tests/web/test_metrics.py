"""`/metrics`: Prometheus text that counts what happened, for allowed peers only."""

import asyncio
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from claims.fetch import fetch
from tests.conftest import Tokens
from tests.e2e.conftest import free_port
from tests.factories import FakeClock, auth, make_claim
from web.app import create_app
from web.metrics import counted
from web.policy import resolution_policy
from web.settings import Settings

URL = "/api/v1/claims/gen-video-out-of-top-five/forecasts"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
def allowed(settings: Settings, clock: FakeClock) -> Iterator[TestClient]:
    """A client whose peer address, 127.0.0.1, is inside FORECAST_LEDGER_METRICS_ALLOW."""
    app = create_app(
        settings.model_copy(update={"metrics_allow": "10.0.0.0/8,127.0.0.1/32"}), clock=clock
    )
    with TestClient(app, client=("127.0.0.1", 40000)) as test_client:
        yield test_client


def scrape(client: TestClient) -> Samples:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_count_requests_submissions_and_batches(
    allowed: TestClient, tokens: Tokens
) -> None:
    make_claim(allowed, tokens.editor)
    health = {"method": "GET", "route": "/api/v1/health", "status": "200"}
    submitted = {"method": "POST", "route": "/api/v1/claims/{slug}/forecasts", "status": "201"}
    before = scrape(allowed)
    for _ in range(3):
        assert allowed.get("/api/v1/health").status_code == 200
    for probability in (0.2, 0.3):  # FastAPI's lane, then the fast lane
        response = allowed.post(URL, json={"probability": probability}, headers=auth(tokens.bob))
        assert response.status_code == 201
    assert allowed.get("/api/v1/claims/no-such-claim").status_code == 404
    after = scrape(allowed)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("forecast_ledger_http_request_duration_seconds_count", **health) == 3
    assert delta("forecast_ledger_http_request_duration_seconds_bucket", le="+Inf", **health) == 3
    assert delta("forecast_ledger_http_request_duration_seconds_count", **submitted) == 2
    missing = {"method": "GET", "route": "/api/v1/claims/{slug}", "status": "404"}
    assert delta("forecast_ledger_http_request_duration_seconds_count", **missing) == 1
    assert delta("forecast_ledger_submissions_total", action="submit", status="201") == 2
    assert delta("forecast_ledger_group_commit_batch_size_count") == 2
    assert delta("forecast_ledger_group_commit_batch_size_sum") == 2


def test_metrics_are_a_404_unless_the_peer_is_allowed(
    client: TestClient, settings: Settings
) -> None:
    assert client.get("/metrics").status_code == 404  # METRICS_ALLOW empty: the default
    app = create_app(settings.model_copy(update={"metrics_allow": "127.0.0.1/32"}))
    with TestClient(app, client=("10.1.2.3", 40000)) as outside:
        response = outside.get("/metrics")
        assert response.status_code == 404
        assert "forecast_ledger" not in response.text
    with TestClient(app, client=("::ffff:127.0.0.1", 40000)) as mapped:
        assert mapped.get("/metrics").status_code == 200


def test_jobs_and_evidence_fetches_are_counted(allowed: TestClient, settings: Settings) -> None:
    def broken() -> object:
        raise RuntimeError("the job failed")

    before = scrape(allowed)
    assert counted("close_due_claims", lambda: 0)() == 0
    with pytest.raises(RuntimeError):
        counted("run_due_rules", broken)()
    policy = resolution_policy(settings.model_copy(update={"fetch_allow": "127.0.0.1/32"}))
    result = asyncio.run(fetch(f"http://127.0.0.1:{free_port()}/feed.json", policy.fetch))
    assert not result.ok  # nothing listens there
    after = scrape(allowed)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("forecast_ledger_job_runs_total", job="close_due_claims") == 1
    assert delta("forecast_ledger_job_failures_total", job="close_due_claims") == 0
    assert delta("forecast_ledger_job_runs_total", job="run_due_rules") == 1
    assert delta("forecast_ledger_job_failures_total", job="run_due_rules") == 1
    assert delta("forecast_ledger_evidence_fetches_total", outcome="error", status="none") == 1
