"""Verification of the record (live database or an offline export) and the export itself."""

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from claims.clock import parse_stamp, stamp
from claims.kinds import EntryKind
from forecasts.archive.replay import COMMITMENTS
from forecasts.archive.verify_record import check_record
from forecasts.ledger.chain import (
    GENESIS_HASH,
    canonical,
    commitment_body,
    commitment_hash,
    entry_hash,
    sha256_hex,
)
from forecasts.ledger.models import LedgerHead
from forecasts.ledger.tables import accounts_t, claims_t, entries_t, forecasts_t, salts_t
from forecasts.submit.shapes import shape_of

_BODY_KEYS = ("claim", "handle", "created_at")
_SHAPE_KEYS = ("probability", "probabilities", "cdf")


@dataclass(frozen=True)
class Problem:
    seq: int | None  # None: a problem of the whole chain, at no entry
    reason: str

    def __str__(self) -> str:
        return self.reason if self.seq is None else f"seq {self.seq}: {self.reason}"


@dataclass
class Report:
    entries: int = 0
    commitments: int = 0
    head: str = GENESIS_HASH
    problems: list[Problem] = field(default_factory=list)
    # what was checked beyond the chain, and what was not and why
    notes: list[str] = field(default_factory=list)

    def fail(self, seq: int | None, reason: str) -> None:
        self.problems.append(Problem(seq, reason))

    def finish(self) -> "Report":
        self.problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
        return self


def _check_links(entries: Iterable[dict[str, Any]], report: Report) -> Iterator[dict[str, Any]]:
    """Check order, links, hashes and public payloads; pass each entry on."""
    prev, expected = GENESIS_HASH, 1
    for entry in entries:
        seq = int(entry["seq"])
        if seq != expected:
            report.fail(seq, f"expected seq {expected}: an entry is missing or out of order")
        if entry["prev_hash"] != prev:
            report.fail(seq, "prev_hash is not the previous entry's hash")
        digest = entry_hash(
            entry["prev_hash"], seq, entry["kind"], entry["created_at"], entry["payload_hash"]
        )
        if digest != entry["hash"]:
            report.fail(seq, "hash does not match the entry's fields")
        payload = entry.get("payload")
        if payload is not None and sha256_hex(canonical(payload)) != entry["payload_hash"]:
            report.fail(seq, "payload does not match payload_hash")
        report.entries += 1
        report.head = entry["hash"]
        prev, expected = entry["hash"], seq + 1
        yield entry


def _db_entries(session: Session) -> Iterator[dict[str, Any]]:
    result = (
        session.connection()
        .execution_options(yield_per=5000)
        .execute(select(entries_t).order_by(entries_t.c.seq))
    )
    for row in result:
        yield {
            "seq": row.seq,
            "kind": row.kind,
            "created_at": stamp(row.created_at),
            "payload_hash": row.payload_hash,
            "prev_hash": row.prev_hash,
            "hash": row.hash,
            "payload": None if row.payload is None else json.loads(row.payload),
            "payload_version": row.payload_version,
        }


def _forecast_rows(session: Session) -> Iterator[Any]:
    """Every stored forecast with its claim, author and salt (None for imported ones)."""
    query = (
        select(
            forecasts_t.c.ledger_seq,
            forecasts_t.c.claim_id,
            forecasts_t.c.probability,
            forecasts_t.c.distribution,
            forecasts_t.c.created_at,
            forecasts_t.c.rationale,
            forecasts_t.c.imported,
            claims_t.c.slug,
            claims_t.c.kind,
            claims_t.c.options,
            accounts_t.c.handle,
            salts_t.c.salt,
        )
        .join(claims_t, claims_t.c.id == forecasts_t.c.claim_id)
        .join(accounts_t, accounts_t.c.id == forecasts_t.c.account_id)
        .outerjoin(salts_t, salts_t.c.ledger_seq == forecasts_t.c.ledger_seq)
    )
    yield from session.connection().execution_options(yield_per=5000).execute(query)


def verify_database(session: Session, *, expect_head: str | None = None) -> Report:
    """The chain, every stored forecast against its commitment, revealed salts, and what is
    derived from the ledger: claims rows, scores and evidence (`verify_record`)."""
    report = Report()
    # a tuple per entry, not its dict: a million commitments would hold a gigabyte
    entries: dict[int, _Seen] = {}
    public: list[dict[str, Any]] = []  # the entries the replay of claims reads
    seen_head = False
    for entry in _check_links(_db_entries(session), report):
        kind, payload = entry["kind"], entry["payload"]
        entries[entry["seq"]] = (kind, entry["payload_hash"], payload, entry["payload_version"])
        if kind not in COMMITMENTS:
            public.append(entry)
        seen_head = seen_head or entry["hash"] == expect_head
    _check_head_row(session, report)
    _check_forecasts(session, entries, report)
    if expect_head is not None and not seen_head:
        report.fail(None, _missing_head(expect_head, report))
    check_record(session, public, report)
    return report.finish()


_Seen = tuple[str, str, Any, int]  # kind, payload_hash, payload, payload_version


