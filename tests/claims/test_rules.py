"""Rules: validation, parsing every format from bytes, evaluation and deciding (SPEC §5)."""

import json
from typing import Any

import pytest
from pydantic import ValidationError

from claims.rules import (
    DocumentError,
    RuleSpec,
    Verdict,
    assess,
    decide,
    evaluate,
    parse_document,
)
from tests.claims import payloads
from tests.claims.evidence_server import CATASTROPHIC_REGEX, CATASTROPHIC_TEXT


def make_rule(**fields: Any) -> RuleSpec:
    base: dict[str, Any] = {"url": "https://example.org/data.json", "format": "json"}
    base.setdefault("expression", "`true`")
    return RuleSpec.model_validate(base | fields)


def judge(body: bytes, **fields: Any) -> Verdict:
    return assess(make_rule(**fields), body)


def error_fields(exc: pytest.ExceptionInfo[ValidationError]) -> list[tuple[Any, ...]]:
    return [error["loc"] for error in exc.value.errors()]


# --- validation -----------------------------------------------------------------------------


def test_rule_round_trips_through_json() -> None:
    data = {
        "url": "https://itunes.apple.com/us/rss/topgrossingapplications/limit=10/genre=6008/json",
        "format": "json",
        "select": None,
        "attr": None,
        "expression": 'feed.entry[:5]."im:name".label',
        "yes_early": True,
    }
    rule = RuleSpec.model_validate(data)
    assert rule.model_dump(mode="json") == data
    assert rule.compiled() is rule.compiled()


def test_bad_expression_is_rejected_naming_the_field() -> None:
    with pytest.raises(ValidationError) as exc:
        make_rule(expression="feed.results[?name ==")
    assert error_fields(exc) == [("expression",)]
    assert "JMESPath" in str(exc.value)


@pytest.mark.parametrize("expression", ["nope(@)", "length(a, b)", "not_null()", "a[?nope(b)]"])
def test_unknown_functions_and_wrong_arity_are_rejected_at_validation(expression: str) -> None:
    with pytest.raises(ValidationError) as exc:
        make_rule(expression=expression)
    assert error_fields(exc) == [("expression",)]


def test_overlong_expression_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        make_rule(expression="a." * 1000 + "b")
    assert error_fields(exc) == [("expression",)]


def test_bad_regex_is_rejected_naming_select() -> None:
    with pytest.raises(ValidationError) as exc:
        make_rule(format="text", select="version: (\\S+")
    assert error_fields(exc) == [("select",)]


@pytest.mark.parametrize("pattern", [r"(a)\1", r"version(?= 3)", r"(?<!v)3", r"a{1001}"])
def test_regexes_re2_cannot_run_in_linear_time_are_rejected(pattern: str) -> None:
    with pytest.raises(ValidationError) as exc:
        make_rule(format="text", select=pattern)
    assert error_fields(exc) == [("select",)]
    assert "not a regular expression RE2 accepts" in exc.value.errors()[0]["msg"]


def test_a_catastrophic_regex_is_linear_on_re2() -> None:
    rule = make_rule(format="text", select=CATASTROPHIC_REGEX, expression="length(@) == `0`")
    assert parse_document(CATASTROPHIC_TEXT, rule, "text/plain") == []
    assert assess(rule, CATASTROPHIC_TEXT).decision is True


def test_bad_css_selector_is_rejected() -> None:
    with pytest.raises(ValidationError) as exc:
        make_rule(format="html", select="td[class=")
    assert error_fields(exc) == [("select",)]


