"""Prometheus metrics (prometheus-client) and `GET /metrics` for the addresses allowed to read it.

With several processes behind one socket (`serve --workers N`) each process writes its values
to files in `PROMETHEUS_MULTIPROC_DIR` and a scrape sums them all, the library's multi-process
mode. Which mode applies is decided when prometheus-client is first imported, so `serve` sets
the directory up before anything imports this module (see `web.cli.serve`). Domain code counts
nothing: the group committer, the fetch policy and the scheduler's jobs take plain callbacks,
which this module supplies.
"""

import ipaddress
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)

from claims.fetch import FetchResult, parse_allow_list

MULTIPROCESS = values.ValueClass is not values.MutexValue

# its `_count` is the number of requests: one histogram, not a counter beside it, because each
# observation costs a locked write per value in multi-process mode, on every request
REQUESTS = Histogram(
    "forecast_ledger_http_request_duration_seconds",
    "HTTP requests answered (_count) and their time from arrival to the end of the answer, "
    "by method, route template and status",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SUBMISSIONS = Counter(
    "forecast_ledger_submissions_total",
    "Forecast submissions and withdrawals decided, by action and status",
    ["action", "status"],
)
BATCH_SIZE = Histogram(
    "forecast_ledger_group_commit_batch_size",
    "Submissions stored per group-commit transaction",
    buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256),
)
JOB_RUNS = Counter("forecast_ledger_job_runs_total", "Scheduled job runs", ["job"])
JOB_FAILURES = Counter(
    "forecast_ledger_job_failures_total", "Scheduled job runs that raised", ["job"]
)
FETCHES = Counter(
    "forecast_ledger_evidence_fetches_total",
    "Evidence fetches, by outcome (ok or error) and HTTP status class (none: no answer)",
    ["outcome", "status"],
)

# labelled children by label values: `labels()` takes a lock and builds a key every call
_request_children: dict[tuple[str, str, int], Any] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    key = (method, route, status)
    child = _request_children.get(key)
    if child is None:
        child = _request_children[key] = REQUESTS.labels(method, route, str(status))
    child.observe(seconds)


def observe_submission(action: str, status: int) -> None:
    SUBMISSIONS.labels(action, str(status)).inc()


def observe_batch(size: int) -> None:
    BATCH_SIZE.observe(size)


def observe_fetch(result: FetchResult) -> None:
    status = f"{result.status // 100}xx" if result.status is not None else "none"
    FETCHES.labels("ok" if result.ok else "error", status).inc()


def counted(name: str, job: Callable[[], object]) -> Callable[[], object]:
    """`job`, counting its runs and the runs that raise (the exception goes on)."""

    def run() -> object:
        JOB_RUNS.labels(name).inc()
        try:
            return job()
        except Exception:
            JOB_FAILURES.labels(name).inc()
            raise

    return run


def exposition() -> bytes:
    """Every metric in the text format: this process's, or all processes' in the directory."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)


def router(allow: str) -> APIRouter:
    """`GET /metrics` for peers inside `allow` (CIDRs); a 404 for everyone else."""
    networks = parse_allow_list(allow)
    routes = APIRouter()

    @routes.get("/metrics", include_in_schema=False)
    def metrics(request: Request) -> Response:
        if not _allowed(request.client.host if request.client else "", networks):
            raise HTTPException(404, "Not Found")
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return routes


def _allowed(host: str, networks: tuple[Any, ...]) -> bool:
    try:
        address = ipaddress.ip_address(host)
    except ValueError:  # not an IP address (a unix socket, a test client): never allowed
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in networks)
