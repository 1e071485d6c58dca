"""The resolution flow against the real evidence servers: propose, back off, finalise, dispute."""

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from claims.errors import Conflict
from claims.evidence import snapshot_body
from claims.fetch import FetchPolicy, parse_allow_list
from claims.models import Claim, EvidenceSnapshot, Proposal, RuleRun
from forecasts.archive.verify import verify_database
from forecasts.ledger.models import LedgerEntry
from forecasts.resolution.autoresolve import (
    ResolutionPolicy,
    finalise_expired,
    lease_due_claims,
    run_due_rules,
)
from forecasts.resolution.proposals import dispute_proposal, editors_queue
from tests.claims.evidence_server import EvidenceServer
from tests.claims.payloads import APPSTORE_V2
from tests.factories import T0, FakeClock, make_domain_claim, make_domain_forecaster
from web.db import Database

FETCH = FetchPolicy(
    allow=parse_allow_list("127.0.0.1/32"), timeout=2.5
)  # generous: a loaded CI machine is slow; /slow sleeps 5 s
POLICY = ResolutionPolicy(fetch=FETCH)
AT_ONCE = ResolutionPolicy(fetch=FETCH, challenge_window=timedelta(0))
YES = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"
NO = "length(feed.results[:6] | [?contains(name,'Sora')]) == `0`"
NOTHING = "feed.results[0].name"
CLOSES = T0 + timedelta(days=10)


def rule(
    server: EvidenceServer, expression: str, path: str = "/appstore/v2.json", **extra: Any
) -> dict[str, Any]:
    return {"url": server.url(path), "format": "json", "expression": expression, **extra}


def claim_with(db: Database, *rules: dict[str, Any], slug: str = "sora-top-five") -> int:
    return make_domain_claim(db, slug=slug, closes_at=CLOSES, resolves_at=CLOSES, rules=list(rules))


def after_resolves_at() -> FakeClock:
    return FakeClock(now=CLOSES + timedelta(minutes=1))


