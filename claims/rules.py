"""Resolution rules (SPEC §5): parse a fetched document into plain JSON values and judge it.

Everything here is pure: bytes in, values out. Cost is bounded in three ways: the fetcher caps
the body (`FetchPolicy.max_bytes`, 2 MB by default), `RuleSpec` caps the expression, the
selector and the regex, and regexes run on RE2, in time linear in the text (no backtracking,
so no backreferences or lookaround). An expression or selector can still be slow on a large
document: callers run `assess` through `claims.sandbox`, under a deadline.
"""

import codecs
import csv
import io
import json
import math
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any, Literal

import feedparser
import httpx
import jmespath
import jmespath.functions
import re2
from jmespath.exceptions import JMESPathError
from jmespath.parser import ParsedResult
from pydantic import (
    BaseModel,
    ConfigDict,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)
from selectolax.lexbor import LexborHTMLParser, SelectolaxError

Format = Literal["json", "html", "rss", "csv", "text"]
Outcome = Literal["yes", "no", "conflict", "none"]

_FORBIDDEN_MARKUP = (b"<!doctype", b"<!entity")


class DocumentError(ValueError):
    """The fetched body could not be parsed in the rule's format."""


_FUNCTIONS: dict[str, Any] = jmespath.functions.Functions().FUNCTION_TABLE


@lru_cache(maxsize=1024)
def _compile_expression(expression: str) -> ParsedResult:
    parsed = jmespath.compile(expression)
    _check_calls(parsed.parsed)
    return parsed


def _check_calls(node: Mapping[str, Any]) -> None:
    """Refuse unknown functions and wrong argument counts now rather than at every evaluation."""
    if node.get("type") == "function_expression":
        name, given = node["value"], len(node["children"])
        if name not in _FUNCTIONS:
            raise JMESPathError(f"unknown function {name}()")
        signature = _FUNCTIONS[name]["signature"]
        variadic = bool(signature) and signature[-1].get("variadic", False)
        if given < len(signature) if variadic else given != len(signature):
            raise JMESPathError(f"{name}() given {given} argument(s), expects {len(signature)}")
    for child in node.get("children", ()):
        if isinstance(child, dict):
            _check_calls(child)


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is a 422, not a line on stderr


@lru_cache(maxsize=256)
def _compile_regex(pattern: str) -> "re2._Regexp[str]":
    return re2.compile(pattern, _RE2_OPTIONS)


