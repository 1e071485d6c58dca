"""Claimants at scale: rebuilding every track record, and `GET /claimants` beside `/health`.

Builds a synthetic record in a migrated SQLite file, bypassing the API (raw sqlite3
executemany): 1,000 claimants, 10,000 claims each citing one (asserts or denies, a stated
probability on half), 90% resolved, 5% annulled, the rest open, and 20 forecasts per claim
by 500 forecasters. Then it measures and prints, never judging:

1. `forecasts.claimants.records.rebuild_records` (what `forecast-ledger rescore` and
   `restore` run for the track records): every consensus from the claims' forecasts, every
   record, in one transaction;
2. one re-resolution of a claim (`settle_claim`: scores and the claimant's record, one
   commit);
3. `GET /api/v1/claimants` (sorted by claims resolved, then by yield with `min_claims=5`)
   and `GET /api/v1/claimants/{slug}` beside `GET /health` in the same app (TestClient, in
   process): medians and p95 of interleaved requests, and the ratios. Goal: the list within
   5x health.

Run from the repository root: `.venv/bin/python bench/claimants.py` (`--scale 0.1` quick).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.scoring import WINDOW, _text, _timed  # noqa: E402

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
NOW_TEXT = "2026-01-01 00:00:00.000000"


def generate(path: Path, scale: float, seed: int = 11) -> dict[str, int]:
    """Write the synthetic claimants, claims and forecasts into the migrated database."""
    import sqlite3

    rng = np.random.default_rng(seed)
    n_claimants = max(10, int(1000 * scale))
    n_claims = max(100, int(10_000 * scale))
    n_accounts = 500
    per_claim = 20
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany(
        "INSERT INTO accounts (id, handle, role, created_at) VALUES (?, ?, 'forecaster', ?)",
        ((i, f"forecaster-{i}", NOW_TEXT) for i in range(1, n_accounts + 1)),
    )
    kinds = ("person", "organisation", "publication")
    conn.executemany(
        "INSERT INTO claimants (id, slug, name, kind, description, created_at, updated_at) "
        "VALUES (?, ?, ?, ?, '', ?, ?)",
        (
            (i, f"claimant-{i}", f"Claimant {i}", kinds[i % 3], NOW_TEXT, NOW_TEXT)
            for i in range(1, n_claimants + 1)
        ),
    )
    epoch = np.datetime64(EPOCH.replace(tzinfo=None), "us")
    window_us = int(WINDOW.total_seconds() * 1_000_000)
    opens = epoch + rng.integers(0, 600, n_claims) * np.timedelta64(1, "D")
    closes = opens + np.timedelta64(window_us, "us")
    fate = rng.random(n_claims)
    outcomes = rng.integers(0, 2, n_claims)
    who = rng.integers(1, n_claimants + 1, n_claims)
    asserts = rng.random(n_claims) < 0.6
    rows = []
    for i, (o, c) in enumerate(zip(_text(opens), _text(closes), strict=True)):
        stance = "asserts" if asserts[i] else "denies"
        source: dict[str, Any] = {"claimant": f"claimant-{who[i]}", "stance": stance}
        if i % 2:
            source["stated_probability"] = 0.8 if asserts[i] else 0.2
        state, outcome = ("resolved", "yes" if outcomes[i] else "no")
        if fate[i] > 0.95:
            state, outcome = "published", None
        elif fate[i] > 0.90:
            state, outcome = "annulled", None
        rows.append(
            (
                i + 1,
                f"bench-claim-{i + 1}",
                json.dumps(source),
                source["claimant"],
                state,
                o,
                c,
                c,
                outcome,
                NOW_TEXT,
                NOW_TEXT,
            )
        )
    conn.executemany(
        "INSERT INTO claims (id, slug, title, description, resolution_criteria, fine_print, "
        "rules, source, claimant, state, opens_at, closes_at, resolves_at, outcome, version, "
        "created_at, updated_at) VALUES (?, ?, 'Synthetic claim', '', 'Synthetic.', '', '[]', "
        "?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        rows,
    )
    n_forecasts = n_claims * per_claim
    claim_index = np.repeat(np.arange(n_claims), per_claim)
    at = opens[claim_index] + rng.integers(0, window_us, n_forecasts).astype("timedelta64[us]")
    order = np.argsort(at, kind="stable")
    at_text = _text(at[order])
    accounts = rng.integers(1, n_accounts + 1, n_forecasts)
    p = np.round(rng.uniform(0.05, 0.95, n_forecasts), 3)
    conn.executemany(
        "INSERT INTO forecasts (id, claim_id, account_id, probability, created_at, ledger_seq, "
        "imported) VALUES (?, ?, ?, ?, ?, ?, 0)",
        (
            (seq, int(claim_index[k]) + 1, int(accounts[k]), float(p[k]), at_text[seq - 1], seq)
            for seq, k in enumerate(order.tolist(), start=1)
        ),
    )
    conn.commit()
    conn.close()
    return {"claimants": n_claimants, "claims": n_claims, "forecasts": n_forecasts}


def rebuild(url: str) -> float:
    from forecasts.claimants.records import rebuild_records
    from web.db import Database

    db = Database(url)
    with db.writing() as session:
        started = time.perf_counter()
        rebuild_records(session)
        session.commit()
        seconds = time.perf_counter() - started
    db.dispose()
    return seconds


def re_resolve(url: str) -> float:
    import web.notifications  # noqa: F401  (a settlement's events take the API's shapes)
    from claims.lifecycle import get_claim
    from forecasts.resolution.settle import settle_claim
    from web.db import Database

    db = Database(url)
    with db.writing() as session:
        claim = get_claim(session, "bench-claim-1")
        outcome = "no" if claim.outcome == "yes" else "yes"
        started = time.perf_counter()
        settle_claim(session, claim, outcome, now=datetime.now(UTC), by="bench")  # type: ignore[arg-type]
        elapsed = (time.perf_counter() - started) * 1000
    db.dispose()
    return elapsed


def latency(url: str, rounds: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from bench.quiet import silence_request_log
    from web.app import create_app
    from web.settings import Settings

    silence_request_log()
    app = create_app(Settings(database_url=url, rate_limit=0), migrate=False)
    paths = {
        "health": "/health",
        "claimants": "/api/v1/claimants",
        "claimants_yield": "/api/v1/claimants?metric=yield&min_claims=5",
        "claimant": "/api/v1/claimants/claimant-1",
    }
    samples: dict[str, list[float]] = {name: [] for name in paths}
    with TestClient(app) as client:
        for path in paths.values():
            _timed(client, path)  # warm every cache once
        for _ in range(rounds):
            for name, path in paths.items():
                samples[name].append(_timed(client, path))
    figures: dict[str, float] = {}
    for name, values in samples.items():
        values.sort()
        figures[f"{name}_p50_ms"] = statistics.median(values)
        figures[f"{name}_p95_ms"] = values[int(0.95 * (len(values) - 1))]
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1,000 claimants")
    parser.add_argument("--rounds", type=int, default=200, help="requests per endpoint")
    args = parser.parse_args()

    from web.db import Database
    from web.migrate import upgrade

    path = Path(tempfile.mkdtemp(prefix="bench-claimants-")) / "bench.sqlite3"
    url = f"sqlite:///{path}"
    db = Database(url)
    upgrade(db.write_engine)
    db.dispose()
    sizes = generate(path, args.scale)
    print(f"generated {sizes} ({path})")
    print(f"rebuild every track record: {rebuild(url):.2f} s")
    print(f"re-resolve one claim (scores and its claimant's record): {re_resolve(url):.1f} ms")
    lat = latency(url, args.rounds)
    health = lat["health_p50_ms"]
    for name in ("claimants", "claimants_yield", "claimant"):
        print(
            f"GET {name}: p50 {lat[f'{name}_p50_ms']:.2f} ms (p95 {lat[f'{name}_p95_ms']:.2f}), "
            f"{lat[f'{name}_p50_ms'] / health:.2f}x health"
        )
    print(
        f"GET /health p50 {health:.2f} ms (p95 {lat['health_p95_ms']:.2f}); "
        f"GET /claimants / health p50: {lat['claimants_p50_ms'] / health:.2f}x   [goal <= 5x]"
    )


if __name__ == "__main__":
    main()