@pytest.mark.parametrize(
    "fields",
    [
        {"format": "html"},  # select required
        {"format": "text"},  # regex required
        {"format": "json", "select": "td"},  # select means nothing for json
        {"format": "text", "select": "x", "attr": "href"},  # attr is html only
        {"format": "yaml"},
        {"unknown": 1},
        {"url": "ftp://example.org/file"},
        {"url": "file:///etc/passwd"},
        {"url": "https://user:secret@example.org/"},
        {"url": "https://example.org/a b"},
        {"url": "https:///nohost"},
        {"url": "https://example.org/" + "a" * 2000},
        {"expression": "`true`\x00"},
    ],
)
def test_invalid_rules_are_rejected(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        make_rule(**fields)


# --- parsing --------------------------------------------------------------------------------


def test_json_is_kept_as_is() -> None:
    document = parse_document(payloads.APPSTORE_V2, make_rule())
    assert document == json.loads(payloads.APPSTORE_V2)


@pytest.mark.parametrize("body", [payloads.MALFORMED_JSON, b"", b'{"x": NaN}', b"[" * 100_000])
def test_unparseable_json_is_a_document_error(body: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_document(body, make_rule())


def test_rss_becomes_plain_json_with_iso_dates() -> None:
    document = parse_document(payloads.OPENAI_RSS, make_rule(format="rss"))
    assert json.loads(json.dumps(document, allow_nan=False)) == document
    assert document["feed"]["title"] == "OpenAI News"
    first = document["entries"][0]
    assert first["title"] == "Introducing native video in ChatGPT"
    assert first["link"] == "https://openai.com/index/native-video-in-chatgpt/"
    assert first["published_parsed"] == "2026-11-17T17:00:00Z"
    assert [tag["term"] for tag in first["tags"]] == ["Product"]


def test_atom_becomes_plain_json() -> None:
    document = parse_document(payloads.DEEPMIND_ATOM, make_rule(format="rss"))
    first = document["entries"][0]
    assert first["title"].startswith("Gemini Omni")
    assert first["published_parsed"] == "2026-05-20T17:45:00Z"
    assert "\u2014" in first["summary"]
    assert document["feed"]["updated_parsed"] == "2026-05-20T17:45:00Z"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd"><rss version="2.0"/>',
        b'<?xml version="1.0"?><!doctype rss [<!entity x "y">]><rss version="2.0"/>',
        b'<?xml version="1.0"?><rss version="2.0"><!ENTITY x SYSTEM "/etc/passwd"></rss>',
        payloads.OPENAI_RSS.decode().encode("utf-16"),
    ],
)
def test_feeds_with_doctype_or_entities_are_refused(body: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_document(body, make_rule(format="rss"))


@pytest.mark.parametrize("body", [b"/etc/passwd", b"https://example.org/feed.xml", b"{}"])
def test_feed_bytes_are_never_taken_for_a_path_or_url(body: bytes) -> None:
    with pytest.raises(DocumentError):
        parse_document(body, make_rule(format="rss"))


def test_csv_rows_are_objects_of_strings() -> None:
    rows = parse_document(payloads.DOWNLOADS_CSV, make_rule(format="csv"))
    assert rows[0] == {"date": "2026-10-01", "package": "openai", "downloads": "5301234"}
    assert rows[2]["package"] == "openai, inc"
    assert all(isinstance(value, str) for row in rows for value in row.values())


def test_csv_short_rows_are_padded_and_long_rows_refused() -> None:
    rule = make_rule(format="csv")
    assert parse_document(b"a,b\n1\n", rule) == [{"a": "1", "b": ""}]
    with pytest.raises(DocumentError):
        parse_document(b"a,b\n1,2,3\n", rule)
    with pytest.raises(DocumentError):
        parse_document(b"a,b\n\xff\xfe,1\n", rule)


def test_html_gives_normalised_texts_of_matches() -> None:
    rule = make_rule(format="html", select="#chart td.app")
    texts = parse_document(payloads.LEADERBOARD_HTML, rule, "text/html; charset=utf-8")
    assert texts == ["CapCut", "Picsart AI Photo Editor", "VSCO"]


def test_html_attr_gives_attribute_values() -> None:
    rule = make_rule(format="html", select="td.app a", attr="href")
    hrefs = parse_document(payloads.LEADERBOARD_HTML, rule)
    assert hrefs == ["/app/capcut", "/app/picsart", "/app/vsco"]


@pytest.mark.parametrize("content_type", ["text/plain; charset=rot13", "text/plain; charset=nope"])
def test_odd_charsets_fall_back_to_utf8(content_type: str) -> None:
    rule = make_rule(format="text", select=r"version: (\S+)")
    assert parse_document(payloads.STATUS_TEXT, rule, content_type) == ["2.8.0", "2.9.0-beta"]
    html = make_rule(format="html", select="td.app")
    assert len(parse_document(payloads.LEADERBOARD_HTML, html, content_type)) == 3


def test_text_uses_the_declared_charset() -> None:
    rule = make_rule(format="text", select="caf.")
    assert parse_document("café".encode("latin-1"), rule, "text/plain; charset=ISO-8859-1") == [
        "café"
    ]


def test_text_gives_group_one_or_whole_matches() -> None:
    grouped = make_rule(format="text", select=r"version: (\S+)")
    whole = make_rule(format="text", select=r"version: \S+")
    assert parse_document(payloads.STATUS_TEXT, grouped) == ["2.8.0", "2.9.0-beta"]
    assert parse_document(payloads.STATUS_TEXT, whole) == ["version: 2.8.0", "version: 2.9.0-beta"]
    with pytest.raises(DocumentError):
        parse_document(b"\xff\xfe", grouped)


# --- evaluation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "fields", "decision", "value"),
    [
        # App Store v2: the top five and "no Sora in the top five".
        (
            payloads.APPSTORE_V2,
            {"expression": "feed.results[:5].name"},
            None,
            ["ChatGPT", "Google Gemini", "CapCut - Video Editor", "Instagram", "TikTok"],
        ),
        (
            payloads.APPSTORE_V2,
            {"expression": "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"},
            True,
            True,
        ),
        (
            payloads.APPSTORE_V2,
            {"expression": "length(feed.results[:6] | [?contains(name,'Sora')]) == `0`"},
            False,
            False,
        ),
        # Legacy iTunes feed, names under "im:name".
        (
            payloads.APPSTORE_LEGACY,
            {"expression": "contains(feed.entry[:5].\"im:name\".label, 'CapCut - Video Editor')"},
            True,
            True,
        ),
        # Hugging Face: a text-to-video model past 1M downloads; the leader is a string.
        (payloads.HF_MODELS, {"expression": "length([?downloads > `1000000`]) > `0`"}, True, True),
        (
            payloads.HF_MODELS,
            {"expression": "max_by(@, &downloads).id"},
            None,
            "Wan-AI/Wan2.1-T2V-14B",
        ),
        # LMArena: who is rank 1 overall.
        (
            payloads.LMARENA_ROWS,
            {"expression": "rows[?row.category=='overall' && row.rank==`1`].row.model_name"},
            None,
            ["gemini-3-pro"],
        ),
        (
            payloads.LMARENA_ROWS,
            {
                "expression": "contains(rows[?row.category=='overall' && row.rank==`1`]"
                ".row.model_name, 'grok-4.1-thinking')"
            },
            False,
            False,
        ),
        # Wikimedia pageviews.
        (payloads.WIKIMEDIA_PAGEVIEWS, {"expression": "sum(items[*].views)"}, None, 55800),
        (
            payloads.WIKIMEDIA_PAGEVIEWS,
            {"expression": "sum(items[*].views) > `50000`"},
            True,
            True,
        ),
        # CSV values are strings: convert with to_number.
        (
            payloads.DOWNLOADS_CSV,
            {
                "format": "csv",
                "expression": "to_number([?date=='2026-10-02'] | [0].downloads) > `5000000`",
            },
            True,
            True,
        ),
        # An announcement in the feed before a date.
        (
            payloads.OPENAI_RSS,
            {
                "format": "rss",
                "expression": "length(entries[?contains(title, 'native video')"
                " && published_parsed < '2027-01-01']) > `0`",
            },
            True,
            True,
        ),
        (
            payloads.LEADERBOARD_HTML,
            {"format": "html", "select": "td.app", "expression": "@[0] == 'CapCut'"},
            True,
            True,
        ),
        (
            payloads.STATUS_TEXT,
            {"format": "text", "select": r"version: (\S+)", "expression": "contains(@, '3.0.0')"},
            False,
            False,
        ),
    ],
)
def test_evidence_examples(
    body: bytes, fields: dict[str, Any], decision: bool | None, value: Any
) -> None:
    verdict = judge(body, **fields)
    assert verdict == Verdict(decision=decision, value=value, error=None)


