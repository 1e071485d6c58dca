"""The bench's accounts and claim, a first submission's check, and the forecast rows stored."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.servers import ROOT, Server

SLUG = "bench-claim"
PATH = f"/api/v1/claims/{SLUG}/forecasts"


ACCOUNTS_SCRIPT = """
import contextlib, io, json, sys
from web.cli import app
tokens = {}
for handle, role in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        app(["user", "add", handle, "--role", role], standalone_mode=False)
    tokens[handle] = out.getvalue().strip().splitlines()[-1]
print(json.dumps(tokens))
"""


def create_accounts(env: dict[str, str], forecasters: int) -> tuple[str, list[str]]:
    """`forecast-ledger user add` for one editor and N forecasters, in one process."""
    wanted = [("bench-editor", "editor")]
    wanted += [(f"bench-f{i}", "forecaster") for i in range(forecasters)]
    done = subprocess.run(
        [sys.executable, "-c", ACCOUNTS_SCRIPT, json.dumps(wanted)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"creating accounts failed:\n{done.stderr[-3000:]}")
    tokens: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return tokens.pop("bench-editor"), list(tokens.values())


# numeric mode (`--kind numeric`): the bench claim's range, the bare endpoint's scale too
NUMERIC_FIELDS = {"kind": "numeric", "range_min": 0.0, "range_max": 100.0}


def create_claim(url: str, editor_token: str, kind: str = "binary") -> None:
    body: dict[str, object] = {
        "slug": SLUG,
        "title": "Bench",
        "resolution_criteria": "x",
        "closes_at": "2030-01-01T00:00:00Z",
    }
    if kind == "numeric":
        body.update(NUMERIC_FIELDS)
    reply = httpx.post(
        url + "/api/v1/claims",
        json=body,
        headers={"Authorization": f"Bearer {editor_token}"},
        timeout=30,
    )
    if reply.status_code != 201:
        raise RuntimeError(f"creating the claim: {reply.status_code} {reply.text[:500]}")


def check_submit(server: Server, token: str, body: dict[str, Any]) -> None:
    reply = httpx.post(
        server.url + PATH,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if reply.status_code != 201:
        raise RuntimeError(
            f"{server.name}: a single submission got {reply.status_code} {reply.text[:500]}\n"
            f"{server.log_tail()}"
        )


def stored_forecasts(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM forecasts").fetchone()[0])


def settled_forecasts(db_path: Path, timeout: float = 10.0) -> int:
    """The row count once it has stopped moving (requests in flight at the end get stored)."""
    last = stored_forecasts(db_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = stored_forecasts(db_path)
        if now == last:
            return now
        last = now
    return last