def _check_forecasts(session: Session, entries: dict[int, _Seen], report: Report) -> None:
    """Every stored forecast against its entry, and every commitment against a stored row."""
    salts: dict[int, str] = {}
    stored: set[int] = set()
    for row in _forecast_rows(session):
        seq = int(row.ledger_seq)
        stored.add(seq)
        kind, payload_hash, payload, version = entries.get(seq, (None, None, None, 1))
        shape = shape_of(row.kind, row.options, row.distribution)
        if row.imported:
            body = commitment_body(
                row.slug, row.handle, row.probability, row.created_at, version=1, shape=shape
            )
            if kind != EntryKind.FORECAST_IMPORTED or payload != body:
                report.fail(seq, "imported forecast row does not match its ledger entry")
            continue
        expected_kind = (
            EntryKind.FORECAST_WITHDRAWN
            if row.probability is None and shape is None
            else EntryKind.FORECAST_SUBMITTED
        )
        if kind != expected_kind or row.salt is None:
            report.fail(seq, f"forecast row has no matching {expected_kind} entry or salt")
            continue
        report.commitments += 1
        salts[seq] = row.salt
        body = commitment_body(
            row.slug,
            row.handle,
            row.probability,
            row.created_at,
            row.rationale,
            version=version,
            shape=shape,
        )
        if commitment_hash(body, row.salt) != payload_hash:
            report.fail(seq, "forecast row does not match its commitment (changed after the fact)")
    for seq, (kind, _, payload, _) in entries.items():
        if kind in COMMITMENTS and seq not in stored:
            report.fail(seq, f"{kind} entry has no stored forecast (row deleted?)")
        if kind == EntryKind.CLAIM_CLOSED:
            for reveal in payload.get("reveals", []):
                if salts.get(int(reveal["seq"])) != reveal["salt"]:
                    report.fail(int(reveal["seq"]), "stored salt differs from the revealed one")


def _check_head_row(session: Session, report: Report) -> None:
    head = session.get(LedgerHead, 1)
    if head is not None and (head.seq != report.entries or head.hash != report.head):
        report.fail(head.seq, "the head row does not name the last entry")


def verify_export(lines: Iterable[dict[str, Any]], *, expect_head: str | None = None) -> Report:
    """Check an export offline: the chain, and every commitment it reveals.

    Every commitment a close revealed must come with its reveal: an export without them
    would otherwise pass with fewer commitments checked.
    """
    report = Report()
    revealed: dict[int, tuple[str, int]] = {}  # seq -> (salt, the close's seq)
    commitments: dict[int, str] = {}
    seen_head = False
    for entry in _check_links(lines, report):
        seen_head = seen_head or entry["hash"] == expect_head
        reveal = entry.get("reveal")
        if entry["kind"] in COMMITMENTS and reveal is not None:
            version = int(entry.get("payload_version", 1))
            # the shapes of SPEC §7 (probabilities, cdf) take the place of probability
            body = {k: reveal[k] for k in (*_BODY_KEYS, *_SHAPE_KEYS) if k in reveal}
            if version >= 2:
                body["rationale"] = reveal.get("rationale")
            parse_stamp(body["created_at"])
            if commitment_hash(body, reveal["salt"]) != entry["payload_hash"]:
                report.fail(entry["seq"], "revealed forecast does not match its commitment")
            report.commitments += 1
            commitments[entry["seq"]] = reveal["salt"]
        if entry["kind"] == EntryKind.CLAIM_CLOSED:
            for item in entry["payload"].get("reveals", []):
                revealed[int(item["seq"])] = (item["salt"], int(entry["seq"]))
    for seq, (salt, close) in revealed.items():
        if seq not in commitments:
            report.fail(seq, f"the close at seq {close} revealed this commitment; no reveal here")
        elif commitments[seq] != salt:
            report.fail(seq, "salt differs from the one the close revealed")
    if expect_head is not None and not seen_head:
        report.fail(None, _missing_head(expect_head, report))
    return report.finish()


def _missing_head(expect_head: str, report: Report) -> str:
    ends = f"it ends at seq {report.entries}" if report.entries else "it is empty"
    return f"the expected head {expect_head} is not in the chain ({ends})"


def export_lines(session: Session, *, private: bool) -> Iterator[dict[str, Any]]:
    """The ledger as JSON-ready dicts; commitments carry their reveal once their claim closed."""
    reveals: dict[int, dict[str, Any]] = {}
    # a commitment is public once a close of its claim has revealed it (a reopened claim
    # closes again later and reveals only what came after)
    last_close = {
        int(claim_id): int(seq)
        for claim_id, seq in session.connection().execute(
            select(entries_t.c.claim_id, func.max(entries_t.c.seq))
            .where(entries_t.c.kind == EntryKind.CLAIM_CLOSED)
            .group_by(entries_t.c.claim_id)
        )
    }
    for row in _forecast_rows(session):
        if row.salt is None:  # imported: public in its own entry, nothing to reveal
            continue
        if private or row.ledger_seq < last_close.get(row.claim_id, 0):
            # every commitment reveals its rationale: version 2 commitments hash it, and
            # a closed claim's rationales are public (SPEC §2)
            shape = shape_of(row.kind, row.options, row.distribution)
            reveal = commitment_body(
                row.slug, row.handle, row.probability, row.created_at, row.rationale, shape=shape
            )
            reveal["salt"] = row.salt
            reveals[int(row.ledger_seq)] = reveal
    for entry in _db_entries(session):
        if entry["seq"] in reveals:
            entry["reveal"] = reveals[entry["seq"]]
        yield entry
