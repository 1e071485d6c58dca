"""Rules judged in a child process under a deadline, against hostile evidence on a real server."""

import asyncio
from typing import Any

from claims.evidence import ClaimRules, check_claim
from claims.rules import RuleSpec
from claims.sandbox import assess_within
from tests.claims.evidence_server import (
    CATASTROPHIC_REGEX,
    CATASTROPHIC_SELECTOR,
    DEEP_HTML,
    EvidenceServer,
)
from tests.claims.test_fetch import NOW, POLICY

DEADLINE = 1.0


def check(rules: list[dict[str, Any]], deadline: float = DEADLINE) -> list[Any]:
    """Each rule's (decision, error), checked once after its resolution date."""
    item = ClaimRules(1, rules, NOW)
    checked = asyncio.run(check_claim(item, POLICY, clock=lambda: NOW, deadline=deadline))
    return [(result.decision, result.error) for result in checked.results]


def test_a_selector_past_the_deadline_has_no_decision(server: EvidenceServer) -> None:
    hostile = {
        "url": server.url("/hostile/deep.html"),
        "format": "html",
        "select": CATASTROPHIC_SELECTOR,
        "expression": "length(@) == `0`",
    }
    fine = {"url": server.url("/hostile/deep.html"), "format": "html", "select": "div"}
    fine["expression"] = "length(@) == `200`"
    assert check([hostile, fine]) == [
        (None, f"evaluation took more than {DEADLINE:g} s"),
        ("yes", None),
    ]


def test_a_catastrophic_regex_decides_within_the_deadline(server: EvidenceServer) -> None:
    rule = {
        "url": server.url("/hostile/aaaa.txt"),
        "format": "text",
        "select": CATASTROPHIC_REGEX,
        "expression": "length(@) == `0`",
    }
    assert check([rule]) == [("yes", None)]


def test_values_come_back_from_the_child_whole() -> None:
    rule = RuleSpec(url="https://example.org/", format="json", expression="items[?n > `1`]")
    verdict = assess_within(rule, b'{"items": [{"n": 1}, {"n": 2, "s": "\\u00e9"}]}', None)
    assert verdict.decision is None and verdict.error is None
    assert verdict.value == [{"n": 2, "s": "é"}]


def test_after_a_worker_is_killed_the_next_document_is_judged() -> None:
    hostile = RuleSpec(
        url="https://example.org/",
        format="html",
        select=CATASTROPHIC_SELECTOR,
        expression="length(@) == `0`",
    )
    fine = RuleSpec(url="https://example.org/", format="html", select="div", expression="`true`")
    slow = assess_within(hostile, DEEP_HTML, "text/html", deadline=0.5)
    assert slow.error == "evaluation took more than 0.5 s"
    assert [assess_within(fine, DEEP_HTML, "text/html").decision for _ in range(3)] == [True] * 3
