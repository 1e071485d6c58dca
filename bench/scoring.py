"""Scoring at scale: full rescore, one resolution, leaderboard latency, sweep vs naive.

Builds a synthetic record in a migrated SQLite file, bypassing the API (raw sqlite3
executemany): 1,000,000 forecasts on 10,000 resolved claims by 5,000 forecasters at
`--scale 1` (every count multiplied by the scale), plus one closed, unresolved claim on which
1,000 forecasters stand. Then it measures and prints, never judging:

1. the full rescore (`forecasts.scores.rescore.rescore_all`, what `forecast-ledger rescore`
   runs) in a child process: wall time and peak RSS (getrusage maxrss of the child and of
   its largest scoring worker);
2. resolving the 1,000-forecaster claim (`settle_claim`: close, ledger, scores, totals,
   events, one commit), then re-resolving it the other way;
3. `GET /api/v1/leaderboard` beside `GET /health` in the same app (TestClient, in process):
   the first, cold leaderboard request (bootstrap intervals not yet cached), then medians and
   p95 of interleaved requests, and the ratio;
4. on a sample of claims, `forecasts.score_math.scoring.score_claim` against the quadratic
   `tests.oracles.scoring_naive.score_claim_naive`: time per claim and the speed-up.

The record is rescored twice: binary claims alone first (the baseline), then with the claims
of other kinds added by `bench/kinds_record.py` (100,000 numeric and 100,000 multiple-choice
forecasts at `--scale 1`); a numeric claim with 1,000 forecasters is resolved too.

Goals it reports against (figures only): full rescore < 10 s and < 1.5 GiB for binary
claims, < 15 s and < 2 GiB with every kind; one resolution < 100 ms (binary), < 150 ms
(numeric); leaderboard within 5x health.

Run from the repository root: `.venv/bin/python bench/scoring.py --scale 0.05` (quick).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
WINDOW = timedelta(days=30)
BIG_SLUG = "bench-big-claim"
BIG_FORECASTERS = 1000


def _text(moment: np.ndarray) -> np.ndarray:
    """datetime64[us] values as SQLAlchemy's SQLite DATETIME text."""
    return np.char.replace(np.datetime_as_string(moment, unit="us"), "T", " ")


