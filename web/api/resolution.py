"""Automatic resolution: dry-run a claim's rules, its evidence, disputes, the editors' queue."""

import asyncio
from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select

from claims.clock import stamp
from claims.errors import Forbidden, NotFound
from claims.evidence import ClaimRules, body_shown, check_claim, snapshot_body, snapshot_of
from claims.lifecycle import get_claim
from claims.models import Claim, EvidenceSnapshot, Proposal
from claims.outcome_space import recorded_outcome, space_of
from claims.schemas import Number, OptionLabel
from claims.states import ClaimKind
from claims.text import LongText, UTCTime
from forecasts.accounts.service import Principal
from forecasts.ledger.roles import ROLE_RANK, Role
from forecasts.resolution.autoresolve import UNDECIDED
from forecasts.resolution.proposals import QueueItem, dispute_proposal, editors_queue, reopen_claim
from forecasts.resolution.settle import settle_claim
from web.api.claims import render_claim, visible_claim
from web.api.paging import Cursor, Limit, RowId, decode_cursor, keyset_page
from web.api.views import ClaimOut, Page
from web.deps import Caller, Ctx, Editor, MaybeCaller, ReadSession, WriteSession
from web.errors import responses
from web.policy import resolution_policy

router = APIRouter(tags=["resolution"])


class ResolutionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Number | OptionLabel = Field(
        description="yes/no (binary), a label (multiple choice), a number (numeric), an ISO "
        "time (date), or annulled/ambiguous"
    )
    note: LongText | None = None
    closed_at: UTCTime | None = None


class SnapshotOut(BaseModel):
    id: int | None
    rule_index: int
    url: str
    final_url: str
    fetched_at: str
    status: int | None
    content_type: str | None
    sha256: str
    body_size: int
    value: Any
    decision: str | None
    error: str | None
    proposal_id: int | None
    # false: the allow list let the fetch reach a non-public address (null: not recorded)
    public_address: bool | None
    withheld: bool  # body and value hidden from this caller (editors see them)
    extracted: Any = Field(
        default=None,
        description="dry runs of claims of other kinds: the outcome this rule's value proposes "
        "(a label, a number or an ISO time), null when it decides nothing",
    )


class CheckOut(BaseModel):
    claim: str
    checked_at: str
    outcome: str  # what the rules say now: yes, no, conflict, none; or a label or "value"
    value: Any = Field(
        default=None, description="the agreed outcome of other kinds: label, number, ISO time"
    )
    snapshots: list[SnapshotOut]


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText | None = None


class ProposalOut(BaseModel):
    claim: str
    outcome: str | float
    state: str
    proposed_at: str
    closed_at: str
    closes_early: bool
    challenge_ends_at: str
    ledger_seq: int | None


class QueueItemOut(BaseModel):
    kind: str
    claim: str
    title: str
    since: str
    outcome: str | None
    challenge_ends_at: str | None
    failures: int
    error: str | None


def snapshot_out(
    snapshot: EvidenceSnapshot, *, shown: bool = True, extracted: Any = None
) -> SnapshotOut:
    return SnapshotOut(
        id=snapshot.id,
        rule_index=snapshot.rule_index,
        url=snapshot.url,
        final_url=snapshot.final_url,
        fetched_at=stamp(snapshot.fetched_at),
        status=snapshot.status,
        content_type=snapshot.content_type,
        sha256=snapshot.sha256,
        body_size=snapshot.body_size,
        value=snapshot.value if shown else None,
        decision=snapshot.decision,
        error=snapshot.error,
        proposal_id=snapshot.proposal_id,
        public_address=snapshot.public_address,
        withheld=not shown,
        extracted=extracted,
    )


def _shown(snapshot: EvidenceSnapshot, ctx: Ctx, caller: Principal | None) -> bool:
    editor = caller is not None and ROLE_RANK[caller.role] >= ROLE_RANK[Role.EDITOR]
    publish = ctx.settings.publish_private_evidence
    return body_shown(snapshot, editor=editor, publish_private=publish)


def _queue_item_out(item: QueueItem) -> QueueItemOut:
    ends = item.challenge_ends_at
    return QueueItemOut(
        kind=item.kind,
        claim=item.claim,
        title=item.title,
        since=stamp(item.since),
        outcome=item.outcome,
        challenge_ends_at=stamp(ends) if ends else None,
        failures=item.failures,
        error=item.error,
    )


@router.post(
    "/claims/{slug}/resolution",
    response_model=ClaimOut,
    responses=responses(401, 403, 404, 409, 422),
)
def post_resolution(
    slug: str, body: ResolutionIn, session: WriteSession, ctx: Ctx, editor: Editor
) -> ClaimOut:
    """Resolve (yes/no), annul or call ambiguous; posting again re-resolves and rescores."""
    claim = get_claim(session, slug)
    claim = settle_claim(
        session,
        claim,
        body.outcome,
        now=ctx.clock(),
        closed_at=body.closed_at,
        note=body.note,
        by=editor.handle,
    )
    return render_claim(session, ctx, claim, editor)


