"""Automatic resolution (SPEC §5): run due rules, propose outcomes, finalise after the window.

Two jobs, both plain idempotent functions the scheduler calls:

- `run_due_rules` leases the claims whose rules are due (a conditional UPDATE on their
  `RuleRun` row, so two workers never check the same claim), checks them concurrently,
  stores every fetch as a snapshot and proposes an outcome when the rules decide one.
- `finalise_expired` finalises the proposals whose challenge window has passed undisputed.
"""

import asyncio
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, ScalarSelect, Text, cast, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col
from sqlmodel import select as select_rows

from claims.clock import Clock, stamp
from claims.evidence import ClaimCheck, ClaimRules, RuleCheck, check_claims, snapshot_of
from claims.fetch import FetchPolicy, Resolver
from claims.kinds import EntryKind
from claims.models import Claim, Proposal, RuleRun
from claims.outcome_space import SPACE_FIELDS, recorded_outcome, space_of
from claims.sandbox import RULE_DEADLINE
from claims.states import ClaimState, ProposalState
from claims.transitions import proposed
from forecasts.ledger.chain import record
from forecasts.notify.reports import proposal_event
from forecasts.resolution.proposals import (
    early_decisions_paused,
    finalise_proposal,
    proposals_t,
    sweep_overridden,
)
from forecasts.resolution.reveal import close_claim

runs_t = RuleRun.__table__  # type: ignore[attr-defined]
claims_t = Claim.__table__  # type: ignore[attr-defined]
_CHECKABLE = (ClaimState.PUBLISHED, ClaimState.CLOSED)
UNDECIDED = ("none", "conflict")  # what the rules may say besides an outcome
_STORE_BATCH = 100  # checks stored per transaction at most


@dataclass(frozen=True)
class ResolutionPolicy:
    """How rules are polled and outcomes proposed; built from the settings by the web layer."""

    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    rule_deadline: float = RULE_DEADLINE  # seconds for one rule's parse and evaluation
    challenge_window: timedelta = timedelta(days=1)
    poll_every: timedelta = timedelta(hours=1)
    max_backoff: timedelta = timedelta(days=1)
    lease: timedelta = timedelta(minutes=10)
    concurrency: int = 16
    batch: int = 1000

    def backoff(self, failures: int) -> timedelta:
        """The wait after the n-th failure in a row: poll_every, doubling, capped."""
        wait: timedelta = self.poll_every * 2 ** min(failures - 1, 30)
        return min(wait, self.max_backoff)


@dataclass
class RunReport:
    checked: int = 0
    proposed: int = 0
    failed: int = 0
    finalised: int = 0


def run_due_rules(
    engine: Engine,
    clock: Clock,
    policy: ResolutionPolicy,
    *,
    resolver: Resolver | None = None,
) -> RunReport:
    """The due-rule job: check every claim whose rules are due and that this worker leased."""
    now = clock()
    items = lease_due_claims(engine, now, policy)
    report = RunReport()
    if not items:
        return report

    asyncio.run(_check_and_store(engine, items, clock, policy, report, resolver))
    if policy.challenge_window <= timedelta(0):
        report.finalised = finalise_expired(engine, clock)
    return report


async def _check_and_store(
    engine: Engine,
    items: list[ClaimRules],
    clock: Clock,
    policy: ResolutionPolicy,
    report: RunReport,
    resolver: Resolver | None,
) -> None:
    """Check concurrently; one writer stores finished checks, as many per transaction as wait.

    A single writer matters on SQLite: threads competing for the write lock would sleep in
    its busy handler, and one commit (one fsync) serves every check that finished meanwhile.
    """
    finished: asyncio.Queue[ClaimCheck | None] = asyncio.Queue()

    async def writer() -> None:
        while True:
            batch = [await finished.get()]
            while not finished.empty() and len(batch) < _STORE_BATCH:
                batch.append(finished.get_nowait())
            checks = [check for check in batch if check is not None]
            if checks:
                outcomes = await asyncio.to_thread(apply_checks, engine, checks, clock, policy)
                report.checked += len(checks)
                report.proposed += sum(outcome not in UNDECIDED for outcome in outcomes)
                report.failed += sum(check.failed for check in checks)
            if None in batch:
                return

    async def on_checked(check: ClaimCheck) -> None:
        await finished.put(check)

    writing = asyncio.create_task(writer())
    try:
        await check_claims(
            items,
            policy.fetch,
            concurrency=policy.concurrency,
            clock=clock,
            on_checked=on_checked,
            resolver=resolver,
            deadline=policy.rule_deadline,
        )
    finally:
        await finished.put(None)
        await writing