def generate(path: Path, scale: float, seed: int = 7) -> dict[str, int]:
    """Write the synthetic record into the migrated database at `path`."""
    rng = np.random.default_rng(seed)
    n_accounts = max(BIG_FORECASTERS, int(5000 * scale))
    n_claims = max(10, int(10_000 * scale))
    n_forecasts = max(1000, int(1_000_000 * scale))
    epoch = np.datetime64(EPOCH.replace(tzinfo=None), "us")
    window_us = int(WINDOW / timedelta(microseconds=1))
    now_text = "2026-01-01 00:00:00.000000"

    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executemany(
        "INSERT INTO accounts (id, handle, role, created_at) VALUES (?, ?, 'forecaster', ?)",
        ((i, f"forecaster-{i}", now_text) for i in range(1, n_accounts + 1)),
    )
    skill = rng.uniform(0.0, 0.35, n_accounts + 1)  # how far each leans towards the truth

    opens = epoch + rng.integers(0, 600, n_claims) * np.timedelta64(1, "D")
    outcomes = rng.integers(0, 2, n_claims)
    closes = opens + np.timedelta64(window_us, "us")
    claim_rows = [
        (i + 1, f"bench-claim-{i + 1}", o, c, c, "resolved", "yes" if y else "no")
        for i, (o, c, y) in enumerate(zip(_text(opens), _text(closes), outcomes, strict=True))
    ]
    big_open = np.datetime64("2025-11-01T00:00:00", "us")
    big_close = big_open + np.timedelta64(window_us, "us")
    claim_rows.append(
        (
            n_claims + 1,
            BIG_SLUG,
            *_text(np.array([big_open, big_close, big_close])),
            "published",
            None,
        )
    )
    conn.executemany(
        "INSERT INTO claims (id, slug, title, description, resolution_criteria, fine_print, "
        "rules, state, opens_at, closes_at, resolves_at, outcome, version, created_at, "
        "updated_at) VALUES (?, ?, 'Synthetic claim', '', 'Synthetic.', '', '[]', ?, ?, ?, ?, "
        "?, 1, ?, ?)",
        (
            (cid, slug, state, o, c, r, outcome, now_text, now_text)
            for cid, slug, o, c, r, state, outcome in claim_rows
        ),
    )

    claim_index = rng.integers(0, n_claims, n_forecasts)
    accounts = rng.integers(1, n_accounts + 1, n_forecasts)
    offsets = rng.integers(0, window_us, n_forecasts)
    at = opens[claim_index] + offsets.astype("timedelta64[us]")
    truth = outcomes[claim_index]
    lean = np.where(truth == 1, skill[accounts], -skill[accounts])
    p = np.clip(np.round(rng.beta(2, 2, n_forecasts) + lean, 3), 0.001, 0.999)
    withdrawn = rng.random(n_forecasts) < 0.03
    # the big claim: 1,000 forecasters, each once, some twice
    big_accounts = np.concatenate(
        [np.arange(1, BIG_FORECASTERS + 1), rng.integers(1, BIG_FORECASTERS + 1, 200)]
    )
    big_at = big_open + rng.integers(0, window_us, big_accounts.size).astype("timedelta64[us]")
    claim_ids = np.concatenate([claim_index + 1, np.full(big_accounts.size, n_claims + 1)])
    accounts = np.concatenate([accounts, big_accounts])
    at = np.concatenate([at, big_at])
    p = np.concatenate([p, np.round(rng.uniform(0.05, 0.95, big_accounts.size), 3)])
    withdrawn = np.concatenate([withdrawn, np.zeros(big_accounts.size, dtype=bool)])
    order = np.argsort(at, kind="stable")  # ledger seqs follow time, as stamps do
    at_text = _text(at[order])
    rows = (
        (
            seq,
            int(claim_ids[k]),
            int(accounts[k]),
            None if withdrawn[k] else float(p[k]),
            at_text[seq - 1],
            seq,
        )
        for seq, k in enumerate(order.tolist(), start=1)
    )
    conn.executemany(
        "INSERT INTO forecasts (id, claim_id, account_id, probability, created_at, ledger_seq, "
        "imported) VALUES (?, ?, ?, ?, ?, ?, 0)",
        rows,
    )
    conn.commit()
    conn.close()
    # written with synchronous=OFF: put it on disk now, or the rescore's first fsync pays for it
    descriptor = os.open(path, os.O_RDONLY)
    os.fsync(descriptor)
    os.close(descriptor)
    return {
        "accounts": n_accounts,
        "claims": n_claims,
        "forecasts": int(claim_ids.size),
        "big_claim_forecasts": int(big_accounts.size),
    }


def rescore_child(url: str, workers: int) -> None:
    """In a child process: run the full rescore and print its figures as JSON."""
    from forecasts.scores.rescore import rescore_all
    from web.db import Database

    db = Database(url)
    started = time.perf_counter()
    with db.writing() as session:
        report = rescore_all(session, now=datetime.now(UTC), workers=workers)
    seconds = time.perf_counter() - started
    db.dispose()
    main_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    worker_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    figures = {"seconds": seconds, "main_mib": main_kib / 1024, "worker_mib": worker_kib / 1024}
    print(json.dumps(figures | report.__dict__))


