"""Four `serve` and two `worker` processes on one database: one chain, nothing twice."""

import json
import os
import subprocess
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from itertools import cycle
from pathlib import Path

import httpx
import pytest

from claims.clock import utc_now
from tests.claims.evidence_server import EvidenceServer
from tests.e2e.conftest import BIN, start_server
from tests.factories import make_account, make_domain_claim
from web.db import Database

YES = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"
RULED = 8
SUBMISSIONS = 320


@pytest.fixture
def evidence() -> Iterator[EvidenceServer]:
    server = EvidenceServer("127.0.0.1")
    server.start()
    yield server
    server.stop()


def test_four_servers_two_workers_one_chain(
    tmp_path: Path, database_url: str, evidence: EvidenceServer
) -> None:
    db = Database(database_url)
    now = utc_now()
    make_domain_claim(db, slug="target", now=now, closes_at=now + timedelta(days=30))
    rule = {
        "url": evidence.url("/appstore/v2.json"),
        "format": "json",
        "expression": YES,
        "yes_early": True,
    }
    for index in range(RULED):
        make_domain_claim(
            db, slug=f"ruled-{index}", now=now, closes_at=now + timedelta(days=30), rules=[rule]
        )
    tokens = [make_account(db, handle=f"f{index}") for index in range(16)]
    db.dispose()
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_FETCH_ALLOW": "127.0.0.1/32",
        "FORECAST_LEDGER_CHALLENGE_WINDOW": "0",
        "FORECAST_LEDGER_RATE_LIMIT": "0",
        "FORECAST_LEDGER_JOB_INTERVAL": "0.5",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with ThreadPoolExecutor(4) as pool:
            futures = [
                pool.submit(start_server, env, tmp_path / f"serve-{i}.log", "--no-scheduler")
                for i in range(4)
            ]
        started = [future.result() for future in futures if future.exception() is None]
        processes += [process for process, _ in started]
        assert len(started) == 4, [str(f.exception()) for f in futures if f.exception()]
        urls = [url for _, url in started]
        with (tmp_path / "workers.log").open("ab") as log:
            processes += [
                subprocess.Popen(
                    [str(BIN / "forecast-ledger"), "worker"], env=env, stdout=log, stderr=log
                )
                for _ in range(2)
            ]
        http = httpx.Client(timeout=60)
        targets = list(zip(range(SUBMISSIONS), cycle(urls), strict=False))

        def submit(item: tuple[int, str]) -> int:
            index, url = item
            response = http.post(
                f"{url}/api/v1/claims/target/forecasts",
                json={"probability": round(0.05 + (index % 90) / 100, 2)},
                headers={
                    "Authorization": f"Bearer {tokens[index % len(tokens)]}",
                    "Idempotency-Key": f"m-{index}",
                },
            )
            return response.status_code

        with ThreadPoolExecutor(32) as pool:
            statuses = list(pool.map(submit, targets))
        assert Counter(statuses) == {201: SUBMISSIONS}
        resolved = _wait_until_resolved(http, urls[0], [f"ruled-{i}" for i in range(RULED)])
        assert resolved, "the workers did not resolve every claim in time"
        http.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:  # a worker first finishes the job it runs (a rule's judging: up to its
                # 5 s deadline) and its deliveries under way (10 s): slow on a busy machine
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()  # leave no process behind for a later test to trip over
                process.wait()
                raise

    db = Database(database_url)
    with db.read_engine.connect() as conn:
        stored = conn.exec_driver_sql("SELECT count(*) FROM forecasts").scalar()
        rows = conn.exec_driver_sql("SELECT kind, payload FROM ledger_entries").all()
    db.dispose()
    assert stored == SUBMISSIONS
    proposed = Counter(json.loads(p)["claim"] for k, p in rows if k == "resolution_proposed")
    finalised = Counter(json.loads(p)["claim"] for k, p in rows if k == "resolution_finalised")
    every = {f"ruled-{index}": 1 for index in range(RULED)}
    assert proposed == finalised == every
    verified = subprocess.run(
        [str(BIN / "forecast-ledger"), "verify"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout


def _wait_until_resolved(http: httpx.Client, url: str, slugs: list[str]) -> bool:
    import time

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        states = {http.get(f"{url}/api/v1/claims/{slug}").json()["status"] for slug in slugs}
        if states == {"resolved"}:
            return True
        time.sleep(0.5)
    return False
