"""The desk's claimants: add and edit them, and link claims' free-text claimants to them."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from sqlmodel import Session, col, select

from claims.claimants import amend_claimant, create_claimant, get_claimant
from claims.errors import DomainError
from claims.lifecycle import amend_claim, get_claim
from claims.models import Claim, Claimant
from claims.schemas import ClaimantCreate, ClaimantPatch, ClaimPatch
from claims.sources import free_text_claimant
from forecasts.claimants.records import refresh_claim
from forecasts.ledger.chain import record
from forecasts.submit.service import has_forecasts
from web.deps import Ctx, ReadSession, WriteSession
from web.pages.rendering import render
from web.pages.routing import error_text, page_router, plain_problem, see_other
from web.pages.session import EditorMe, Form, flash

router = page_router()
FIELDS = ("slug", "name", "kind", "url", "description")
_UNLINKED = 200  # free-text claims listed at most


def _claimant_values(claimant: Claimant | None) -> dict[str, str]:
    if claimant is None:
        return {name: "" for name in FIELDS} | {"kind": "person"}
    return {name: str(getattr(claimant, name) or "") for name in FIELDS}


def _unlinked(session: Session) -> list[dict[str, Any]]:
    """Claims whose claimant is free text from before claimants, each with its namesake."""
    claims = session.exec(
        select(Claim)
        .where(col(Claim.claimant).is_(None), col(Claim.source).is_not(None))
        .order_by(col(Claim.id))
        .limit(_UNLINKED)
    )
    found = [(claim, free_text_claimant(claim)) for claim in claims]
    texts = sorted({text for _, text in found if text})
    names = {
        claimant.name: claimant.slug
        for claimant in session.exec(select(Claimant).where(col(Claimant.name).in_(texts)))
    }
    return [
        {"claim": claim, "text": text, "namesake": names.get(text)} for claim, text in found if text
    ]


def _page(
    request: Request, session: Session, values: dict[str, str], errors: list[str], status: int
) -> Response:
    claimants = list(session.exec(select(Claimant).order_by(col(Claimant.slug))))
    context = {
        "claimants": claimants,
        "values": values,
        "errors": errors,
        "unlinked": _unlinked(session),
    }
    return render(request, "desk/claimants.html", context, status_code=status)


def _validated(model: type[BaseModel], body: dict[str, Any], errors: list[str]) -> Any:
    try:
        return model.model_validate(body)
    except ValidationError as error:
        errors.extend(plain_problem(item) for item in error.errors())
        return None


def _body(posted: dict[str, str], names: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {name: posted.get(name, "").strip() for name in names}
    body["url"] = body.get("url") or None
    return body


@router.get("/desk/claimants", response_class=HTMLResponse)
def claimants(request: Request, me: EditorMe, session: ReadSession) -> Response:
    return _page(request, session, _claimant_values(None), [], 200)


@router.post("/desk/claimants", response_class=HTMLResponse)
def new_claimant(
    request: Request, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    values = {name: posted.get(name, "") for name in FIELDS}
    errors: list[str] = []
    data = _validated(ClaimantCreate, _body(posted, FIELDS), errors)
    if data is None:
        return _page(request, session, values, errors, 422)
    try:
        claimant = create_claimant(session, data, now=ctx.clock(), record=record)
    except DomainError as error:
        session.rollback()
        return _page(request, session, values, [error_text(error)], 409)
    flash(request, f"Added {claimant.name}.")
    return see_other(f"/claimants/{claimant.slug}")


@router.get("/desk/claimants/{slug}", response_class=HTMLResponse)
def edit_claimant_form(request: Request, slug: str, me: EditorMe, session: ReadSession) -> Response:
    claimant = get_claimant(session, slug)
    context = {"claimant": claimant, "values": _claimant_values(claimant), "errors": []}
    return render(request, "desk/claimant_form.html", context)


@router.post("/desk/claimants/{slug}", response_class=HTMLResponse)
def edit_claimant(
    request: Request, slug: str, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    claimant = get_claimant(session, slug)
    errors: list[str] = []
    patch = _validated(ClaimantPatch, _body(posted, FIELDS[1:]), errors)
    if patch is None:
        values = {name: posted.get(name, "") for name in FIELDS} | {"slug": slug}
        context = {"claimant": claimant, "values": values, "errors": errors}
        return render(request, "desk/claimant_form.html", context, status_code=422)
    amend_claimant(session, slug, patch, now=ctx.clock(), record=record)
    flash(request, "Saved.")
    return see_other(f"/claimants/{slug}")


@router.post("/desk/claims/{slug}/link")
def link_claimant(
    request: Request, slug: str, me: EditorMe, posted: Form, session: WriteSession, ctx: Ctx
) -> Response:
    """Link a claim's free-text claimant to the claimant of that name, with a stance."""
    claim = get_claim(session, slug)
    assert claim.id is not None
    source = {**(claim.source or {}), "claimant": posted.get("claimant", "").strip()}
    source["stance"] = posted.get("stance", "").strip() or None
    errors: list[str] = []
    patch = _validated(ClaimPatch, {"source": source}, errors)
    try:
        if patch is None:
            raise ValueError(" ".join(errors))
        seen = has_forecasts(session.connection(), claim.id)
        amend_claim(
            session,
            claim,
            patch,
            forecast_seen=seen,
            now=ctx.clock(),
            record=record,
            on_source=refresh_claim,
        )
    except (DomainError, ValueError) as error:
        session.rollback()
        text = error_text(error) if isinstance(error, DomainError) else str(error)
        flash(request, f"Not linked: {text}")
        return see_other("/desk/claimants")
    flash(request, f"Linked to {source['claimant']}.")
    return see_other(f"/claims/{slug}")
