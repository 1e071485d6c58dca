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
from claims.states import RANGE_KINDS, ClaimKind
from web.pages.quantities import date_field, exact, parse_date, parse_number
from web.pages.routing import plain_problem

TEXT_FIELDS = ("title", "description", "resolution_criteria", "fine_print")
# the kind's fields (SPEC §7) as form fields; a checkbox sends nothing when it is unticked
KIND_FIELDS = ("kind", "options", "range_min", "range_max", "unit")
CHECKBOXES = ("open_lower_bound", "open_upper_bound", "log_scale")
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
        **_kind_values(claim),
    }
    if values["source_published_at"]:
        values["source_published_at"] = values["source_published_at"][:19].replace("Z", "")
    return ClaimForm(values)


def _kind_values(claim: Claim) -> dict[str, str]:
    is_date = claim.kind == ClaimKind.DATE

    def end(value: float | None) -> str:
        if value is None:
            return ""
        return date_field(value) if is_date else exact(value)

    return {
        "kind": claim.kind,
        "options": "\n".join(claim.options or []),
        "range_min": end(claim.range_min),
        "range_max": end(claim.range_max),
        "unit": claim.unit,
        **{name: "1" if getattr(claim, name) else "" for name in CHECKBOXES},
    }


def empty_form() -> ClaimForm:
    names = ("slug", *TEXT_FIELDS, "tags", *TIME_FIELDS, "rules", "draft", *KIND_FIELDS)
    values = {name: "" for name in names} | {f"source_{n}": "" for n in SOURCE_FIELDS}
    # a new range claim's bounds are open unless the editor closes them (SPEC §7's default)
    return ClaimForm(
        values
        | {
            "kind": ClaimKind.BINARY,
            "open_lower_bound": "1",
            "open_upper_bound": "1",
            "log_scale": "",
        }
    )


def form_from_post(posted: dict[str, str]) -> ClaimForm:
    blank = empty_form().values
    # browsers send textarea lines ending in CRLF; the record keeps LF
    values = {name: posted.get(name, "").replace("\r\n", "\n") for name in blank}
    return ClaimForm(values | {"kind": posted.get("kind") or ClaimKind.BINARY})


def _range_end(form: ClaimForm, kind: str, name: str) -> Any:
    """A range end as the API takes it: a number, or for a date claim an ISO time."""
    text = form.values[name].strip()
    if not text:
        return None
    try:
        if kind == ClaimKind.DATE:
            return datetime.fromtimestamp(parse_date(text), UTC).isoformat()
        return parse_number(text)
    except ValueError:
        what = "a date like 2027-06-30" if kind == ClaimKind.DATE else "a number like 2100000"
        form.errors.append(f"{name.replace('_', ' ').capitalize()}: give {what}.")
        return None


def kind_body(form: ClaimForm, kind: str) -> dict[str, Any]:
    """The fields of the form's kind; another kind's are left out (the API refuses them)."""
    v = form.values
    if kind == ClaimKind.MULTIPLE_CHOICE:
        return {"options": [line.strip() for line in v["options"].split("\n") if line.strip()]}
    if kind not in RANGE_KINDS:
        return {}
    body: dict[str, Any] = {
        name: _range_end(form, kind, name) for name in ("range_min", "range_max")
    }
    body |= {
        "open_lower_bound": bool(v["open_lower_bound"]),
        "open_upper_bound": bool(v["open_upper_bound"]),
    }
    body["unit"] = v["unit"].strip()
    if kind == ClaimKind.NUMERIC:
        body["log_scale"] = bool(v["log_scale"])
    return body


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
    kind = form.values["kind"]
    body |= {"kind": kind, **kind_body(form, kind)}
    body["slug"] = form.values["slug"].strip()
    body["status"] = "draft" if form.values["draft"] else "published"
    result: ClaimCreate | None = _validated(ClaimCreate, body, form)
    return result


def claim_patch(form: ClaimForm, claim: Claim, tags: list[str]) -> ClaimPatch | None:
    """Only the fields that differ from the claim: an unchanged field is not a change."""
    body = _body(form) | kind_body(form, claim.kind)
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
    changes |= _kind_changes(full, claim)
    return ClaimPatch.model_validate(
        {k: v.model_dump() if isinstance(v, BaseModel) else v for k, v in changes.items()}
    )


def _kind_changes(full: ClaimPatch, claim: Claim) -> dict[str, Any]:
    """The kind fields the form changed (the domain refuses a change once forecasts are in)."""
    changes: dict[str, Any] = {}
    for name in full.model_fields_set & {
        "options",
        "open_lower_bound",
        "open_upper_bound",
        "log_scale",
        "unit",
    }:
        if getattr(full, name) != getattr(claim, name):
            changes[name] = getattr(full, name)
    for name in ("range_min", "range_max"):
        given = getattr(full, name)
        seconds = as_utc(given).timestamp() if isinstance(given, datetime) else given
        if name in full.model_fields_set and seconds != getattr(claim, name):
            changes[name] = given.isoformat() if isinstance(given, datetime) else given
    return changes


def rules_to_check(form: ClaimForm) -> list[dict[str, Any]]:
    """The form's rules, validated one by one (a bad one is reported, not checked)."""
    checked = []
    for index, raw in enumerate(parse_rules(form)):
        try:
            checked.append(RuleSpec.model_validate(raw).model_dump(mode="json"))
        except ValidationError as error:
            form.errors.extend(f"Rule {index + 1}, {problem}" for problem in _errors(error))
    return checked