@router.post("/claims/{slug}/check", response_model=CheckOut, responses=responses(401, 403, 404))
def check_rules(slug: str, session: ReadSession, ctx: Ctx, _editor: Editor) -> CheckOut:
    """Fetch and judge the claim's rules now; stores and changes nothing."""
    claim = get_claim(session, slug)
    assert claim.id is not None
    item = ClaimRules(claim.id, claim.rules, claim.resolves_at, claim.kind, space_of(claim))
    policy = resolution_policy(ctx.settings)
    check = asyncio.run(
        check_claim(item, policy.fetch, clock=ctx.clock, deadline=policy.rule_deadline)
    )
    return CheckOut(
        claim=claim.slug,
        checked_at=stamp(check.checked_at),
        outcome=check.outcome,
        value=recorded_outcome(claim.kind, check.outcome, check.outcome_value)
        if claim.kind != ClaimKind.BINARY and check.outcome not in UNDECIDED
        else None,
        snapshots=[
            snapshot_out(
                snapshot_of(claim.id, result, detailed=True),
                extracted=recorded_outcome(claim.kind, *result.proposed)
                if result.proposed is not None
                else None,
            )
            for result in check.results
        ],
    )


@router.post(
    "/claims/{slug}/dispute",
    response_model=ProposalOut,
    responses=responses(401, 403, 404, 409, 422),
)
def dispute(
    slug: str, session: WriteSession, ctx: Ctx, caller: Caller, body: DisputeIn | None = None
) -> ProposalOut:
    """Dispute a proposed outcome while it is in its challenge window: editors decide it.

    Only forecasters with a standing forecast on the claim may, and the first dispute is
    the only one (the proposal is with the editors after it)."""
    note = body.note if body else None
    claim = visible_claim(session, slug, caller)  # a draft is an unknown slug, not a 409
    proposal = dispute_proposal(
        session,
        slug,
        account_id=caller.account_id,
        handle=caller.handle,
        note=note,
        now=ctx.clock(),
    )
    return proposal_out(claim, proposal)


class ReopenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText | None = None


@router.post(
    "/claims/{slug}/reopen",
    response_model=ClaimOut,
    responses=responses(401, 403, 404, 409, 422),
)
def reopen(
    slug: str, session: WriteSession, ctx: Ctx, editor: Editor, body: ReopenIn | None = None
) -> ClaimOut:
    """Reject an early proposal (an early yes, proposed or disputed): the claim reopens until
    its scheduled close, and its rules stop deciding early until the claim is edited."""
    note = body.note if body else None
    claim = reopen_claim(
        session, slug, by=editor.handle, by_id=editor.account_id, note=note, now=ctx.clock()
    )
    return render_claim(session, ctx, claim, editor)


def proposal_out(claim: Claim, proposal: Proposal) -> ProposalOut:
    return ProposalOut(
        claim=claim.slug,
        outcome=recorded_outcome(claim.kind, proposal.outcome, proposal.outcome_value),
        state=proposal.state,
        proposed_at=stamp(proposal.proposed_at),
        closed_at=stamp(proposal.tc),
        closes_early=proposal.closes_early,
        challenge_ends_at=stamp(proposal.challenge_ends_at),
        ledger_seq=proposal.ledger_seq,
    )


@router.get(
    "/claims/{slug}/evidence",
    response_model=Page[SnapshotOut],
    responses=responses(401, 404, 422),
)
def list_evidence(
    slug: str,
    session: ReadSession,
    ctx: Ctx,
    caller: MaybeCaller,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[SnapshotOut]:
    """Every evidence snapshot kept for the claim, newest first.

    The value of a body fetched from a non-public address is withheld from all but editors."""
    claim = visible_claim(session, slug, caller)
    query = (
        select(EvidenceSnapshot)
        .where(EvidenceSnapshot.claim_id == claim.id)
        .order_by(col(EvidenceSnapshot.id).desc())
        .limit(limit + 1)
    )
    before = decode_cursor(cursor)
    if before is not None:
        query = query.where(col(EvidenceSnapshot.id) < before)
    rows, next_cursor = keyset_page(list(session.exec(query)), limit, lambda r: r.id or None)
    return Page[SnapshotOut](
        items=[snapshot_out(row, shown=_shown(row, ctx, caller)) for row in rows],
        next_cursor=next_cursor,
    )


@router.get(
    "/claims/{slug}/evidence/{snapshot_id}/body",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}, **responses(401, 403, 404)},
)
def evidence_body(
    slug: str, snapshot_id: RowId, session: ReadSession, ctx: Ctx, caller: MaybeCaller
) -> Response:
    """The body a snapshot fetched, byte for byte (its sha256 is the snapshot's `sha256`).

    A body fetched from a non-public address is for editors only (403 for anyone else)."""
    claim = visible_claim(session, slug, caller)
    snapshot = session.get(EvidenceSnapshot, snapshot_id)
    if snapshot is None or snapshot.claim_id != claim.id:
        raise NotFound(f"no snapshot {snapshot_id} of claim {slug!r}")
    if not _shown(snapshot, ctx, caller):
        raise Forbidden("this body was fetched from a non-public address: editors only")
    headers = {
        # never rendered by a browser as a page of ours, whatever the source sent
        "Content-Disposition": f'attachment; filename="evidence-{snapshot_id}"',
        "X-Content-Type-Options": "nosniff",
        "X-Evidence-SHA256": snapshot.sha256,
    }
    return Response(snapshot_body(snapshot), media_type="application/octet-stream", headers=headers)


@router.get("/queue", response_model=Page[QueueItemOut], responses=responses(401, 403))
def queue(session: ReadSession, _editor: Editor) -> Page[QueueItemOut]:
    """What editors should look at: proposals, disputes, failing rules and conflicts."""
    items = [_queue_item_out(item) for item in editors_queue(session)]
    return Page[QueueItemOut](items=items, next_cursor=None)
