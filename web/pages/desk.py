"""The editors' desk: the queue, new and changed claims, testing rules, resolving."""

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import TypeAdapter, ValidationError
from sqlmodel import Session, col, select

from claims.clock import as_utc
from claims.closing import closed_by
from claims.errors import DomainError
from claims.evidence import ClaimCheck, ClaimRules, check_claim, snapshot_of
from claims.lifecycle import amend_claim, create_claim, get_claim, publish_claim, tags_of
from claims.models import Claim, RuleRun
from claims.outcome_space import VALUE, Space, check_space, space_of
from claims.states import ClaimKind, ClaimState
from claims.text import LongText
from forecasts.accounts.service import set_role
from forecasts.claimants.records import refresh_claim
from forecasts.ledger.models import Account
from forecasts.ledger.roles import ROLE_RANK
from forecasts.notify.reports import record
from forecasts.resolution.proposals import editors_queue, pending_proposal, reopen_claim
from forecasts.resolution.settle import OUTCOMES, settle_claim
from forecasts.submit.service import has_forecasts
from web.context import AppContext
from web.deps import Ctx, ReadSession, WriteSession
from web.errors import status_of
from web.pages.claim_form import (
    ClaimForm,
    claim_create,
    claim_patch,
    empty_form,
    form_from_post,
    form_of_claim,
    kind_body,
    rules_to_check,
)
from web.pages.kind_view import quantity_of
from web.pages.quantities import Quantity
from web.pages.rendering import render
from web.pages.routing import error_text, page_router, plain_problem, see_other
from web.pages.session import AdminMe, EditorMe, Form, flash
from web.policy import resolution_policy

router = page_router()
KIND_LABELS = {
    ClaimKind.BINARY: "Yes or no",
    ClaimKind.MULTIPLE_CHOICE: "Multiple choice",
    ClaimKind.NUMERIC: "A number",
    ClaimKind.DATE: "A date",
}
_ACCOUNTS_PER_PAGE = 200
_note = TypeAdapter(LongText)


@router.get("/desk", response_class=HTMLResponse)
def desk(request: Request, me: EditorMe, session: ReadSession, ctx: Ctx) -> Response:
    """What needs an editor: the resolution queue, claims awaiting an outcome, drafts."""
    now = ctx.clock()
    closed = closed_by(col(Claim.closes_at), col(Claim.closed_early_at), now)
    awaiting = session.exec(
        select(Claim)
        .where(Claim.state == ClaimState.PUBLISHED, closed)
        .order_by(col(Claim.resolves_at))
    )
    drafts = session.exec(
        select(Claim).where(Claim.state == ClaimState.DRAFT).order_by(col(Claim.id))
    )
    context = {
        "queue": editors_queue(session),
        "awaiting": list(awaiting),
        "drafts": list(drafts),
    }
    return render(request, "desk/queue.html", context)


def _check(
    ctx: AppContext, form: ClaimForm, claim: Claim | None = None
) -> tuple[ClaimCheck | None, list[Any], list[str | None]]:
    """Dry-run the form's rules now (issue 5's check): fetch, judge, store nothing. Rules of
    a claim of another kind judge against its kind's fields (the claim's, or the form's)."""
    rules = rules_to_check(form)
    kind, space = _space(form, claim)
    if form.errors or not rules:
        if not rules and not form.errors:
            form.errors.append("rules: there are no rules to test")
        return None, [], []
    resolves = form.values["resolves_at"] or form.values["closes_at"]
    try:
        resolves_at = _parse(resolves, "resolves at") if resolves else ctx.clock()
    except ValueError:
        resolves_at = ctx.clock()
    item = ClaimRules(0, rules, resolves_at, kind=kind, space=space)
    policy = resolution_policy(ctx.settings)
    check = asyncio.run(
        check_claim(item, policy.fetch, clock=ctx.clock, deadline=policy.rule_deadline)
    )
    snapshots = [snapshot_of(0, result, detailed=True) for result in check.results]
    return check, snapshots, extracted(check, quantity_of(space, kind))


def _space(form: ClaimForm, claim: Claim | None) -> tuple[str, Space]:
    if claim is not None:
        return claim.kind, space_of(claim)
    kind = form.values["kind"]
    try:
        return kind, check_space(kind, kind_body(form, kind))
    except DomainError as error:
        form.errors.append(error_text(error))
        return kind, Space()


