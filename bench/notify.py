"""One `claim.published` fanned out to N webhooks (default 1,000) on a local receiver.

Makes a fresh SQLite file (or uses FORECAST_LEDGER_DATABASE_URL), N webhooks on 127.0.0.1
(10 per account, the most one may hold), each subscribed to `claim.published`; publishes
one claim, whose transaction writes the event and its N deliveries; then one delivery
worker (the loop `serve` and `forecast-ledger worker` run) sends them to a real receiver
in a process of its own (tests/forecasts/notify/receiver.py). Prints how long until the
worker had recorded them all delivered, and how many arrived with a valid signature.
Figures, never pass/fail.

Run from the repository root: `.venv/bin/python bench/notify.py --webhooks 1000`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from claims.clock import utc_now
from claims.fetch import FetchPolicy, parse_allow_list
from forecasts.notify.events import EventName
from forecasts.notify.webhooks import MAX_WEBHOOKS, create_webhook
from forecasts.notify.worker import DeliveryPolicy, DeliveryWorker
from tests.factories import make_account, make_domain_claim
from tests.forecasts.notify.receiver import verify
from web import notifications
from web.db import Database
from web.migrate import upgrade

POLICY = FetchPolicy(allow=parse_allow_list("127.0.0.1/32"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--webhooks", type=int, default=1000)
    parser.add_argument("--in-flight", type=int, default=256, help="attempts at once")
    parser.add_argument("--timeout", type=float, default=60.0, help="give up after (seconds)")
    return parser.parse_args()


def make_webhooks(
    db: Database, port: int, count: int, event: EventName = EventName.CLAIM_PUBLISHED
) -> dict[str, str]:
    """The webhooks, 10 per account, subscribed to `event`; their secrets by path."""
    now = utc_now()
    secrets = {}
    for n in range(count):
        if n % MAX_WEBHOOKS == 0:
            make_account(db, handle=f"bot-{n // MAX_WEBHOOKS}", now=now)
        path = f"/ok/hook-{n}"
        with db.writing() as session:
            account_id = session.execute(
                text("SELECT id FROM accounts WHERE handle = :h"), {"h": f"bot-{n // MAX_WEBHOOKS}"}
            ).scalar_one()
            hook = create_webhook(
                session,
                account_id,
                f"http://127.0.0.1:{port}{path}",
                [event],
                now=now,
                policy=POLICY,
            )
        secrets[path] = hook.secret
    return secrets


def start_receiver(log: Path) -> tuple[subprocess.Popen[str], int]:
    """The receiver in a process of its own (it writes what arrived to `log` at the end)."""
    receiver = subprocess.Popen(
        [sys.executable, "-m", "tests.forecasts.notify.receiver", str(log)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert receiver.stdout is not None
    return receiver, int(receiver.stdout.readline())


def start_crowd_watchers(
    env: dict[str, str], directory: Path, count: int
) -> list[subprocess.Popen[str]]:
    """For bench/submit.py: `count` webhooks on crowd.moved, a receiver, and a
    `forecast-ledger worker` (jobs each second and the delivery loop) beside the server."""
    receiver, port = start_receiver(directory / "crowd-received.jsonl")
    notifications.install("")
    db = Database(env["FORECAST_LEDGER_DATABASE_URL"])
    make_webhooks(db, port, count, EventName.CROWD_MOVED)
    db.dispose()
    worker_env = {**env, "FORECAST_LEDGER_FETCH_ALLOW": "127.0.0.1/32"}
    worker_env["FORECAST_LEDGER_JOB_INTERVAL"] = "1"
    with (directory / "worker.log").open("ab") as sink:
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "forecast-ledger"), "worker"],
            env=worker_env,
            stdout=sink,
            stderr=sink,
            text=True,
        )
    return [worker, receiver]


def stop_crowd_watchers(processes: list[subprocess.Popen[str]], db_url: str) -> str:
    """Stop them; what was delivered meanwhile."""
    worker, receiver = processes
    worker.terminate()
    worker.wait(30)
    assert receiver.stdin is not None
    receiver.stdin.close()
    receiver.wait(30)
    db = Database(db_url)
    with db.read_engine.connect() as conn:
        rows = conn.execute(text("SELECT status, count(*) FROM deliveries GROUP BY status"))
        counts = ", ".join(f"{n} {status}" for status, n in rows) or "none"
    db.dispose()
    return f"crowd.moved deliveries: {counts}"


def delivered(db: Database) -> int:
    with db.read_engine.connect() as conn:
        query = text("SELECT count(*) FROM deliveries WHERE status = 'delivered'")
        return int(conn.execute(query).scalar_one())


def main() -> None:
    args = parse_args()
    notifications.install("")
    with tempfile.TemporaryDirectory(prefix="bench-notify-") as directory:
        url = os.environ.get("FORECAST_LEDGER_DATABASE_URL") or f"sqlite:///{directory}/n.sqlite3"
        db = Database(url)
        upgrade(db.write_engine)
        log = Path(directory) / "received.jsonl"
        receiver, port = start_receiver(log)
        assert receiver.stdin is not None
        secrets = make_webhooks(db, port, args.webhooks)
        policy = DeliveryPolicy(fetch=POLICY, in_flight=args.in_flight, poll=0.2)
        worker = DeliveryWorker(db.write_engine, utc_now, policy)
        stop = threading.Event()
        thread = threading.Thread(target=lambda: asyncio.run(worker.run(stop)), daemon=True)
        thread.start()
        time.sleep(0.5)  # the worker's first empty look
        start, cpu = time.monotonic(), time.process_time()
        now = utc_now()
        make_domain_claim(db, slug="bench-fanout", now=now, closes_at=now + timedelta(days=9))
        published = time.monotonic() - start
        recorded_at = None
        while time.monotonic() - start < args.timeout:
            if delivered(db) >= args.webhooks:
                recorded_at = time.monotonic() - start
                cpu = time.process_time() - cpu
                break
            time.sleep(0.02)
        stop.set()
        thread.join(30)
        receiver.stdin.close()
        receiver.wait(30)
        got = [json.loads(line) for line in log.read_text().splitlines()]
        db.dispose()
    signed = sum(
        verify(
            secrets[r["path"]],
            r["headers"]["forecast-ledger-signature"],
            r["body"].encode(),
            time.time(),
        )
        for r in got
    )
    print(f"webhooks: {args.webhooks}; in flight at most {args.in_flight}")
    print(f"publish transaction (event + {args.webhooks} deliveries): {published:.2f} s")
    print(f"received: {len(got)}, {signed} with a valid signature")
    done = "not all" if recorded_at is None else f"{recorded_at:.2f} s"
    print(f"all recorded delivered after: {done} (10 s is the aim)")
    if recorded_at is not None:
        print(f"CPU of this process meanwhile (worker, database): {cpu:.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