def full_rescore(url: str, workers: int) -> dict[str, Any]:
    started = time.perf_counter()
    out = subprocess.run(
        [sys.executable, __file__, "--rescore-child", url, "--workers", str(workers)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_wall_seconds"] = time.perf_counter() - started
    # peaks of the main process and of the largest worker; their sum bounds the total peak
    workers_mib = result["worker_mib"] * workers if workers > 1 else 0.0
    result["peak_mib"] = result["main_mib"] + workers_mib
    return result


def resolve_big(
    url: str, slug: str = BIG_SLUG, outcomes: tuple[Any, Any] = ("yes", "no")
) -> dict[str, float]:
    import web.notifications  # noqa: F401  (a settlement's events take the API's shapes)
    from claims.lifecycle import get_claim
    from forecasts.resolution.settle import settle_claim
    from web.db import Database

    db = Database(url)
    figures = {}
    for label, outcome in zip(("resolve_ms", "re_resolve_ms"), outcomes, strict=True):
        with db.writing() as session:
            claim = get_claim(session, slug)
            started = time.perf_counter()
            settle_claim(session, claim, outcome, now=datetime.now(UTC), by="bench")
            figures[label] = (time.perf_counter() - started) * 1000
    with db.reading() as session:
        from sqlalchemy import func, select

        from forecasts.ledger.tables import scores_t

        claim_id = get_claim(session, slug).id
        count = select(func.count()).select_from(scores_t).where(scores_t.c.claim_id == claim_id)
        figures["score_rows"] = float(session.connection().execute(count).scalar_one())
    db.dispose()
    return figures


def _timed(client: Any, path: str) -> float:
    started = time.perf_counter()
    response = client.get(path)
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def latency(url: str, rounds: int) -> dict[str, float]:
    from fastapi.testclient import TestClient

    from bench.quiet import silence_request_log
    from web.app import create_app
    from web.settings import Settings

    silence_request_log()
    app = create_app(Settings(database_url=url, rate_limit=0), migrate=False)
    figures: dict[str, float] = {}
    with TestClient(app) as client:
        _timed(client, "/health")
        figures["leaderboard_cold_ms"] = _timed(client, "/api/v1/leaderboard")
        page = client.get("/api/v1/leaderboard").json()
        handle = page["items"][0]["handle"] if page["items"] else "forecaster-1"
        paths = {
            "health": "/health",
            "leaderboard": "/api/v1/leaderboard",
            "leaderboard_peer": "/api/v1/leaderboard?metric=peer_accuracy&min_claims=50",
            "forecaster": f"/api/v1/forecasters/{handle}",
        }
        for path in paths.values():
            _timed(client, path)  # warm every cache once
        samples: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(rounds):
            for name, path in paths.items():
                samples[name].append(_timed(client, path))
    for name, values in samples.items():
        values.sort()
        figures[f"{name}_p50_ms"] = statistics.median(values)
        figures[f"{name}_p95_ms"] = values[int(0.95 * (len(values) - 1))]
    return figures


def sweep_vs_naive(url: str, sample: int) -> dict[str, float]:
    from forecasts.scores.claim_scores import ClaimWindow, claim_events
    from tests.oracles.scoring import score_claim
    from tests.oracles.scoring_naive import score_claim_naive
    from web.db import Database

    db = Database(url)
    sweep_s = naive_s = 0.0
    events_total = 0
    with db.reading() as session:
        from sqlalchemy import select

        from claims.models import Claim

        query = select(Claim).where(Claim.state == "resolved").order_by(Claim.id).limit(sample)  # type: ignore[arg-type]
        claims = list(session.scalars(query))
        conn = session.connection()
        for claim in claims:
            window = ClaimWindow.of(claim)
            events, _ = claim_events(conn, window.id)
            events_total += len(events)
            kwargs = {
                "opens_at": window.opens_at,
                "closes_at": window.closes_at,
                "closed_at": window.closed_at,
                "outcome": window.outcome,
            }
            started = time.perf_counter()
            fast = score_claim(events, **kwargs)
            sweep_s += time.perf_counter() - started
            started = time.perf_counter()
            slow = score_claim_naive(events, **kwargs)
            naive_s += time.perf_counter() - started
            assert [r.handle for r in fast] == [r.handle for r in slow]
    db.dispose()
    n = max(len(claims), 1)
    return {
        "claims": float(len(claims)),
        "mean_events": events_total / n,
        "sweep_ms_per_claim": sweep_s / n * 1000,
        "naive_ms_per_claim": naive_s / n * 1000,
        "speedup": naive_s / sweep_s if sweep_s else float("nan"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 1M forecasts")
    parser.add_argument("--rounds", type=int, default=200, help="requests per endpoint")
    parser.add_argument("--sample", type=int, default=20, help="claims for sweep vs naive")
    parser.add_argument("--keep", type=Path, help="build the database here and keep it")
    parser.add_argument(
        "--workers", type=int, default=os.cpu_count() or 1, help="rescore processes"
    )
    parser.add_argument("--rescore-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.rescore_child:
        rescore_child(args.rescore_child, args.workers)
        return

    from web.db import Database
    from web.migrate import upgrade

    workdir = Path(tempfile.mkdtemp(prefix="bench-scoring-"))
    path = args.keep or workdir / "bench.sqlite3"
    url = f"sqlite:///{path}"
    db = Database(url)
    upgrade(db.write_engine)
    db.dispose()

    started = time.perf_counter()
    sizes = generate(path, args.scale)
    print(f"generated {sizes} in {time.perf_counter() - started:.1f} s ({path})")

    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run")
    baseline = full_rescore(url, args.workers)
    print(
        f"baseline, binary claims only: full rescore {baseline['seconds']:.2f} s, "
        f"{baseline['rows']} score rows, peak RSS bound {baseline['peak_mib']:.0f} MiB"
    )
    from bench.kinds_record import BIG_NUMERIC_SLUG, add_kinds

    started = time.perf_counter()
    kinds = add_kinds(path, args.scale, sizes["accounts"], int(WINDOW / timedelta(microseconds=1)))
    print(f"added {kinds} in {time.perf_counter() - started:.1f} s")
    rescore = full_rescore(url, args.workers)
    print(
        f"full rescore, every kind: {rescore['seconds']:.2f} s in the child "
        f"({rescore['process_wall_seconds']:.2f} s with start-up), {args.workers} worker(s); "
        f"{rescore['claims']} claims, {rescore['rows']} score rows, {rescore['handles']} handles"
    )
    print(
        f"  peak RSS: main {rescore['main_mib']:.0f} MiB, largest worker "
        f"{rescore['worker_mib']:.0f} MiB, bound on the total {rescore['peak_mib']:.0f} MiB   "
        f"[goal < 15 s, < 2048 MiB: {rescore['seconds'] / 15:.2f}x, "
        f"{rescore['peak_mib'] / 2048:.2f}x of it; the binary baseline above: < 10 s]"
    )

    numeric = resolve_big(url, BIG_NUMERIC_SLUG, (42.0, 57.5))
    print(
        f"resolve one numeric claim ({numeric['score_rows']:.0f} score rows, 1,000 "
        f"forecasters): {numeric['resolve_ms']:.1f} ms; re-resolve: "
        f"{numeric['re_resolve_ms']:.1f} ms   [goal < 150 ms: "
        f"{numeric['resolve_ms'] / 150:.2f}x of it]"
    )
    resolved = resolve_big(url)
    print(
        f"resolve one claim ({resolved['score_rows']:.0f} score rows, {BIG_FORECASTERS} "
        f"forecasters): {resolved['resolve_ms']:.1f} ms; re-resolve: "
        f"{resolved['re_resolve_ms']:.1f} ms   [goal < 100 ms: "
        f"{resolved['resolve_ms'] / 100:.2f}x of it]"
    )

    lat = latency(url, args.rounds)
    ratio = lat["leaderboard_p50_ms"] / lat["health_p50_ms"]
    print(
        f"GET /health p50 {lat['health_p50_ms']:.2f} ms (p95 {lat['health_p95_ms']:.2f}); "
        f"GET /leaderboard p50 {lat['leaderboard_p50_ms']:.2f} ms "
        f"(p95 {lat['leaderboard_p95_ms']:.2f}), first (cold) {lat['leaderboard_cold_ms']:.1f} ms; "
        f"ratio p50 {ratio:.2f}x   [goal <= 5x]"
    )
    print(
        f"  peer_accuracy, min_claims=50: p50 {lat['leaderboard_peer_p50_ms']:.2f} ms "
        f"({lat['leaderboard_peer_p50_ms'] / lat['health_p50_ms']:.2f}x health); "
        f"GET /forecasters/{{handle}} p50 {lat['forecaster_p50_ms']:.2f} ms"
    )

    versus = sweep_vs_naive(url, args.sample)
    print(
        f"score_claim on {versus['claims']:.0f} claims (~{versus['mean_events']:.0f} events "
        f"each): sweep {versus['sweep_ms_per_claim']:.2f} ms/claim, naive "
        f"{versus['naive_ms_per_claim']:.2f} ms/claim, speed-up {versus['speedup']:.1f}x"
    )


if __name__ == "__main__":
    main()