def _no_nul(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL bytes")
    return text


class RuleSpec(BaseModel):
    """One machine check: fetch `url`, parse it as `format`, evaluate `expression` on it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    format: Format
    select: Annotated[str, StringConstraints(min_length=1, max_length=500)] | None = None
    attr: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    expression: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    yes_early: bool = False

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        if any(ch.isspace() or not ch.isprintable() for ch in value):
            raise ValueError("must not contain spaces or control characters")
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"not a valid URL: {exc}") from None
        if url.scheme not in ("http", "https"):
            raise ValueError("must be an http or https URL")
        if not url.host:
            raise ValueError("must name a host")
        if url.userinfo:
            raise ValueError("must not carry credentials")
        if url.port is not None and not 0 < url.port < 65536:
            raise ValueError("port out of range")
        return value

    @field_validator("expression")
    @classmethod
    def _check_expression(cls, value: str) -> str:
        try:
            _compile_expression(_no_nul(value))
        except JMESPathError as exc:
            raise ValueError(f"not a valid JMESPath expression: {exc}") from None
        return value

    @field_validator("attr")
    @classmethod
    def _check_attr(cls, value: str | None) -> str | None:
        return None if value is None else _no_nul(value)

    @field_validator("select")
    @classmethod
    def _check_select(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None:
            return None
        _no_nul(value)
        if info.data.get("format") == "text":
            try:
                _compile_regex(value)
            except re2.error as exc:
                reason = (
                    exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else exc
                )
                raise ValueError(f"not a regular expression RE2 accepts: {reason}") from None
        elif info.data.get("format") == "html":
            try:
                LexborHTMLParser("").css(value)
            except SelectolaxError as exc:
                raise ValueError(f"not a valid CSS selector: {exc}") from None
        return value

    @model_validator(mode="after")
    def _check_format_fields(self) -> "RuleSpec":
        if self.format in ("html", "text") and self.select is None:
            raise ValueError(f"select is required for format {self.format!r}")
        if self.format not in ("html", "text") and self.select is not None:
            raise ValueError("select applies only to formats 'html' and 'text'")
        if self.attr is not None and self.format != "html":
            raise ValueError("attr applies only to format 'html'")
        return self

    def compiled(self) -> ParsedResult:
        """The compiled JMESPath expression (cached)."""
        return _compile_expression(self.expression)


@dataclass(frozen=True)
class Verdict:
    """What one rule says about one document: yes (True), no (False) or nothing (None)."""

    decision: bool | None
    value: Any = None
    error: str | None = None


def parse_document(body: bytes, rule: RuleSpec, content_type: str | None = None) -> Any:
    """The body as plain JSON values, shaped by the rule's format (SPEC §5)."""
    try:
        if rule.format == "json":
            return _parse_json(body)
        if rule.format == "rss":
            return _parse_feed(body, content_type)
        if rule.format == "csv":
            return _parse_csv(body)
        if rule.format == "html":
            return _parse_html(body, rule, content_type)
        return _parse_text(body, rule, content_type)
    except DocumentError:
        raise
    except (ValueError, RecursionError, csv.Error) as exc:
        raise DocumentError(f"cannot parse {rule.format}: {exc}") from None


def evaluate(rule: RuleSpec, document: Any) -> Verdict:
    """Evaluate the rule's expression: exactly `true` is yes, exactly `false` is no."""
    try:
        value = rule.compiled().search(document)
    except (JMESPathError, ArithmeticError, RecursionError, TypeError, ValueError) as exc:
        return Verdict(decision=None, value=None, error=f"expression failed: {exc}")
    if value is True or value is False:
        return Verdict(decision=value, value=value)
    return Verdict(decision=None, value=_plain(value))


def assess(rule: RuleSpec, body: bytes, content_type: str | None = None) -> Verdict:
    """Parse and evaluate in one step; a parse error is no decision, never an exception."""
    try:
        document = parse_document(body, rule, content_type)
    except DocumentError as exc:
        return Verdict(decision=None, value=None, error=str(exc))
    return evaluate(rule, document)


def decide(verdicts: Sequence[tuple[RuleSpec, Verdict]], *, before_resolves_at: bool) -> Outcome:
    """Combine a claim's verdicts (SPEC §5).

    Before `resolves_at` only an early yes is possible: at least one `yes_early` rule, all of
    them yes, and no rule saying no. At or after it every rule must decide: a missing decision
    is "none" (retry), agreement is that answer, disagreement is "conflict".
    """
    decisions = [verdict.decision for _, verdict in verdicts]
    if before_resolves_at:
        early = [verdict.decision for rule, verdict in verdicts if rule.yes_early]
        if early and all(d is True for d in early) and False not in decisions:
            return "yes"
        return "none"
    if not decisions or any(d is None for d in decisions):
        return "none"
    if all(decisions):
        return "yes"
    if not any(decisions):
        return "no"
    return "conflict"


def _parse_json(body: bytes) -> Any:
    return json.loads(body, parse_constant=_refuse_constant)


def _refuse_constant(name: str) -> Any:
    raise DocumentError(f"cannot parse json: {name} is not JSON")


def _parse_feed(body: bytes, content_type: str | None) -> dict[str, Any]:
    # UTF-16/32 would hide the markers below from a byte search; real feeds are never NUL-laden.
    if b"\x00" in body:
        raise DocumentError("cannot parse rss: NUL bytes (UTF-16/32 feeds are not accepted)")
    lowered = body.lower()
    if any(marker in lowered for marker in _FORBIDDEN_MARKUP):
        raise DocumentError("cannot parse rss: DOCTYPE and ENTITY declarations are refused")
    headers = {"content-type": content_type} if content_type else None
    # A stream, never bytes or str: feedparser would try a bytes/str value as a URL or path.
    parsed = feedparser.parse(io.BytesIO(body), response_headers=headers)
    entries = parsed.get("entries") or []
    if not parsed.get("version") and not entries:
        reason = parsed.get("bozo_exception") or "not an RSS or Atom feed"
        raise DocumentError(f"cannot parse rss: {reason}")
    feed = _plain(parsed.get("feed") or {})
    return {"feed": feed if isinstance(feed, dict) else {}, "entries": _plain(entries) or []}


def _parse_csv(body: bytes) -> list[dict[str, str]]:
    text = body.decode("utf-8-sig")
    rows: list[dict[str, str]] = []
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        return rows
    for row in reader:
        if not row:
            continue
        if len(row) > len(header):
            raise DocumentError(f"cannot parse csv: line {reader.line_num} has extra fields")
        row = row + [""] * (len(header) - len(row))
        rows.append(dict(zip(header, row, strict=True)))
    return rows


def _parse_html(body: bytes, rule: RuleSpec, content_type: str | None) -> list[str]:
    charset = _charset(content_type)
    source: str | bytes = body.decode(charset, errors="replace") if charset else body
    tree = LexborHTMLParser(source)
    try:
        nodes = tree.css(rule.select or "")
    except SelectolaxError as exc:
        raise DocumentError(f"cannot parse html: {exc}") from None
    if rule.attr is None:
        return [" ".join((node.text(deep=True) or "").split()) for node in nodes]
    values: list[str] = []
    for node in nodes:
        attributes = node.attributes
        if rule.attr in attributes:
            values.append(" ".join((attributes[rule.attr] or "").split()))
    return values


def _parse_text(body: bytes, rule: RuleSpec, content_type: str | None) -> list[str | None]:
    charset = _charset(content_type) or "utf-8"
    text = body.decode("utf-8-sig" if charset == "utf-8" else charset)
    pattern = _compile_regex(rule.select or "")
    if pattern.groups:
        return [match.group(1) for match in pattern.finditer(text)]
    return [match.group(0) for match in pattern.finditer(text)]


def _charset(content_type: str | None) -> str | None:
    """The charset named by a Content-Type header, if Python knows it."""
    if not content_type:
        return None
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            name = value.strip().strip("\"'").lower()
            try:
                # Decoding a sample refuses unknown names and codecs that are not text
                # encodings (rot13, base64); decoding b"" would skip the check.
                b"\x00\x00\x00\x00".decode(name)
            except (LookupError, ValueError):
                return None
            return codecs.lookup(name).name
    return None


_DROP = object()


def _plain(value: Any) -> Any:
    """`value` as JSON values only; what has no JSON form is dropped (None at the top)."""
    result = _to_json(value)
    return None if result is _DROP else result


def _to_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | str | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else _DROP
    if isinstance(value, time.struct_time):  # a tuple: check before sequences
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", value)
    if isinstance(value, dict):
        items = ((str(key), _to_json(item)) for key, item in value.items())
        return {key: item for key, item in items if item is not _DROP}
    if isinstance(value, list | tuple):
        return [item for item in map(_to_json, value) if item is not _DROP]
    return _DROP
