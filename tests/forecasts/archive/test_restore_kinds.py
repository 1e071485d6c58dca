"""Claims of every kind (SPEC §7) through export, offline verify, restore and verify."""

from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import text

from claims.clock import stamp
from forecasts.archive.restore import restore_ledger
from forecasts.archive.verify import verify_database, verify_export
from tests.conftest import Tokens, fresh_database
from tests.factories import T0, FakeClock, auth
from tests.forecasts.archive.test_restore import _empty_dir, _export, _post, _rounded
from tests.web.kinds import forecast_body, make_kind_claim
from web.db import Database

DAY = timedelta(days=1)


def _populate(client: TestClient, clock: FakeClock, tokens: Tokens) -> dict[str, str]:
    slugs = {}
    for kind in ("multiple_choice", "numeric", "date"):
        claim = make_kind_claim(client, tokens.editor, kind, opens_at=T0, closes_at=T0 + 10 * DAY)
        slugs[kind] = claim["slug"]
        old = make_kind_claim(
            client,
            tokens.editor,
            kind,
            slug=f"old-{claim['slug']}",
            opens_at=T0 - 30 * DAY,
            closes_at=T0 - DAY,
        )
        slugs[f"old-{kind}"] = old["slug"]
    patch = {"options": ["Sora", "Veo", "Kling", "Another product"]}
    reply = client.patch(
        f"/api/v1/claims/{slugs['multiple_choice']}", json=patch, headers=auth(tokens.editor)
    )
    assert reply.status_code == 200, reply.text
    clock.set(T0 + DAY)
    mc = {"probabilities": {"Sora": 0.1, "Veo": 0.6, "Kling": 0.2, "Another product": 0.1}}
    _post(client, tokens.alice, f"/claims/{slugs['multiple_choice']}/forecasts", mc)
    for kind in ("numeric", "date"):
        for token, shape in ((tokens.alice, "cdf"), (tokens.bob, "q")):
            body = {**forecast_body(kind, shape), "rationale": f"a {kind} view"}
            _post(client, token, f"/claims/{slugs[kind]}/forecasts", body)
    clock.advance(hours=3)
    _post(client, tokens.bob, f"/claims/{slugs['multiple_choice']}/forecasts", mc)
    _post(client, tokens.alice, f"/claims/{slugs['numeric']}/withdraw")
    imported = [
        {
            "claim": slugs[f"old-{kind}"],
            "handle": "alice",
            "created_at": "2025-12-20T00:00:00Z",
            **forecast_body(kind, "q" if kind == "numeric" else "cdf"),
        }
        for kind in ("multiple_choice", "numeric", "date")
    ]
    _post(client, tokens.admin, "/import/forecasts", imported)
    resolve = "/claims/{}/resolution"
    _post(client, tokens.editor, resolve.format(slugs["old-multiple_choice"]), {"outcome": "Veo"})
    _post(client, tokens.editor, resolve.format(slugs["old-numeric"]), {"outcome": 2_100_000})
    _post(
        client,
        tokens.editor,
        resolve.format(slugs["old-date"]),
        {"outcome": "2027-03-01T12:00:00+01:00"},
    )
    clock.set(T0 + 11 * DAY)
    _post(client, tokens.editor, resolve.format(slugs["numeric"]), {"outcome": 3_000_000})
    _post(client, tokens.editor, resolve.format(slugs["numeric"]), {"outcome": 50_000})
    _post(client, tokens.editor, resolve.format(slugs["date"]), {"outcome": "annulled"})
    _post(client, tokens.editor, resolve.format(slugs["multiple_choice"]), {"outcome": "Kling"})
    return slugs


def _snapshot(db: Database) -> dict[str, Any]:
    queries = {
        "claims": "SELECT slug, kind, options, range_min, range_max, open_lower_bound, "
        "open_upper_bound, log_scale, unit, state, outcome, outcome_value, closed_early_at "
        "FROM claims ORDER BY slug",
        "forecasts": "SELECT f.id, c.slug, a.handle, f.probability, f.distribution, "
        "f.rationale, f.created_at, f.imported FROM forecasts f JOIN claims c "
        "ON c.id = f.claim_id JOIN accounts a ON a.id = f.account_id ORDER BY f.id",
        "standings": "SELECT c.slug, a.handle, s.probability, s.distribution FROM standings s "
        "JOIN claims c ON c.id = s.claim_id JOIN accounts a ON a.id = s.account_id ORDER BY 1, 2",
        "stats": "SELECT c.slug, s.market, s.market_distribution, s.forecasters FROM claim_stats "
        "s JOIN claims c ON c.id = s.claim_id ORDER BY 1",
        "head": "SELECT seq, hash FROM ledger_head",
    }
    with db.read_engine.connect() as conn:
        return {
            name: [
                tuple(bytes(v) if isinstance(v, memoryview) else v for v in row)
                for row in conn.execute(text(sql))
            ]
            for name, sql in queries.items()
        }


def test_every_kind_exports_verifies_and_restores(
    client: TestClient,
    clock: FakeClock,
    tokens: Tokens,
    db: Database,
    tmp_path: Path,
    migrated_template: str,
) -> None:
    slugs = _populate(client, clock, tokens)
    shown = client.get(f"/api/v1/claims/{slugs['old-date']}").json()
    assert shown["status"] == "resolved" and shown["outcome"] == "2027-03-01T11:00:00.000000Z"
    numeric = client.get(f"/api/v1/claims/{slugs['numeric']}").json()
    assert numeric["outcome"] == 50_000  # re-resolved below the open lower bound
    with db.reading() as session:
        assert not verify_database(session).problems
    exported = _export(db)
    assert not verify_export(exported).problems
    reveals = [line["reveal"] for line in exported if "reveal" in line]
    assert any("cdf" in r and len(r["cdf"]) == 201 for r in reveals)
    assert any("probabilities" in r for r in reveals)
    published = [line["payload"] for line in exported if line["kind"] == "claim_published"]
    assert {p.get("kind", "binary") for p in published} == {"multiple_choice", "numeric", "date"}
    before = _snapshot(db)
    assert all(row[4] is not None for row in before["forecasts"] if row[3] is None and row[5])
    with fresh_database(_empty_dir(tmp_path), migrated_template) as url:
        fresh = Database(url)
        try:
            with fresh.writing() as session:
                restore_ledger(session, exported, now=T0 + 20 * DAY)
            after = _snapshot(fresh)
            for name, rows in _rounded(before).items():
                assert _rounded(after)[name] == rows, name
            with fresh.reading() as session:
                assert not verify_database(session).problems
        finally:
            fresh.dispose()


def test_a_changed_distribution_fails_verify(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    slugs = _populate(client, clock, tokens)
    exported = _export(db)
    line = next(x for x in exported if "cdf" in x.get("reveal", {}))
    line["reveal"]["cdf"][100] = round(line["reveal"]["cdf"][100] + 1e-6, 10)
    problems = verify_export(exported).problems
    assert problems and problems[0].seq == line["seq"]
    assert slugs and stamp(T0)