def extracted(check: ClaimCheck, quantity: Quantity | None) -> list[str | None]:
    """What each rule's value proposes, in words (a label, a number, a date); None: binary."""
    said: list[str | None] = []
    for result in check.results:
        if result.proposed is None:
            said.append(None)
            continue
        token, value = result.proposed
        shown = quantity.text(value) if quantity is not None and value is not None else token
        said.append(shown)
    return said


def _parse(text: str, field: str) -> datetime:
    """A `datetime-local` value; read as UTC when it names no zone. A ValueError names `field`."""
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError as error:
        raise ValueError(f"{field}: {error}") from None


def _form_page(
    request: Request,
    form: ClaimForm,
    *,
    claim: Claim | None,
    session: Session | None = None,
    check: ClaimCheck | None = None,
    snapshots: list[Any] | None = None,
    said: list[str | None] | None = None,
    status_code: int = 200,
) -> Response:
    context: dict[str, Any] = {
        "form": form,
        "claim": claim,
        "check": check,
        "snapshots": snapshots or [],
        "outcomes": OUTCOMES if claim is None else _outcome_choices(claim),
        "quantity": None if claim is None else quantity_of(claim),
        "extracted": said or [],
        "kinds": KIND_LABELS,
        "run": None,
        "proposal": None,
    }
    if claim is not None and claim.id is not None and session is not None:
        context["run"] = session.get(RuleRun, claim.id)
        context["proposal"] = pending_proposal(session, claim.id)
    return render(request, "desk/claim_form.html", context, status_code=status_code)


@router.get("/desk/claims/new", response_class=HTMLResponse)
def new_claim_form(request: Request, me: EditorMe) -> Response:
    return _form_page(request, empty_form(), claim=None)


