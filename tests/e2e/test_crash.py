"""Crash test: concurrent clients keep submitting while the server is killed and restarted.

Sixteen loopback clients submit forecasts with Idempotency-Keys; the server is killed with
SIGKILL four times mid-traffic and started again. A client retries a submission (same key,
same body) on a connection error or a 5xx until it is acknowledged. Afterwards every
acknowledged forecast is stored exactly once with the probability that was sent, replays
return the same ids, and `forecast-ledger verify` passes.
"""

import os
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import run_command, start_server
from tests.factories import make_account, make_domain_claim
from web.db import Database

CLIENTS = 16
PER_CLIENT = 38  # 608 submissions
KILLS = 4
DEADLINE = 60.0  # seconds for the whole run
MAX_ATTEMPTS = 400  # per submission
SLUGS = ("crash-claim-a", "crash-claim-b")


@dataclass
class Server:
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> None:
        process, url = start_server(self.env, self.log, "--no-scheduler")
        with self.lock:
            self.process, self.url = process, url

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def current(self) -> str:
        with self.lock:
            return self.url


@dataclass
class Tally:
    acked: dict[str, tuple[float, int, str]] = field(default_factory=dict)  # key -> p, seq, slug
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self) -> int:
        with self.lock:
            return len(self.acked)


def _probability(client: int, n: int) -> float:
    return round(0.01 + ((client * 37 + n * 11) % 980) / 1000, 3)


def _submit_all(
    server: Server, token: str, client_no: int, tally: Tally, stop_at: float
) -> list[str]:
    """One client's submissions; returns what went wrong (nothing, if all is well)."""
    problems: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(timeout=10) as http:
        for n in range(PER_CLIENT):
            key = f"crash-{client_no}-{n}"
            slug = SLUGS[n % 2]
            p = _probability(client_no, n)
            for _attempt in range(MAX_ATTEMPTS):
                if time.monotonic() > stop_at:
                    return [*problems, f"{key}: out of time"]
                try:
                    response = http.post(
                        f"{server.current()}/api/v1/claims/{slug}/forecasts",
                        json={"probability": p},
                        headers={**headers, "Idempotency-Key": key},
                    )
                except httpx.TransportError:
                    response = None
                in_flight = response is not None and response.status_code == 409
                if response is None or response.status_code >= 500 or in_flight:
                    with tally.lock:
                        tally.retries += 1
                    time.sleep(0.1)
                    continue
                if response.status_code != 201:
                    problems.append(f"{key}: {response.status_code} {response.text}")
                    break
                body = response.json()
                with tally.lock:
                    tally.acked[key] = (p, int(body["ledger_seq"]), slug)
                if body["probability"] != p or body["claim"] != slug:
                    problems.append(f"{key}: acknowledged {body}")
                break
            else:
                problems.append(f"{key}: never acknowledged")
    return problems


@pytest.mark.slow
def test_acknowledged_forecasts_survive_sigkill(tmp_path: Path, database_url: str) -> None:
    db = Database(database_url)
    now = datetime.now(UTC)
    try:
        for slug in SLUGS:
            make_domain_claim(db, slug=slug, now=now, closes_at=now + timedelta(days=1))
        tokens = [make_account(db, handle=f"crash-{i}") for i in range(CLIENTS)]
    finally:
        db.dispose()
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_RATE_LIMIT": "0",
    }
    server = Server(env, tmp_path / "serve.log")
    server.start()
    started = time.monotonic()
    stop_at = started + DEADLINE
    tally = Tally()
    problems: list[str] = []
    results: list[list[str]] = [[] for _ in range(CLIENTS)]

    def run(i: int) -> None:
        results[i] = _submit_all(server, tokens[i], i, tally, stop_at)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    total = CLIENTS * PER_CLIENT
    kills = 0
    try:
        for k in range(1, KILLS + 1):
            # kill mid-traffic: once a k-th share of the submissions is acknowledged
            while tally.count() < total * k // (KILLS + 1) and time.monotonic() < stop_at:
                time.sleep(0.005)
            server.kill()
            kills += 1
            server.start()
        for thread in threads:
            thread.join(timeout=max(1.0, stop_at - time.monotonic()))
        elapsed = time.monotonic() - started
        for result in results:
            problems.extend(result)
        assert not problems, problems[:10]
        assert all(not thread.is_alive() for thread in threads)
        assert tally.count() == total

        # replays give the original answers
        with httpx.Client(timeout=10) as http:
            for i, token in enumerate(tokens):
                for n in range(0, PER_CLIENT, 5):
                    key = f"crash-{i}-{n}"
                    p, seq, slug = tally.acked[key]
                    replay = http.post(
                        f"{server.current()}/api/v1/claims/{slug}/forecasts",
                        json={"probability": p},
                        headers={"Authorization": f"Bearer {token}", "Idempotency-Key": key},
                    )
                    assert replay.status_code == 201 and replay.json()["id"] == seq, key
    finally:
        assert server.process is not None
        server.process.terminate()
        server.process.wait(timeout=10)

    # exactly once, with the probability sent
    db = Database(database_url)
    try:
        with db.read_engine.connect() as conn:
            stored = {
                int(seq): p
                for seq, p in conn.exec_driver_sql(
                    "SELECT ledger_seq, probability FROM forecasts WHERE imported = false"
                )
            }
            keys = conn.exec_driver_sql("SELECT count(*) FROM idempotency_keys").scalar()
    finally:
        db.dispose()
    acked = {seq: p for p, seq, _ in tally.acked.values()}
    assert len(acked) == total, "two acknowledgements share a ledger seq"
    assert len(stored) == total and keys == total, "a forecast was lost or stored twice"
    assert all(stored.get(seq) == p for seq, p in acked.items())
    verify = server_cli(env, "verify")
    assert verify.returncode == 0, verify.stdout + verify.stderr
    lost = total - sum(1 for seq in acked if seq in stored)
    print(
        f"\ncrash test: {CLIENTS} clients, {total} submissions acknowledged, "
        f"{kills} SIGKILLs survived, {tally.retries} retries, lost: {lost}, "
        f"stored twice: {len(stored) - len(acked)}, {elapsed:.1f} s; verify: "
        f"{verify.stdout.strip()}"
    )


def server_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return run_command(*args, env=env)
