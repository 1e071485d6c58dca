"""`verify` beyond the chain: what the record derives from the ledger, checked against it.

- Claims and claimants rows: the ledger is replayed (`forecasts.archive.replay.Replay`, the
  replay `restore` writes from) and each published claim's row and tags, and each
  claimant's row, must say what the replay says.
- Scores: every resolved claim (resolved by the ledger's account, not the row's) is scored
  again in memory from the stored forecasts, which the chain check has just matched to
  their commitments, and every stored score row must match to 1e-9.
- Evidence snapshots: each stored body must hash to the snapshot's sha256 (and size), and
  a snapshot a proposal relied on must carry the hash its `resolution_proposed` entry names.
"""

import hashlib
import math
import zlib
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlmodel import Session

from claims.clock import stamp
from claims.closing import tc
from claims.errors import Invalid
from claims.kinds import EntryKind
from claims.outcome_space import SPACE_FIELDS
from claims.states import ClaimState
from forecasts.archive.replay import CLAIMANT_FIELDS, Replay
from forecasts.ledger.tables import (
    accounts_t,
    claimants_t,
    claims_t,
    evidence_t,
    proposals_t,
    scores_t,
    tags_t,
)
from forecasts.score_math.scoring import CROWD_HANDLE, SCORE_FIELDS
from forecasts.scores.claim_windows import ClaimWindow, is_scored, window_of
from forecasts.scores.rescore import read_batches, score_parts

if TYPE_CHECKING:
    from forecasts.archive.verify import Report

TOLERANCE = 1e-9
_CLAIM_FIELDS = (
    "title",
    "description",
    "resolution_criteria",
    "fine_print",
    "rules",
    "source",
    "claimant",
    "state",
    "opens_at",
    "closes_at",
    "resolves_at",
    "closed_early_at",
    "close_recorded_seq",
    "outcome",
    "outcome_value",
    "kind",
    *SPACE_FIELDS,
    "version",
    "published_seq",
)
_SCORE_FIELDS = (*SCORE_FIELDS, "probability_at_close", "pit")


def check_record(session: Session, entries: Iterable[dict[str, Any]], report: "Report") -> None:
    """Claims rows, scores and evidence against the ledger; problems go into `report`."""
    forecasts_ok = not report.problems
    replay, last_seq, claimant_seq = Replay(), {}, {}
    named: dict[tuple[int, int, str], str] = {}  # (proposal seq, rule, fetched_at) -> sha256
    for entry in entries:
        try:
            replay.add(entry)
        except (Invalid, KeyError, TypeError, ValueError) as error:  # KeyError…: a bad shape
            reason = (
                str(error.detail[0]["msg"])  # type: ignore[index]
                if isinstance(error, Invalid)
                else f"the entry cannot be replayed: {error!r}"
            )
            report.fail(int(entry["seq"]), reason)
            report.notes.append("claims, scores and evidence not checked: the replay stopped")
            return
        payload = entry.get("payload") or {}
        if isinstance(payload.get("claim"), str):
            last_seq[payload["claim"]] = int(entry["seq"])
        if isinstance(payload.get("claimant"), str) and "name" in payload:
            claimant_seq[payload["claimant"]] = int(entry["seq"])
        for item in (
            payload.get("evidence", []) if entry["kind"] == EntryKind.RESOLUTION_PROPOSED else []
        ):
            named[(int(entry["seq"]), int(item["rule"]), str(item["fetched_at"]))] = item["sha256"]
    ids = _check_claims(session, replay, last_seq, report)
    _check_claimants(session, replay, claimant_seq, report)
    if forecasts_ok:
        _check_scores(session, replay, ids, last_seq, report)
    else:
        report.notes.append(
            "scores not recomputed: the stored forecasts do not match the ledger (see above)"
        )
    _check_evidence(session, ids, last_seq, named, report)


def _check_claims(
    session: Session, replay: Replay, last_seq: dict[str, int], report: "Report"
) -> dict[str, int]:
    """Each claims row against the replay; returns the stored ids by slug."""
    conn = session.connection()
    columns = [claims_t.c.id, claims_t.c.slug, *(claims_t.c[name] for name in _CLAIM_FIELDS)]
    rows = {row.slug: row for row in conn.execute(select(*columns))}
    tags: dict[int, list[str]] = {}
    for claim_id, tag in conn.execute(select(tags_t.c.claim_id, tags_t.c.tag)):
        tags.setdefault(int(claim_id), []).append(str(tag))
    for slug, row in rows.items():
        if slug not in replay.claims and (
            row.state != ClaimState.DRAFT or row.published_seq is not None
        ):
            report.fail(0, f"claim {slug!r} is {row.state} in the database, never published")
    for slug, claim in replay.claims.items():
        found, seq = rows.get(slug), last_seq[slug]
        if found is None:
            report.fail(seq, f"claim {slug!r} is in the ledger but not in the database")
            continue
        expected = {**claim, "tags": replay.tags[slug]}
        stored = {**found._mapping, "tags": sorted(tags.get(int(found.id), []))}
        for name in (*_CLAIM_FIELDS, "tags"):
            if stored[name] != expected[name]:
                report.fail(
                    seq,
                    f"claim {slug!r}: {name} is {_shown(stored[name])} in the database, "
                    f"the ledger says {_shown(expected[name])}",
                )
                break
    report.notes.append(f"{len(replay.claims)} claims replayed from the ledger")
    return {slug: int(row.id) for slug, row in rows.items()}