def lease_due_claims(engine: Engine, now: datetime, policy: ResolutionPolicy) -> list[ClaimRules]:
    """Claims with rules that are due, each leased to this caller (skipped if another holds it).

    Due: never checked, `next_run_at` reached, or changed by an editor since the last check.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            select(
                claims_t.c.id,
                claims_t.c.rules,
                claims_t.c.resolves_at,
                claims_t.c.kind,
                *(claims_t.c[name] for name in SPACE_FIELDS),
            )
            .outerjoin(runs_t, runs_t.c.claim_id == claims_t.c.id)
            .where(
                claims_t.c.state.in_(_CHECKABLE),
                claims_t.c.opens_at <= now,
                cast(claims_t.c.rules, Text) != "[]",
                or_(
                    runs_t.c.claim_id.is_(None),
                    runs_t.c.next_run_at <= now,
                    runs_t.c.last_run_at < claims_t.c.updated_at,
                ),
                or_(runs_t.c.leased_until.is_(None), runs_t.c.leased_until <= now),
            )
            .order_by(claims_t.c.id)
            .limit(policy.batch)
        ).all()
    due = {int(row.id): row for row in rows if row.rules}
    if not due:
        return []
    leased: list[ClaimRules] = []
    with engine.begin() as conn:
        insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
        conn.execute(
            insert(runs_t)
            .values([{"claim_id": claim_id, "next_run_at": now, "failures": 0} for claim_id in due])
            .on_conflict_do_nothing(index_elements=["claim_id"])
        )
        for claim_id, row in due.items():
            taken = conn.execute(
                update(runs_t)
                .where(
                    runs_t.c.claim_id == claim_id,
                    or_(runs_t.c.next_run_at <= now, runs_t.c.last_run_at < edited_at(claim_id)),
                    or_(runs_t.c.leased_until.is_(None), runs_t.c.leased_until <= now),
                )
                .values(leased_until=now + policy.lease)
            )
            if taken.rowcount == 1:
                space = space_of(row)
                leased.append(ClaimRules(claim_id, row.rules, row.resolves_at, row.kind, space))
    return leased


def edited_at(claim_id: int) -> ScalarSelect[datetime]:
    """When an editor last changed the claim: a change (say, a fixed rule) makes it due again."""
    return select(claims_t.c.updated_at).where(claims_t.c.id == claim_id).scalar_subquery()


def apply_checks(
    engine: Engine, checks: list[ClaimCheck], clock: Clock, policy: ResolutionPolicy
) -> list[str]:
    """Store checks' snapshots and act on their outcomes in one transaction; ends the leases.

    Returns the outcome acted on per check ("none" when the claim no longer awaited its rules).
    """
    ids = [check.claim_id for check in checks]
    with Session(engine, expire_on_commit=False) as session:
        now = clock()
        claims = session.exec(
            select_rows(Claim).where(col(Claim.id).in_(ids)).with_for_update()
        ).all()
        runs = session.exec(select_rows(RuleRun).where(col(RuleRun.claim_id).in_(ids))).all()
        claim_of = {claim.id: claim for claim in claims}
        run_of = {run.claim_id: run for run in runs}
        outcomes = [
            _apply(session, claim_of[check.claim_id], run_of[check.claim_id], check, now, policy)
            for check in checks
        ]
        session.commit()
    return outcomes


def _apply(
    session: Session,
    claim: Claim,
    run: RuleRun,
    check: ClaimCheck,
    now: datetime,
    policy: ResolutionPolicy,
) -> str:
    snapshots = [snapshot_of(check.claim_id, result) for result in check.results]
    session.add_all(snapshots)
    outcome: str = check.outcome if claim.state in _CHECKABLE else "none"
    if outcome == "yes" and check.before_resolves_at and early_decisions_paused(session, claim):
        outcome = "none"  # an editor rejected an early yes; the rules decide at resolves_at
    if outcome not in UNDECIDED:
        proposal = _propose(session, claim, check, now, policy)
        for snapshot in snapshots:
            snapshot.proposal_id = proposal.id
    _schedule_next(run, claim, check, now, policy)
    session.add(run)
    return outcome


def _propose(
    session: Session, claim: Claim, check: ClaimCheck, now: datetime, policy: ResolutionPolicy
) -> Proposal:
    """Close (early, if so) and propose; the ledger gets the close and then the proposal."""
    assert claim.id is not None
    outcome = check.outcome
    decided_at = check.decided_at
    closes_early = check.before_resolves_at and decided_at < claim.closes_at
    if closes_early:
        claim.closed_early_at = decided_at
    tc = decided_at if closes_early else claim.closes_at
    claim.sqlmodel_update(proposed())
    claim.updated_at = now
    session.add(claim)
    session.flush()
    if claim.close_recorded_seq is None:
        # the close goes first in the ledger (record_close does nothing if already there)
        close_claim(session, claim, now)
    proposal = Proposal(
        claim_id=claim.id,
        outcome=outcome,
        outcome_value=check.outcome_value,
        proposed_at=now,
        closes_early=closes_early,
        tc=tc,
        challenge_ends_at=now + policy.challenge_window,
    )
    session.add(proposal)
    session.flush()
    payload = {
        "claim": claim.slug,
        "outcome": recorded_outcome(claim.kind, outcome, check.outcome_value),
        "closed_at": stamp(tc),
        "closes_early": closes_early,
        "challenge_ends_at": stamp(proposal.challenge_ends_at),
        "evidence": [
            {
                "rule": result.index,
                "url": result.fetch.url,
                "fetched_at": stamp(result.fetch.fetched_at),
                "sha256": result.fetch.sha256,
                "decision": _decision(claim.kind, result),
            }
            for result in check.results
        ],
    }
    proposal.ledger_seq = record(session, EntryKind.RESOLUTION_PROPOSED, now, payload, claim.id)
    session.add(proposal)
    proposal_event(session, claim, proposal, now=now)
    return proposal


def _decision(kind: str, result: RuleCheck) -> Any:
    """A rule's decision as the ledger shows it: yes/no, a label, a number or an ISO time."""
    if result.proposed is None:
        return result.decision
    return recorded_outcome(kind, *result.proposed)


