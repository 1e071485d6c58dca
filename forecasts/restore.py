"""Restore: rebuild the record in an empty database from a `--private` export of the ledger.

The chain is copied verbatim, so the head hash is the one exported. Everything else is rebuilt
from what the entries say:

- claims from `claim_published` (all text, window, tags, rules, source), then
  `criteria_amended` (the old criteria kept as a version), `window_amended`, `claim_closed`,
  `resolution_proposed` / `resolution_disputed` (proposals), `claim_reopened` (an editor
  rejected an early proposal) and the settlements
  (`resolution_finalised`, `re_resolved`, `annulled`; a proposal an editor overrode is marked
  so by the scheduler's sweep, as it would have been);
- accounts from the handles that forecast or disputed (forecasters, without tokens or
  passwords: `forecast-ledger user add`/`token`/`password` give them access again);
- forecasts and withdrawals from the reveals of the private export (with rationales and salts),
  imported forecasts from their public payloads;
- derived data: standings and claim stats, then every score and total (`rescore_all`).

What the ledger does not hold is not restored: drafts, text changes that are not recorded
(title, description, fine print, tags and source edited after publishing), API tokens,
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
from claims.models import (
    AMBIGUOUS,
    ANNULLED,
    PROPOSED,
    PUBLISHED,
    RESOLVED,
)
from forecasts.importing import rebuild_standings
from forecasts.ledger import canonical, entries_table, head_table
from forecasts.models import FORECASTER
from forecasts.rescore import rescore_all
from forecasts.tables import (
    accounts_t,
    claims_t,
    forecasts_t,
    proposals_t,
    salts_t,
    tags_t,
    versions_t,
)
from forecasts.verify import COMMITMENTS, verify_export

_STATE_OF = {"yes": RESOLVED, "no": RESOLVED, "annulled": ANNULLED, "ambiguous": AMBIGUOUS}
_SETTLEMENTS = frozenset({"resolution_finalised", "re_resolved", "annulled"})


@dataclass(frozen=True)
class RestoreReport:
    entries: int
    head: str
    claims: int
    accounts: int
    forecasts: int
    scored_claims: int


class _Rebuild:
    """The record as the entries describe it, collected in order, then written."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.claims: dict[str, dict[str, Any]] = {}  # slug -> the claims row's values
        self.claim_ids: dict[str, int] = {}
        self.accounts: dict[str, int] = {}
        self.entries: list[dict[str, Any]] = []
        self.forecasts: list[dict[str, Any]] = []
        self.salts: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.proposals: list[dict[str, Any]] = []

    def account(self, handle: str, at: datetime) -> int:
        if handle not in self.accounts:
            row = {"handle": handle, "role": FORECASTER, "created_at": at}
            self.accounts[handle] = _insert(self.conn, accounts_t, row)
        return self.accounts[handle]

    def claim(self, slug: str, seq: int) -> dict[str, Any]:
        claim = self.claims.get(slug)
        if claim is None:
            raise Invalid("file", f"seq {seq}: claim {slug!r} was never published")
        return claim

    def add(self, entry: dict[str, Any]) -> None:
        seq, kind = int(entry["seq"]), str(entry["kind"])
        payload: dict[str, Any] = entry.get("payload") or {}
        at = parse_stamp(entry["created_at"])
        slug = _slug_of(entry)
        if kind == "claim_published":
            self._publish(payload, seq, at)
        claim_id = self.claim_ids.get(slug) if slug else None
        if slug and claim_id is None:
            raise Invalid("file", f"seq {seq}: claim {slug!r} was never published")
        self.entries.append(
            {
                "seq": seq,
                "kind": kind,
                "created_at": at,
                "payload_hash": entry["payload_hash"],
                "prev_hash": entry["prev_hash"],
                "hash": entry["hash"],
                "payload": None if entry.get("payload") is None else canonical(payload).decode(),
                "claim_id": claim_id,
            }
        )
        if kind in COMMITMENTS:
            self._commitment(entry, seq, at)
        elif kind == "forecast_imported":
            self._forecast(payload, seq, imported=True, rationale=None)
        elif kind != "claim_published":
            self._change(kind, payload, seq, at)

    def _publish(self, payload: dict[str, Any], seq: int, at: datetime) -> None:
        slug = payload["claim"]
        if slug in self.claims:
            raise Invalid("file", f"seq {seq}: claim {slug!r} is published twice")
        row = {
            "slug": slug,
            "title": payload["title"],
            "description": payload["description"],
            "resolution_criteria": payload["resolution_criteria"],
            "fine_print": payload["fine_print"],
            "rules": payload["rules"],
            "source": payload["source"],
            "state": PUBLISHED,
            "opens_at": parse_stamp(payload["opens_at"]),
            "closes_at": parse_stamp(payload["closes_at"]),
            "resolves_at": parse_stamp(payload["resolves_at"]),
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "published_seq": seq,
        }
        claim_id = _insert(self.conn, claims_t, row)
        self.claims[slug], self.claim_ids[slug] = row, claim_id
        tags = [{"claim_id": claim_id, "tag": tag} for tag in sorted(set(payload["tags"]))]
        if tags:
            self.conn.execute(tags_t.insert(), tags)

    def _commitment(self, entry: dict[str, Any], seq: int, at: datetime) -> None:
        reveal = entry.get("reveal")
        if reveal is None or "salt" not in reveal or "rationale" not in reveal:
            raise Invalid("file", f"seq {seq}: no reveal; restore needs a --private export")
        self._forecast(reveal, seq, imported=False, rationale=reveal["rationale"])
        self.salts.append({"ledger_seq": seq, "salt": reveal["salt"]})

    def _forecast(
        self, body: dict[str, Any], seq: int, *, imported: bool, rationale: str | None
    ) -> None:
        at = parse_stamp(body["created_at"])
        self.forecasts.append(
            {
                "id": seq,
                "claim_id": self.claim_ids[body["claim"]],
                "account_id": self.account(body["handle"], at),
                "probability": body["probability"],
                "rationale": rationale,
                "created_at": at,
                "ledger_seq": seq,
                "imported": imported,
            }
        )

    def _change(self, kind: str, payload: dict[str, Any], seq: int, at: datetime) -> None:
        claim = self.claim(payload["claim"], seq)
        claim["updated_at"] = at
        claim_id = self.claim_ids[claim["slug"]]
        if kind == "criteria_amended":
            self.versions.append(
                {
                    "claim_id": claim_id,
                    "version": claim["version"],
                    "resolution_criteria": claim["resolution_criteria"],
                    "rules": claim["rules"],
                    "superseded_at": at,
                }
            )
            claim["version"] = payload["version"]
            claim["resolution_criteria"] = payload["resolution_criteria"]
            claim["rules"] = payload["rules"]
        elif kind == "window_amended":
            claim["closes_at"] = parse_stamp(payload["closes_at"])
            claim["resolves_at"] = parse_stamp(payload["resolves_at"])
        elif kind == "claim_closed":
            claim["close_recorded_seq"] = seq
            _closed_at(claim, payload["closed_at"])
        elif kind == "resolution_proposed":
            self._propose(claim, claim_id, payload, seq, at)
        elif kind == "resolution_disputed":
            proposal = self._proposal(payload["proposal_seq"], seq)
            proposal.update(state="disputed", decided_at=at, note=payload["note"])
            self.account(payload["handle"], at)
        elif kind in _SETTLEMENTS:
            self._settle(claim, payload, seq, at)
        elif kind == "claim_reopened":
            claim.update(state=PUBLISHED, closed_early_at=None, close_recorded_seq=None)
            proposal = self._proposal(payload["proposal_seq"], seq)
            proposal.update(state="rejected", decided_at=at, note=payload["note"])
        else:
            raise Invalid("file", f"seq {seq}: unknown entry kind {kind!r}")

    def _propose(
        self, claim: dict[str, Any], claim_id: int, payload: dict[str, Any], seq: int, at: datetime
    ) -> None:
        claim["state"] = PROPOSED
        if payload["closes_early"]:
            _closed_at(claim, payload["closed_at"])
        self.proposals.append(
            {
                "claim_id": claim_id,
                "outcome": payload["outcome"],
                "state": "proposed",
                "proposed_at": at,
                "closes_early": payload["closes_early"],
                "tc": parse_stamp(payload["closed_at"]),
                "challenge_ends_at": parse_stamp(payload["challenge_ends_at"]),
                "ledger_seq": seq,
                "decided_at": None,
                "note": None,
            }
        )

    def _proposal(self, proposal_seq: int, seq: int) -> dict[str, Any]:
        for proposal in self.proposals:
            if proposal["ledger_seq"] == proposal_seq:
                return proposal
        raise Invalid("file", f"seq {seq}: no proposal at seq {proposal_seq}")

    def _settle(
        self, claim: dict[str, Any], payload: dict[str, Any], seq: int, at: datetime
    ) -> None:
        outcome = payload["outcome"]
        claim["state"] = _STATE_OF[outcome]
        claim["outcome"] = outcome if claim["state"] == RESOLVED else None
        _closed_at(claim, payload["closed_at"], clear=True)
        decided = payload.get("proposal_seq")
        # the finaliser names the proposal it settled; an editor's settlement leaves open
        # proposals to the scheduler's sweep, which marks them overridden
        if decided is not None:
            self._proposal(decided, seq).update(state="finalised", decided_at=at)

    def write(self) -> None:
        conn = self.conn
        conn.execute(entries_table.insert(), self.entries)
        last = self.entries[-1]
        conn.execute(delete(head_table))  # a migrated database starts with the genesis head
        conn.execute(head_table.insert().values(id=1, seq=last["seq"], hash=last["hash"]))
        for slug, claim in self.claims.items():
            values = {k: v for k, v in claim.items() if k != "slug"}
            conn.execute(
                update(claims_t).where(claims_t.c.id == self.claim_ids[slug]).values(**values)
            )
        for rows, table in (
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


def _slug_of(entry: dict[str, Any]) -> str | None:
    body = entry.get("payload") or entry.get("reveal") or {}
    slug = body.get("claim")
    return slug if isinstance(slug, str) else None


def _closed_at(claim: dict[str, Any], closed_at: str, *, clear: bool = False) -> None:
    """Tc before the scheduled close is an early close; at the close (when settling) none."""
    moment = parse_stamp(closed_at)
    if moment < claim["closes_at"]:
        claim["closed_early_at"] = moment
    elif clear:
        claim["closed_early_at"] = None


def is_empty(conn: Connection) -> bool:
    for table in (entries_table, claims_t, accounts_t):
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
        raise Conflict("restore needs an empty database (no claims, accounts or ledger entries)")
    rebuild = _Rebuild(conn)
    for entry in entries:
        rebuild.add(entry)
    rebuild.write()
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
