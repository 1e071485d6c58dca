"""Two `forecast-ledger tick` processes at once over one SQLite file: each claim proposed once."""

import json
import os
import sqlite3
import subprocess
from collections import Counter
from datetime import timedelta
from pathlib import Path

from claims.clock import utc_now
from tests.claims.evidence_server import EvidenceServer
from tests.e2e.conftest import BIN
from tests.factories import make_domain_claim
from web.db import Database
from web.migrate import upgrade

YES = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"
CLAIMS = 20


def test_concurrent_ticks_propose_each_claim_exactly_once(
    tmp_path: Path, evidence: EvidenceServer
) -> None:
    database = tmp_path / "ledger.sqlite3"
    url = f"sqlite:///{database}"
    db = Database(url)
    upgrade(db.write_engine)
    now = utc_now()
    rules = [{"url": evidence.url("/appstore/v2.json"), "format": "json", "expression": YES}]
    for index in range(CLAIMS):
        if index % 2:  # open, decided early by a yes_early rule
            window = {"closes_at": now + timedelta(days=30)}
            claim_rules = [{**rules[0], "yes_early": True}]
        else:  # past resolves_at
            window = {"now": now - timedelta(days=2), "closes_at": now - timedelta(days=1)}
            claim_rules = rules
        make_domain_claim(db, slug=f"claim-{index}", rules=claim_rules, **window)
    db.dispose()
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": url,
        "FORECAST_LEDGER_FETCH_ALLOW": "127.0.0.1/32",
        "FORECAST_LEDGER_CHALLENGE_WINDOW": "0",
    }
    command = [str(BIN / "forecast-ledger"), "tick"]
    workers = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=120)
        assert worker.returncode == 0, err.decode()

    raw = sqlite3.connect(database)
    rows = raw.execute("SELECT kind, payload FROM ledger_entries ORDER BY seq").fetchall()
    raw.close()
    proposed = Counter(json.loads(p)["claim"] for k, p in rows if k == "resolution_proposed")
    finalised = Counter(json.loads(p)["claim"] for k, p in rows if k == "resolution_finalised")
    closed = Counter(json.loads(p)["claim"] for k, p in rows if k == "claim_closed")
    every = {f"claim-{index}": 1 for index in range(CLAIMS)}
    assert proposed == finalised == closed == every
    assert len(evidence.hits) == CLAIMS  # no claim was fetched twice
    verified = subprocess.run(
        [str(BIN / "forecast-ledger"), "verify"], env=env, capture_output=True, text=True
    )
    assert verified.returncode == 0 and verified.stdout.startswith("OK"), verified.stdout
