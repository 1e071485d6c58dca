"""The editors' claim form: HTML form fields to and from the API's claim shapes.

Times are entered in UTC (`datetime-local` inputs carry no zone; the labels say so). Rules
are edited as JSON, a list of the rule objects of SPEC §5.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from claims.clock import as_utc
from claims.models import Claim
from claims.rules import RuleSpec
from claims.schemas import ClaimCreate, ClaimPatch
from web.pages.routing import plain_problem

TEXT_FIELDS = ("title", "description", "resolution_criteria", "fine_print")
TIME_FIELDS = ("opens_at", "closes_at", "resolves_at")
SOURCE_FIELDS = (
    "url",
    "claimant",
    "stance",
    "option",
    "stated_probability",
    "quote",
    "published_at",
)


@dataclass
class ClaimForm:
    """What the form shows: the values as text and the problems found with them."""

    values: dict[str, str]
    errors: list[str] = field(default_factory=list)


def _local_time(moment: datetime | None) -> str:
    return "" if moment is None else as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S")


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def form_of_claim(claim: Claim, tags: list[str]) -> ClaimForm:
    source = claim.source or {}
    values = {
        "slug": claim.slug,
        **{name: str(getattr(claim, name)) for name in TEXT_FIELDS},
        "tags": " ".join(tags),
        **{name: _local_time(getattr(claim, name)) for name in TIME_FIELDS},
        "rules": json.dumps(claim.rules, indent=2) if claim.rules else "",
        **{f"source_{name}": _text(source.get(name)) for name in SOURCE_FIELDS},
        "draft": "",
    }
    if values["source_published_at"]:
        values["source_published_at"] = values["source_published_at"][:19].replace("Z", "")
    return ClaimForm(values)


def empty_form() -> ClaimForm:
    names = ("slug", *TEXT_FIELDS, "tags", *TIME_FIELDS, "rules", "draft")
    return ClaimForm({name: "" for name in names} | {f"source_{n}": "" for n in SOURCE_FIELDS})


def form_from_post(posted: dict[str, str]) -> ClaimForm:
    blank = empty_form().values
    # browsers send textarea lines ending in CRLF; the record keeps LF
    return ClaimForm({name: posted.get(name, "").replace("\r\n", "\n") for name in blank})


def _utc(text: str) -> str | None:
    """A `datetime-local` value read as UTC, as ISO-8601 with the zone; None when empty."""
    text = text.strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the schema names the field and the problem
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()


def parse_rules(form: ClaimForm) -> list[Any]:
    text = form.values["rules"].strip()
    if not text:
        return []
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as error:
        form.errors.append(f"rules: not valid JSON ({error.msg}, line {error.lineno})")
        return []
    if isinstance(rules, dict):
        rules = [rules]
    if not isinstance(rules, list):
        form.errors.append("rules: give a list of rule objects")
        return []
    return rules


def _body(form: ClaimForm) -> dict[str, Any]:
    v = form.values
    body: dict[str, Any] = {name: v[name] for name in TEXT_FIELDS}
    body["tags"] = [tag for tag in v["tags"].replace(",", " ").split() if tag]
    for name in TIME_FIELDS:
        body[name] = _utc(v[name])
    body["rules"] = parse_rules(form)
    source: dict[str, Any] = {name: v[f"source_{name}"].strip() or None for name in SOURCE_FIELDS}
    source["published_at"] = _utc(source["published_at"] or "")
    source["stated_probability"] = _probability(source["stated_probability"])
    body["source"] = source if any(source.values()) else None
    return body


def _probability(text: str | None) -> float | str | None:
    """A stated probability typed as 0.7 or 70%; anything else goes on to the schema's 422."""
    if text is None:
        return None
    try:
        return float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        return text


def _errors(error: ValidationError) -> list[str]:
    return [plain_problem(item) for item in error.errors()]


def _validated(model: type[BaseModel], body: dict[str, Any], form: ClaimForm) -> Any:
    if form.errors:
        return None
    try:
        return model.model_validate(body)
    except ValidationError as error:
        form.errors.extend(_errors(error))
        return None


def claim_create(form: ClaimForm) -> ClaimCreate | None:
    body = _body(form)
    body["slug"] = form.values["slug"].strip()
    body["status"] = "draft" if form.values["draft"] else "published"
    result: ClaimCreate | None = _validated(ClaimCreate, body, form)
    return result


def claim_patch(form: ClaimForm, claim: Claim, tags: list[str]) -> ClaimPatch | None:
    """Only the fields that differ from the claim: an unchanged field is not a change."""
    body = _body(form)
    full: ClaimPatch | None = _validated(ClaimPatch, body, form)
    if full is None:
        return None
    changes: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        if getattr(full, name) != getattr(claim, name):
            changes[name] = getattr(full, name)
    if sorted(set(full.tags or [])) != tags:
        changes["tags"] = full.tags or []
    for name in TIME_FIELDS:
        given = getattr(full, name)
        if given is not None and as_utc(given) != as_utc(getattr(claim, name)).replace(
            microsecond=0
        ):
            changes[name] = given
    rules = [rule.model_dump(mode="json") for rule in full.rules or []]
    if rules != claim.rules:
        changes["rules"] = full.rules or []
    source = full.source.model_dump(mode="json", exclude_none=True) if full.source else None
    if (source or None) != (claim.source or None):
        changes["source"] = full.source
    return ClaimPatch.model_validate(
        {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in changes.items()}
    )


def rules_to_check(form: ClaimForm) -> list[dict[str, Any]]:
    """The form's rules, validated one by one (a bad one is reported, not checked)."""
    checked = []
    for index, raw in enumerate(parse_rules(form)):
        try:
            checked.append(RuleSpec.model_validate(raw).model_dump(mode="json"))
        except ValidationError as error:
            form.errors.extend(f"Rule {index + 1}, {problem}" for problem in _errors(error))
    return checked
