"""Restore: rebuild the record in an empty database from a `--private` export of the ledger.

The chain is copied verbatim, so the head hash is the one exported. Everything else is rebuilt
from what the entries say:

- claims, proposals and kept criteria versions by `forecasts.archive.replay.Replay`, the replay
  `verify` also checks the live record with (a proposal an editor overrode is marked so by
  the scheduler's sweep, as it would have been);
- claimants from their entries, and each claim's link to the claimant its source names;
- accounts from the handles that forecast or disputed (forecasters, without tokens or
  passwords: `forecast-ledger user add`/`token`/`password` give them access again);
- forecasts and withdrawals from the reveals of the private export (with rationales and salts),
  imported forecasts from their public payloads;
- derived data: standings and claim stats, claimants' track records, then every score and
  total (`rescore_all`).

What the ledger does not hold is not restored: drafts, text changes made before they were
recorded (`claim_text_amended`, since payload version 2), API tokens,
passwords, evidence snapshots and rule-polling state. Everything is written in one
transaction, after the export has been verified.
"""

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Table, delete, func, select, update
from sqlmodel import Session

from claims.clock import parse_stamp
from claims.errors import Conflict, Invalid
from forecasts.archive.importing import rebuild_standings
from forecasts.archive.replay import Replay
from forecasts.archive.verify import verify_export
from forecasts.claimants.records import rebuild_records
from forecasts.ledger.chain import canonical, entries_table, head_table
from forecasts.ledger.roles import Role
from forecasts.ledger.tables import (
    accounts_t,
    claimants_t,
    claims_t,
    forecasts_t,
    proposals_t,
    salts_t,
    tags_t,
    versions_t,
)
from forecasts.scores.rescore import rescore_all


@dataclass(frozen=True)
class RestoreReport:
    entries: int
    head: str
    claims: int
    accounts: int
    forecasts: int
    scored_claims: int


class _Rebuild(Replay):
    """The replay, with claims and accounts inserted as they appear, then everything written."""

    def __init__(self, conn: Connection) -> None:
        super().__init__()
        self.conn = conn
        self.entries: list[dict[str, Any]] = []

    def new_claim(self, row: dict[str, Any]) -> int:
        return _insert(self.conn, claims_t, row)  # its tags are written with the rest

    def new_account(self, handle: str, at: datetime) -> int:
        return _insert(
            self.conn, accounts_t, {"handle": handle, "role": Role.FORECASTER, "created_at": at}
        )

    def commitment(self, entry: dict[str, Any], seq: int) -> None:
        reveal = entry.get("reveal")
        if reveal is None or "salt" not in reveal or "rationale" not in reveal:
            raise Invalid("file", f"seq {seq}: no reveal; restore needs a --private export")
        super().commitment(entry, seq)

    def add(self, entry: dict[str, Any]) -> int | None:
        claim_id = super().add(entry)
        payload = entry.get("payload")
        self.entries.append(
            {
                "seq": int(entry["seq"]),
                "kind": entry["kind"],
                "created_at": parse_stamp(entry["created_at"]),
                "payload_hash": entry["payload_hash"],
                "prev_hash": entry["prev_hash"],
                "hash": entry["hash"],
                "payload": None if payload is None else canonical(payload).decode(),
                "claim_id": claim_id,
                "payload_version": int(entry.get("payload_version", 1)),
            }
        )
        return claim_id

    def write(self) -> None:
        conn = self.conn
        conn.execute(entries_table.insert(), self.entries)
        last = self.entries[-1]
        conn.execute(delete(head_table))  # a migrated database starts with the genesis head
        conn.execute(head_table.insert().values(id=1, seq=last["seq"], hash=last["hash"]))
        for slug, claim in self.claims.items():
            values = {k: v for k, v in claim.items() if k != "slug"}
            claim_id = self.claim_ids[slug]
            conn.execute(update(claims_t).where(claims_t.c.id == claim_id).values(**values))
            tags = [{"claim_id": claim_id, "tag": tag} for tag in self.tags[slug]]
            if tags:
                conn.execute(tags_t.insert(), tags)
        for rows, table in (
            (list(self.claimants.values()), claimants_t),
            (self.forecasts, forecasts_t),
            (self.salts, salts_t),
            (self.versions, versions_t),
            (self.proposals, proposals_t),
        ):
            if rows:
                conn.execute(table.insert(), rows)
        for claim_id in sorted({row["claim_id"] for row in self.forecasts}):
            rebuild_standings(conn, claim_id, last["seq"])


def _insert(conn: Connection, table: Table, row: dict[str, Any]) -> int:
    """Insert one row and return its new id."""
    key = conn.execute(table.insert().values(**row)).inserted_primary_key
    assert key is not None
    return int(key[0])


def is_empty(conn: Connection) -> bool:
    for table in (entries_table, claims_t, accounts_t, claimants_t):
        if conn.execute(select(func.count()).select_from(table)).scalar_one():
            return False
    return True


def restore_ledger(
    session: Session, lines: Iterable[dict[str, Any]], *, now: datetime
) -> RestoreReport:
    """Rebuild the record from a private export into an empty database; commits."""
    entries = list(lines)
    report = verify_export(entries)
    if report.problems:
        raise Invalid("file", f"the export does not verify: {report.problems[0]}")
    if not entries:
        raise Invalid("file", "the export has no entries")
    conn = session.connection()
    if not is_empty(conn):
        raise Conflict(
            "restore needs an empty database (no claims, claimants, accounts or ledger entries)"
        )
    rebuild = _Rebuild(conn)
    for entry in entries:
        rebuild.add(entry)
    rebuild.write()
    rebuild_records(session)
    scored = rescore_all(session, now=now)  # commits the whole restore
    return RestoreReport(
        entries=len(entries),
        head=report.head,
        claims=len(rebuild.claims),
        accounts=len(rebuild.accounts),
        forecasts=len(rebuild.forecasts),
        scored_claims=scored.claims,
    )


def read_export(text: Iterable[str]) -> list[dict[str, Any]]:
    """The entries of an export file's lines."""
    entries = []
    for number, line in enumerate(text, 1):
        if line.strip():
            try:
                entries.append(json.loads(line))
            except json.JSONDecodeError:
                raise Invalid("file", f"line {number} is not JSON") from None
    return entries
