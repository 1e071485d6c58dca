"""A busy claim's probability history: kept up to date against replayed, in the same run.

Makes a fresh SQLite database with one open claim and N forecasters (default 2,000), each
forecasting once through the API, then measures `GET /api/v1/claims/{slug}/history?limit=1`:

* replay (the baseline): the first request of a fresh app, which computes the crowd after
  every event of the claim (what every request after a new forecast cost before the
  history cache was kept up to date);
* extend: in an app that has shown the history, one new forecast, then the request, which
  adds that one event to the cached history.

Prints the medians and the ratio; it prints figures, never pass/fail.

Run from the repository root: `.venv/bin/python bench/history.py --forecasters 2000`.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.quiet import silence_request_log
from claims.clock import utc_now
from forecasts.accounts.service import create_account, issue_token
from web.app import create_app
from web.db import Database
from web.migrate import upgrade
from web.settings import Settings

SLUG = "busy-claim"


def _timed(client: TestClient) -> float:
    started = time.perf_counter()
    response = client.get(f"/api/v1/claims/{SLUG}/history", params={"limit": 1})
    elapsed = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, response.text
    return elapsed


def _forecast(client: TestClient, token: str, probability: float) -> None:
    reply = client.post(
        f"/api/v1/claims/{SLUG}/forecasts",
        json={"probability": probability},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert reply.status_code == 201, reply.text


def _tokens(db: Database, count: int) -> tuple[str, list[str]]:
    """An editor's token and `count` forecasters' tokens."""
    now = utc_now()
    with db.writing() as session:
        editor = create_account(session, "editor", role="editor", now=now)
        forecasters = [
            create_account(session, f"f{k}", role="forecaster", now=now) for k in range(count)
        ]
        return issue_token(session, editor, now=now), [
            issue_token(session, account, now=now) for account in forecasters
        ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forecasters", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=15, help="requests measured per side")
    args = parser.parse_args()
    silence_request_log()
    with tempfile.TemporaryDirectory(prefix="bench-history-") as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        db = Database(url)
        upgrade(db.write_engine)
        editor, tokens = _tokens(db, args.forecasters + args.rounds)
        db.dispose()
        settings = Settings(database_url=url, rate_limit=0, secret_key="bench")
        with TestClient(create_app(settings, migrate=False)) as client:
            body = {
                "slug": SLUG,
                "title": "A busy claim",
                "resolution_criteria": "Yes if it happens.",
                "closes_at": (utc_now() + timedelta(days=30)).isoformat(),
            }
            created = client.post(
                "/api/v1/claims", json=body, headers={"Authorization": f"Bearer {editor}"}
            )
            assert created.status_code == 201, created.text
            started = time.perf_counter()
            for k, token in enumerate(tokens[: args.forecasters]):
                _forecast(client, token, round(0.05 + 0.9 * ((k * 7919) % 1000) / 1000, 3))
            seconds = time.perf_counter() - started
            print(f"{args.forecasters} forecasts on one claim in {seconds:.1f} s")
            _timed(client)  # this app has shown the history once
            extend = []
            for token in tokens[args.forecasters :]:
                _forecast(client, token, 0.42)
                extend.append(_timed(client))
        replay = []
        for _ in range(min(args.rounds, 5)):  # a fresh app each: its cache is empty
            with TestClient(create_app(settings, migrate=False)) as fresh:
                fresh.get(f"/api/v1/claims/{SLUG}")  # the app's first request costs extra
                replay.append(_timed(fresh))
    base, real = statistics.median(replay), statistics.median(extend)
    print(f"replay (fresh app, first request): median {base:.2f} ms over {len(replay)} apps")
    print(f"extend (one new forecast, then the request): median {real:.2f} ms over {len(extend)}")
    print(f"ratio extend/replay: {real / base:.3f} ({base / real:.0f}x faster)")


if __name__ == "__main__":
    main()