@router.post("/desk/claims/new", response_class=HTMLResponse)
def new_claim(
    request: Request, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    form = form_from_post(posted)
    if posted.get("action") == "check":
        check, snapshots, said = _check(ctx, form)
        return _form_page(request, form, claim=None, check=check, snapshots=snapshots, said=said)
    data = claim_create(form)
    if data is None:
        return _form_page(request, form, claim=None, status_code=422)
    try:
        claim = create_claim(session, data, editor_id=me.account_id, now=ctx.clock(), record=record)
    except DomainError as error:
        form.errors.append(error_text(error))
        return _form_page(request, form, claim=None, status_code=status_of(error))
    flash(request, "Saved as a draft." if claim.state == ClaimState.DRAFT else "Published.")
    return see_other(f"/claims/{claim.slug}")


@router.get("/desk/claims/{slug}", response_class=HTMLResponse)
def edit_claim_form(request: Request, slug: str, me: EditorMe, session: ReadSession) -> Response:
    claim = get_claim(session, slug)
    assert claim.id is not None
    form = form_of_claim(claim, tags_of(session, claim.id))
    return _form_page(request, form, claim=claim, session=session)


@router.post("/desk/claims/{slug}", response_class=HTMLResponse)
def edit_claim(
    request: Request, slug: str, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    claim = get_claim(session, slug)
    assert claim.id is not None
    form = form_from_post(posted | {"slug": claim.slug, "kind": claim.kind})
    action = posted.get("action")
    if action == "check":
        check, snapshots, said = _check(ctx, form, claim)
        return _form_page(
            request,
            form,
            claim=claim,
            session=session,
            check=check,
            snapshots=snapshots,
            said=said,
        )
    if action == "publish":
        publish_claim(session, slug, now=ctx.clock(), record=record)
        flash(request, "Published.")
        return see_other(f"/claims/{slug}")
    patch = claim_patch(form, claim, tags_of(session, claim.id))
    if patch is None:
        return _form_page(request, form, claim=claim, session=session, status_code=422)
    seen = has_forecasts(session.connection(), claim.id)
    try:
        amend_claim(
            session,
            claim,
            patch,
            forecast_seen=seen,
            now=ctx.clock(),
            record=record,
            on_source=refresh_claim,
        )
    except DomainError as error:
        session.rollback()
        form.errors.append(error_text(error))
        status = status_of(error)
        return _form_page(request, form, claim=get_claim(session, slug), status_code=status)
    changed = ", ".join(sorted(patch.model_dump(exclude_unset=True))) or "nothing"
    flash(request, f"Saved (changed: {changed.replace('_', ' ')}).")
    return see_other(f"/claims/{slug}")


@router.post("/desk/claims/{slug}/resolve")
def resolve(
    request: Request, slug: str, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    """Resolve, annul or call ambiguous (again, to re-resolve): issue 4's settle_claim."""
    note_text = posted.get("note", "").strip()
    closed_text = posted.get("closed_at", "").strip()
    claim = get_claim(session, slug)
    try:
        outcome = _outcome(claim, posted)
        note = _note.validate_python(note_text) or None
        closed_at = _parse(closed_text, "closed at") if closed_text else None
        claim = settle_claim(
            session,
            claim,
            outcome,
            now=ctx.clock(),
            closed_at=closed_at,
            note=note,
            by=me.handle,
        )
    except (DomainError, ValueError) as error:
        session.rollback()
        flash(request, f"Not settled: {_refusal(error)}")
        return see_other(f"/desk/claims/{slug}#resolve")
    said = claim.outcome or claim.state
    quantity = quantity_of(claim)
    if quantity is not None and claim.outcome_value is not None:
        said = quantity.text(claim.outcome_value)
    flash(request, f"Settled: {said}. Scores are updated.")
    return see_other(f"/claims/{slug}")


def _outcome(claim: Claim, posted: dict[str, str]) -> Any:
    """The settling form's outcome as `settle_claim` takes it: a token, a label, a number or
    a time (the value typed for a numeric or date claim)."""
    outcome = posted.get("outcome", "")
    choices = _outcome_choices(claim)
    if outcome not in choices:
        raise ValueError("choose an outcome")
    quantity = quantity_of(claim)
    if outcome != VALUE or quantity is None:
        return outcome
    typed = posted.get("outcome_value", "").strip()[:40]
    try:
        value = quantity.parse(typed)
    except ValueError:
        what = "a date like 2027-06-30" if quantity.is_date else "a number like 2100000"
        raise ValueError(f"outcome value: give {what}") from None
    return datetime.fromtimestamp(value, UTC) if quantity.is_date else value


def _outcome_choices(claim: Claim) -> list[str]:
    """What the settling form offers: yes/no, the options, or a value; then the tokens."""
    if claim.kind == ClaimKind.BINARY:
        return list(OUTCOMES)
    given = claim.options or [] if claim.kind == ClaimKind.MULTIPLE_CHOICE else [VALUE]
    return [*given, "annulled", "ambiguous"]


@router.post("/desk/claims/{slug}/reopen")
def reopen(
    request: Request, slug: str, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    """Reject an early proposal: the claim reopens until its scheduled close."""
    try:
        note = _note.validate_python(posted.get("note", "").strip()) or None
        reopen_claim(session, slug, by=me.handle, by_id=me.account_id, note=note, now=ctx.clock())
    except (DomainError, ValidationError) as error:
        session.rollback()
        flash(request, f"Not reopened: {_refusal(error)}")
        return see_other(f"/desk/claims/{slug}#reopen")
    flash(request, "Reopened: the claim takes forecasts again until its scheduled close.")
    return see_other(f"/claims/{slug}")


@router.get("/desk/accounts", response_class=HTMLResponse)
def accounts(
    request: Request,
    me: AdminMe,
    session: ReadSession,
    q: Annotated[str, Query(max_length=40)] = "",
) -> Response:
    """Admins: accounts (by handle, those starting with `q`), each with its role to change."""
    query = select(Account).order_by(col(Account.handle)).limit(_ACCOUNTS_PER_PAGE)
    if q.strip():
        query = query.where(col(Account.handle).startswith(q.strip(), autoescape=True))
    context = {
        "accounts": list(session.exec(query)),
        "q": q,
        "roles": list(ROLE_RANK),
        "limit": _ACCOUNTS_PER_PAGE,
    }
    return render(request, "desk/accounts.html", context)


@router.post("/desk/accounts/{handle}/role")
def change_role(
    request: Request, handle: str, me: AdminMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    """Admins: give an account another role (the last admin stays one)."""
    try:
        account = set_role(session, handle, posted.get("role", ""))
    except DomainError as error:
        session.rollback()
        flash(request, f"Role not changed: {error_text(error)}")
        return see_other(f"/desk/accounts?q={quote(handle)}")
    ctx.forget_tokens()  # the API's cached callers carry their role
    flash(request, f"@{account.handle} is now {account.role}.")
    return see_other(f"/desk/accounts?q={quote(handle)}")


def _refusal(error: Exception) -> str:
    """What a settling or reopening form is told when it is refused."""
    if isinstance(error, ValidationError):  # only the note is validated here
        return plain_problem(error.errors()[0], "note")
    return error_text(error) if isinstance(error, DomainError) else str(error)