def _check_claimants(
    session: Session, replay: Replay, last_seq: dict[str, int], report: "Report"
) -> None:
    """Each claimants row against the replay: the same claimants, saying the same."""
    names = (*CLAIMANT_FIELDS, "added_seq")
    columns = [claimants_t.c.slug, *(claimants_t.c[name] for name in names)]
    rows = {row.slug: row for row in session.connection().execute(select(*columns))}
    for slug in rows.keys() - replay.claimants.keys():
        report.fail(0, f"claimant {slug!r} is in the database, never in the ledger")
    for slug, claimant in replay.claimants.items():
        found = rows.get(slug)
        if found is None:
            report.fail(last_seq[slug], f"claimant {slug!r} is in the ledger, not the database")
            continue
        for name in names:
            if found._mapping[name] != claimant[name]:
                report.fail(
                    last_seq[slug],
                    f"claimant {slug!r}: {name} is {_shown(found._mapping[name])} in the "
                    f"database, the ledger says {_shown(claimant[name])}",
                )
                break
    report.notes.append(f"{len(replay.claimants)} claimants replayed from the ledger")


def _shown(value: Any) -> str:
    text = repr(stamp(value) if hasattr(value, "tzinfo") else value)
    return text if len(text) <= 80 else text[:77] + "..."


def _check_scores(
    session: Session,
    replay: Replay,
    ids: dict[str, int],
    last_seq: dict[str, int],
    report: "Report",
) -> None:
    """Score the ledger's resolved claims again and compare with every stored score row."""
    conn = session.connection()
    windows = sorted(
        (_window(ids[slug], claim) for slug, claim in replay.claims.items() if _scored(claim)),
        key=lambda window: window.id,
    )
    forecasters = sorted(
        (str(handle), int(account))
        for handle, account in conn.execute(select(accounts_t.c.handle, accounts_t.c.id))
    )
    handles = [handle for handle, _ in forecasters] + [CROWD_HANDLE]
    expected: dict[tuple[int, str], tuple[Any, ...]] = {}
    for kind_windows, batch in read_batches(conn, windows, forecasters):
        for start, columns in score_parts(batch, 500, None, 1):
            for k in range(len(columns)):
                window = kind_windows[start + columns.claim[k]]
                values = tuple(getattr(columns, name)[k] for name in _SCORE_FIELDS)
                expected[(window.id, handles[columns.forecaster[k]])] = (window.outcome, *values)
    seq_of = {claim_id: last_seq[slug] for slug, claim_id in ids.items() if slug in last_seq}
    names = ("outcome", *_SCORE_FIELDS)
    for row in _score_rows(session):
        key = (int(row[0]), str(row[1]))
        want = expected.pop(key, None)
        seq = seq_of.get(key[0], 0)
        if want is None:
            report.fail(seq, f"a score row of {key[1]} on claim id {key[0]} has no basis")
            continue
        for name, got, value in zip(names, row[2:], want, strict=True):
            if not _close(got, value):
                report.fail(
                    seq, f"score of {key[1]} on claim id {key[0]}: {name} {got} should be {value}"
                )
                break
    for claim_id, handle in expected:
        report.fail(seq_of.get(claim_id, 0), f"no score row of {handle} on claim id {claim_id}")
    report.notes.append(f"scores of {len(windows)} resolved claims recomputed")


def _scored(claim: dict[str, Any]) -> bool:
    return is_scored(claim["state"], claim)


def _window(claim_id: int, claim: dict[str, Any]) -> ClaimWindow:
    window = window_of(
        claim_id, claim, claim, closed_at=tc(claim["closes_at"], claim["closed_early_at"])
    )
    assert window is not None
    return window


def _score_rows(session: Session) -> Iterator[Any]:
    columns = [scores_t.c.claim_id, scores_t.c.handle, scores_t.c.outcome]
    columns += [scores_t.c[name] for name in _SCORE_FIELDS]
    query = select(*columns)
    yield from session.connection().execution_options(yield_per=5000).execute(query)


def _close(got: Any, want: Any) -> bool:
    if got is None or want is None:
        return got is None and want is None
    return math.isclose(float(got), float(want), rel_tol=TOLERANCE, abs_tol=TOLERANCE)


def _check_evidence(
    session: Session,
    ids: dict[str, int],
    last_seq: dict[str, int],
    named: dict[tuple[int, int, str], str],
    report: "Report",
) -> None:
    """Each snapshot's body against its own hash, and against its proposal's entry."""
    conn = session.connection()
    seq_of = {claim_id: last_seq.get(slug, 0) for slug, claim_id in ids.items()}
    proposal_seq = dict(conn.execute(select(proposals_t.c.id, proposals_t.c.ledger_seq)).all())
    query = select(
        evidence_t.c.id,
        evidence_t.c.claim_id,
        evidence_t.c.rule_index,
        evidence_t.c.fetched_at,
        evidence_t.c.sha256,
        evidence_t.c.body_size,
        evidence_t.c.body,
        evidence_t.c.proposal_id,
    ).order_by(evidence_t.c.id)
    count = 0
    for row in conn.execution_options(yield_per=500).execute(query):
        count += 1
        where = f"evidence snapshot {row.id}"
        body = zlib.decompress(row.body) if row.body else b""
        seq = seq_of.get(int(row.claim_id), 0)
        if hashlib.sha256(body).hexdigest() != row.sha256 or len(body) != row.body_size:
            report.fail(seq, f"{where}: the stored body does not match its sha256")
            continue
        entry_seq = proposal_seq.get(row.proposal_id)
        if entry_seq is None:
            continue
        said = named.get((int(entry_seq), int(row.rule_index), stamp(row.fetched_at)))
        if said != row.sha256:
            report.fail(int(entry_seq), f"{where}: its sha256 is not the one the proposal names")
    report.notes.append(f"{count} evidence snapshots checked against their hashes")