def entries(db: Database, kind: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    with db.reading() as session:
        rows = session.exec(select(LedgerEntry).order_by(col(LedgerEntry.seq))).all()
    found = [(row.kind, json.loads(row.payload or "{}")) for row in rows]
    return [entry for entry in found if kind is None or entry[0] == kind]


def load(db: Database, claim_id: int) -> tuple[Claim, RuleRun | None, list[Proposal]]:
    with db.reading() as session:
        claim = session.get(Claim, claim_id)
        run = session.get(RuleRun, claim_id)
        proposals = list(session.exec(select(Proposal).where(Proposal.claim_id == claim_id)))
    assert claim is not None
    return claim, run, proposals


def snapshots(db: Database, claim_id: int) -> list[EvidenceSnapshot]:
    with db.reading() as session:
        query = select(EvidenceSnapshot).where(EvidenceSnapshot.claim_id == claim_id)
        return list(session.exec(query.order_by(col(EvidenceSnapshot.id))))


@pytest.mark.parametrize(("expression", "outcome"), [(YES, "yes"), (NO, "no")])
def test_agreeing_rules_propose_then_finalise_after_the_window(
    db: Database, server: EvidenceServer, expression: str, outcome: str
) -> None:
    claim_id = claim_with(db, rule(server, expression), rule(server, expression, "/redirect/ok"))
    clock = after_resolves_at()
    report = run_due_rules(db.write_engine, clock, POLICY)
    assert (report.checked, report.proposed, report.failed) == (1, 1, 0)

    claim, _, [proposal] = load(db, claim_id)
    assert claim.state == "proposed" and claim.outcome is None and claim.closed_early_at is None
    assert proposal.outcome == outcome and proposal.state == "proposed"
    assert not proposal.closes_early and proposal.tc == CLOSES
    assert proposal.challenge_ends_at == proposal.proposed_at + timedelta(days=1)
    kept = snapshots(db, claim_id)
    assert [s.proposal_id for s in kept] == [proposal.id, proposal.id]
    assert snapshot_body(kept[0]) == APPSTORE_V2
    # the close is recorded before the proposal, which names its evidence
    kinds = [kind for kind, _ in entries(db)]
    assert kinds == ["claim_published", "claim_closed", "resolution_proposed"]
    ((_, payload),) = entries(db, "resolution_proposed")
    assert payload["claim"] == "sora-top-five" and payload["outcome"] == outcome
    assert [e["sha256"] for e in payload["evidence"]] == [s.sha256 for s in kept]
    assert proposal.ledger_seq == 3

    assert run_due_rules(db.write_engine, clock, POLICY).checked == 0  # nothing more to run
    clock.advance(hours=23)
    assert finalise_expired(db.write_engine, clock) == 0
    clock.advance(hours=1)
    assert finalise_expired(db.write_engine, clock) == 1
    assert finalise_expired(db.write_engine, clock) == 0
    claim, _, [proposal] = load(db, claim_id)
    assert (claim.state, claim.outcome, proposal.state) == ("resolved", outcome, "finalised")
    ((_, final),) = entries(db, "resolution_finalised")
    assert final["outcome"] == outcome and final["proposal_seq"] == 3
    with db.reading() as session:
        assert verify_database(session).problems == []


def test_challenge_window_zero_finalises_at_once(db: Database, server: EvidenceServer) -> None:
    claim_id = claim_with(db, rule(server, YES))
    report = run_due_rules(db.write_engine, after_resolves_at(), AT_ONCE)
    assert (report.proposed, report.finalised) == (1, 1)
    claim, _, [proposal] = load(db, claim_id)
    assert (claim.state, claim.outcome, proposal.state) == ("resolved", "yes", "finalised")


def test_nothing_decided_backs_off_surfaces_after_three_failures_and_never_annuls(
    db: Database, server: EvidenceServer
) -> None:
    claim_id = claim_with(db, rule(server, NOTHING))
    clock = after_resolves_at()
    waits = []
    for failures in (1, 2, 3):
        assert run_due_rules(db.write_engine, clock, POLICY).failed == 1
        _, run, _ = load(db, claim_id)
        assert run is not None and run.failures == failures and run.leased_until is None
        assert run.last_outcome == "none" and "no decision" in (run.last_error or "")
        waits.append(run.next_run_at - clock.now)
        with db.reading() as session:
            queued = [(item.kind, item.claim) for item in editors_queue(session)]
        assert queued == ([("failing", "sora-top-five")] if failures == 3 else [])
        assert run_due_rules(db.write_engine, clock, POLICY).checked == 0  # not due yet
        clock.set(run.next_run_at)
    assert [round(wait / timedelta(hours=1)) for wait in waits] == [1, 2, 4]
    claim, _, proposals = load(db, claim_id)
    assert claim.state == "published" and proposals == []
    assert len(snapshots(db, claim_id)) == 3


@pytest.mark.parametrize("path", ["/error/500", "/slow", "/malformed.json", "/oversize"])
def test_failed_fetches_are_no_decision_and_back_off(
    db: Database, server: EvidenceServer, path: str
) -> None:
    claim_id = claim_with(db, rule(server, YES), rule(server, YES, path))
    clock = after_resolves_at()
    report = run_due_rules(db.write_engine, clock, POLICY)
    assert (report.checked, report.proposed, report.failed) == (1, 0, 1)
    _, run, proposals = load(db, claim_id)
    assert run is not None and run.failures == 1 and "rule 1" in (run.last_error or "")
    assert run.next_run_at > clock.now and proposals == []
    failed = snapshots(db, claim_id)[1]
    assert failed.decision is None and failed.error


def test_redirect_into_a_forbidden_address_is_refused_with_no_request_there(
    db: Database, server: EvidenceServer, forbidden_server: EvidenceServer
) -> None:
    claim_id = claim_with(db, rule(server, YES, "/redirect/away"))
    assert run_due_rules(db.write_engine, after_resolves_at(), POLICY).failed == 1
    assert forbidden_server.hits == []
    [snapshot] = snapshots(db, claim_id)
    assert "refused" in (snapshot.error or "") and snapshot.final_url.startswith("http://127.0.0.2")


def test_disagreeing_rules_go_to_the_editors(db: Database, server: EvidenceServer) -> None:
    claim_id = claim_with(db, rule(server, YES), rule(server, NO))
    report = run_due_rules(db.write_engine, after_resolves_at(), POLICY)
    assert (report.proposed, report.failed) == (0, 0)
    claim, run, proposals = load(db, claim_id)
    assert claim.state == "published" and proposals == [] and run and run.last_outcome == "conflict"
    with db.reading() as session:
        assert [(item.kind, item.claim) for item in editors_queue(session)] == [
            ("conflict", "sora-top-five")
        ]


def test_early_yes_closes_the_claim_at_the_deciding_fetch(
    db: Database, server: EvidenceServer
) -> None:
    claim_id = claim_with(db, rule(server, YES, yes_early=True), rule(server, YES))
    clock = FakeClock(now=T0 + timedelta(days=2))
    assert run_due_rules(db.write_engine, clock, POLICY).proposed == 1
    claim, _, [proposal] = load(db, claim_id)
    [early_snapshot, _] = snapshots(db, claim_id)
    assert proposal.closes_early and claim.closed_early_at == early_snapshot.fetched_at
    assert proposal.tc == claim.closed_early_at < CLOSES
    ((_, closed),) = entries(db, "claim_closed")
    ((_, proposed),) = entries(db, "resolution_proposed")
    assert closed["closed_at"] == proposed["closed_at"]
    assert proposed["closes_early"] is True


def test_yes_early_rule_saying_no_resolves_nothing_early(
    db: Database, server: EvidenceServer
) -> None:
    claim_id = claim_with(db, rule(server, NO, yes_early=True))
    clock = FakeClock(now=T0 + timedelta(days=2))
    report = run_due_rules(db.write_engine, clock, POLICY)
    assert (report.checked, report.proposed, report.failed) == (1, 0, 0)
    claim, run, proposals = load(db, claim_id)
    assert claim.state == "published" and claim.closed_early_at is None and proposals == []
    assert run is not None and run.failures == 0
    assert timedelta(minutes=59) < run.next_run_at - clock.now <= timedelta(hours=1)
    clock.set(CLOSES - timedelta(minutes=10))
    run_due_rules(db.write_engine, clock, POLICY)
    _, run, _ = load(db, claim_id)
    assert run is not None and run.next_run_at == CLOSES  # checked again when it resolves
    clock.set(CLOSES)
    run_due_rules(db.write_engine, clock, POLICY)
    _, _, [proposal] = load(db, claim_id)
    assert proposal.outcome == "no" and not proposal.closes_early


def test_a_dispute_stops_finalising_and_reaches_the_editors(
    db: Database, server: EvidenceServer
) -> None:
    claim_id = claim_with(db, rule(server, YES))
    alice = make_domain_forecaster(db, slug="sora-top-five", handle="alice")
    bob = make_domain_forecaster(db, slug="sora-top-five", handle="bob")
    clock = after_resolves_at()
    run_due_rules(db.write_engine, clock, POLICY)
    with db.writing() as session:
        dispute_proposal(
            session,
            "sora-top-five",
            account_id=alice,
            handle="alice",
            note="wrong chart",
            now=clock(),
        )
    with db.writing() as session, pytest.raises(Conflict):
        dispute_proposal(
            session, "sora-top-five", account_id=bob, handle="bob", note=None, now=clock()
        )
    clock.advance(days=2)
    assert finalise_expired(db.write_engine, clock) == 0
    claim, _, [proposal] = load(db, claim_id)
    assert claim.state == "proposed" and proposal.state == "disputed"
    ((_, disputed),) = entries(db, "resolution_disputed")
    assert disputed["handle"] == "alice" and disputed["note"] == "wrong chart"
    with db.reading() as session:
        [item] = editors_queue(session)
    assert (item.kind, item.outcome, item.error) == ("dispute", "yes", "wrong chart")


def test_only_one_worker_leases_a_claim(db: Database, server: EvidenceServer) -> None:
    claim_with(db, rule(server, YES))
    now = after_resolves_at().now
    assert len(lease_due_claims(db.write_engine, now, POLICY)) == 1
    assert lease_due_claims(db.write_engine, now, POLICY) == []
    later = now + POLICY.lease  # a worker that died leaves its lease to expire
    assert len(lease_due_claims(db.write_engine, later, POLICY)) == 1


def test_claims_without_rules_are_left_to_editors(db: Database) -> None:
    make_domain_claim(db, slug="no-rules", closes_at=CLOSES)
    assert run_due_rules(db.write_engine, after_resolves_at(), POLICY).checked == 0


def test_an_editor_settling_by_hand_overrides_the_proposal(
    db: Database, server: EvidenceServer
) -> None:
    from forecasts.resolution.settle import settle_claim

    claim_id = claim_with(db, rule(server, YES))
    alice = make_domain_forecaster(db, slug="sora-top-five", handle="alice")
    clock = after_resolves_at()
    run_due_rules(db.write_engine, clock, POLICY)
    with db.writing() as session:
        dispute_proposal(
            session, "sora-top-five", account_id=alice, handle="alice", note=None, now=clock()
        )
        claim = session.get(Claim, claim_id)
        assert claim is not None
        settle_claim(session, claim, "no", now=clock(), by="eddie")
    assert finalise_expired(db.write_engine, clock) == 0
    claim, _, [proposal] = load(db, claim_id)
    assert (claim.state, claim.outcome, proposal.state) == ("resolved", "no", "overridden")
    with db.reading() as session:
        assert editors_queue(session) == []
        assert verify_database(session).problems == []
