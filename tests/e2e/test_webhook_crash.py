"""Crash test of the delivery worker: `forecast-ledger worker` is killed with SIGKILL in the
middle of deliveries, several times, while events keep being written.

Afterwards every delivery is delivered, the receiver saw every delivery id, a repeated id
always came with the same body (receivers deduplicate on it), and the event of a change
that rolled back was never sent.
"""

import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from claims.clock import utc_now
from claims.fetch import FetchPolicy, parse_allow_list
from forecasts.notify.events import EventName, emit
from forecasts.notify.webhooks import create_webhook
from tests.e2e.conftest import BIN
from tests.factories import make_account, make_domain_claim
from tests.forecasts.notify.receiver import Receiver
from web.db import Database

WEBHOOKS = 6
CLAIMS = 40  # events written while the worker is killed and restarted
KILLS = 3
DEADLINE = 120.0  # seconds for everything to arrive after the last restart
ALLOW = "127.0.0.1/32"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.stop()


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as sink:
        return subprocess.Popen(
            [str(BIN / "forecast-ledger"), "worker"], env=env, stdout=sink, stderr=sink
        )


def _rows(db: Database, sql: str) -> list[tuple[object, ...]]:
    with db.read_engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(sql))]


@pytest.mark.slow
def test_deliveries_survive_sigkill(tmp_path: Path, database_url: str, receiver: Receiver) -> None:
    db = Database(database_url)
    try:
        _run(tmp_path, database_url, db, receiver)
    finally:
        db.dispose()


def _run(tmp_path: Path, database_url: str, db: Database, receiver: Receiver) -> None:
    now = utc_now()
    make_account(db, handle="bot", now=now)
    policy = FetchPolicy(allow=parse_allow_list(ALLOW))
    with db.writing() as session:
        account_id = session.execute(text("SELECT id FROM accounts")).scalar_one()
        for n in range(WEBHOOKS):
            path = f"/slow/hook-{n}"
            hook = create_webhook(
                session,
                account_id,
                receiver.url(path),
                [EventName.CLAIM_PUBLISHED],
                now=now,
                policy=policy,
            )
            receiver.secrets[path] = hook.secret
    with db.writing() as session:  # a change that rolls back: its event must never go out
        emit(session, EventName.CLAIM_PUBLISHED, {"claim": "rolled-back"}, at=now)
        session.rollback()
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_FETCH_ALLOW": ALLOW,
        "FORECAST_LEDGER_JOB_INTERVAL": "0.2",
    }
    log = tmp_path / "worker.log"
    writer = threading.Thread(target=_write_claims, args=(db,), daemon=True)
    worker = _worker(env, log)
    writer.start()
    try:
        for _ in range(KILLS):
            receiver.wait_for(len(receiver.received) + 5, timeout=60)  # mid-delivery
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            worker = _worker(env, log)
        writer.join(60)
        expected = CLAIMS * WEBHOOKS
        deadline = time.monotonic() + DEADLINE
        while time.monotonic() < deadline:
            done = _rows(db, "SELECT count(*) FROM deliveries WHERE status = 'delivered'")
            if done[0][0] == expected:
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=30)
    deliveries = _rows(db, "SELECT id, status FROM deliveries")
    assert len(deliveries) == expected and {s for _, s in deliveries} == {"delivered"}, (
        log.read_text()[-3000:]
    )
    got = receiver.received
    assert all(r.verified for r in got)
    bodies: dict[str, bytes] = {}
    for r in got:
        assert bodies.setdefault(r.json["id"], r.body) == r.body  # a duplicate is the same delivery
    assert set(bodies) == {str(d) for d, _ in deliveries}
    assert all(b"rolled-back" not in body for body in bodies.values())
    print(f"{len(got)} requests for {len(bodies)} deliveries ({len(got) - len(bodies)} repeated)")


def _write_claims(db: Database) -> None:
    start = utc_now()
    for n in range(CLAIMS):
        make_domain_claim(
            db, slug=f"crash-hook-{n}", now=utc_now(), closes_at=start + timedelta(days=30)
        )
        time.sleep(0.1)
