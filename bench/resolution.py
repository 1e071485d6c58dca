"""Automatic resolution throughput: one due-rule run over many claims, next to plain httpx.

Serves the tests' App Store payload from a bare uvicorn app on 127.0.0.1 (its own process),
makes a fresh SQLite database with N claims (default 1,000) past `resolves_at`, each with one
JSON rule on that server, and then:

* plain: fetches the same N URLs with a bare `httpx.AsyncClient`, at the same concurrency;
* real: runs `run_due_rules` once (lease, guarded fetch, parse, JMESPath, one snapshot per
  fetch, a proposal and its ledger entries per claim, one transaction per claim).

Prints claims/s for both and the ratio; it prints figures, never pass/fail.

Run from the repository root: `.venv/bin/python bench/resolution.py --claims 1000`.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from claims.fetch import FetchPolicy, parse_allow_list
from claims.lifecycle import create_claim
from claims.schemas import ClaimCreate
from forecasts.notify.reports import record
from forecasts.resolution.autoresolve import ResolutionPolicy, run_due_rules
from tests.claims.payloads import APPSTORE_V2
from web.db import Database
from web.migrate import upgrade

PAYLOAD_LENGTH = str(len(APPSTORE_V2)).encode()
EXPRESSION = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"


def seed(db: Database, url: str, count: int, now: datetime) -> None:
    rule = {"url": url, "format": "json", "expression": EXPRESSION}
    with db.writing() as session:
        for index in range(count):
            data = ClaimCreate(
                slug=f"bench-{index}",
                title=f"Bench claim {index}",
                resolution_criteria="Resolves by its rule.",
                opens_at=now - timedelta(days=2),
                closes_at=now - timedelta(days=1),
                rules=[rule],  # type: ignore[list-item]
            )
            create_claim(session, data, editor_id=None, now=now - timedelta(days=2), record=record)


async def plain_fetch(url: str, count: int, concurrency: int) -> float:
    gate = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(trust_env=False, timeout=10) as client:

        async def one() -> None:
            async with gate:
                response = await client.get(url)
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(count)))
        return time.perf_counter() - started


async def evidence_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """A bare ASGI app answering every GET with the App Store payload of the tests."""
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"application/json"), (b"content-length", PAYLOAD_LENGTH)]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": APPSTORE_V2})


def serve(port: int) -> None:
    """The evidence server in its own process (uvicorn), so it does not share our GIL."""
    import uvicorn

    uvicorn.run(evidence_app, host="127.0.0.1", port=port, log_level="warning", access_log=False)


def wait_for(url: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise RuntimeError("evidence server did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    process = multiprocessing.Process(target=serve, args=(port,), daemon=True)
    process.start()
    url = f"http://127.0.0.1:{port}/appstore/v2.json"
    wait_for(url)
    with tempfile.TemporaryDirectory() as folder:
        db = Database(f"sqlite:///{Path(folder) / 'bench.sqlite3'}")
        upgrade(db.write_engine)
        now = datetime.now(UTC)
        seed(db, url, args.claims, now)

        plain = asyncio.run(plain_fetch(url, args.claims, args.concurrency))

        policy = ResolutionPolicy(
            fetch=FetchPolicy(allow=parse_allow_list("127.0.0.1/32")),
            concurrency=args.concurrency,
            batch=args.claims,
        )
        started = time.perf_counter()
        report = run_due_rules(db.write_engine, lambda: datetime.now(UTC), policy)
        real = time.perf_counter() - started
        db.dispose()
    process.terminate()
    process.join(timeout=10)

    print(f"claims: {args.claims}, concurrency: {args.concurrency}")
    print(f"plain httpx fetch:   {args.claims / plain:8.1f} claims/s ({plain:.2f} s)")
    print(
        f"one due-rule run:    {report.checked / real:8.1f} claims/s ({real:.2f} s; "
        f"{report.checked} checked, {report.proposed} proposed, {report.failed} failed)"
    )
    print(f"ratio real/plain:    {plain / real:8.3f}")


if __name__ == "__main__":
    main()