def _schedule_next(
    run: RuleRun, claim: Claim, check: ClaimCheck, now: datetime, policy: ResolutionPolicy
) -> None:
    run.leased_until = None
    run.last_run_at = now
    run.last_outcome = check.outcome
    if check.failed:
        run.failures += 1
        run.last_error = check.first_error
        run.next_run_at = now + policy.backoff(run.failures)
        return
    run.failures = 0
    run.last_error = None
    run.next_run_at = now + policy.poll_every
    if check.before_resolves_at:
        # be there when the outcome is expected, not up to an interval later
        run.next_run_at = min(run.next_run_at, claim.resolves_at)


def finalise_expired(engine: Engine, clock: Clock) -> int:
    """The finalise job: settle every proposal whose window passed undisputed."""
    now = clock()
    with Session(engine) as session:
        sweep_overridden(session, now=now)
    with engine.connect() as conn:
        due = list(
            conn.execute(
                select(proposals_t.c.id)
                .where(
                    proposals_t.c.state == ProposalState.PROPOSED,
                    proposals_t.c.challenge_ends_at <= now,
                )
                .order_by(proposals_t.c.id)
            ).scalars()
        )
    done = 0
    for proposal_id in due:
        with Session(engine, expire_on_commit=False) as session:
            done += finalise_proposal(session, int(proposal_id), now=clock())
    return done