@pytest.mark.parametrize(
    "expression",
    [
        "feed.nothing",  # missing path is null
        "`null`",
        "'true'",  # the string "true" is not true
        '`"false"`',
        "`1`",
        "`0`",
        "`[true]`",
        "`{}`",
    ],
)
def test_anything_but_exact_booleans_is_no_decision(expression: str) -> None:
    verdict = judge(payloads.APPSTORE_V2, expression=expression)
    assert verdict.decision is None
    assert verdict.error is None


def test_runtime_error_is_no_decision_with_an_error() -> None:
    verdict = judge(payloads.APPSTORE_V2, expression="sum(feed.results[*].name)")
    assert verdict.decision is None
    assert verdict.error is not None and "expression failed" in verdict.error


def test_parse_error_is_no_decision_with_an_error() -> None:
    verdict = judge(payloads.MALFORMED_JSON, expression="`true`")
    assert verdict.decision is None
    assert verdict.error is not None and verdict.error.startswith("cannot parse json")


def test_evaluate_keeps_values_json_able() -> None:
    verdict = evaluate(make_rule(expression="sum(@)"), [1e308, 1e308])
    assert verdict == Verdict(decision=None, value=None)


# --- deciding -------------------------------------------------------------------------------

EARLY = make_rule(yes_early=True)
PLAIN = make_rule()
YES, NO, NONE = Verdict(True, True), Verdict(False, False), Verdict(None, None)


@pytest.mark.parametrize(
    ("verdicts", "before", "outcome"),
    [
        ([(EARLY, YES), (PLAIN, NONE)], True, "yes"),  # early yes: no rule says no
        ([(EARLY, YES), (EARLY, YES)], True, "yes"),
        ([(EARLY, YES), (PLAIN, NO)], True, "none"),  # a no blocks the early yes
        ([(EARLY, YES), (EARLY, NONE)], True, "none"),  # every yes_early rule must say yes
        ([(PLAIN, YES), (PLAIN, YES)], True, "none"),  # no yes_early rule: nothing early
        ([(EARLY, NO), (PLAIN, NO)], True, "none"),  # there is no early no
        ([], True, "none"),
        ([(PLAIN, YES), (EARLY, YES)], False, "yes"),
        ([(PLAIN, NO), (EARLY, NO)], False, "no"),
        ([(PLAIN, YES), (PLAIN, NO)], False, "conflict"),
        ([(PLAIN, YES), (PLAIN, NONE)], False, "none"),  # missing decision: retry
        ([(PLAIN, NONE)], False, "none"),
        ([], False, "none"),
    ],
)
def test_decide(verdicts: list[tuple[RuleSpec, Verdict]], before: bool, outcome: str) -> None:
    assert decide(verdicts, before_resolves_at=before) == outcome
