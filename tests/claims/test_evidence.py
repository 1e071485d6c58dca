"""Running a claim's rules against the real evidence servers: snapshots and verdicts."""

import asyncio
import hashlib
from datetime import timedelta
from typing import Any

from claims.evidence import (
    ClaimCheck,
    ClaimRules,
    check_claim,
    check_claims,
    snapshot_body,
    snapshot_of,
)
from claims.fetch import FetchPolicy, parse_allow_list
from claims.rules import Outcome
from tests.claims.evidence_server import EvidenceServer
from tests.claims.payloads import APPSTORE_V2
from tests.factories import T0, FakeClock

POLICY = FetchPolicy(
    allow=parse_allow_list("127.0.0.1/32"), timeout=2.5
)  # generous: a loaded CI machine is slow; /slow sleeps 5 s
NOT_IN_TOP_5 = "length(feed.results[:5] | [?contains(name,'Sora')]) == `0`"
NOT_IN_TOP_6 = "length(feed.results[:6] | [?contains(name,'Sora')]) == `0`"
FIRST_NAME = "feed.results[0].name"


def rule(
    server: EvidenceServer, expression: str, path: str = "/appstore/v2.json", **extra: Any
) -> dict[str, Any]:
    return {"url": server.url(path), "format": "json", "expression": expression, **extra}


def run(
    rules: list[dict[str, Any]], *, before: bool = False, clock: FakeClock | None = None
) -> ClaimCheck:
    clock = clock or FakeClock()
    resolves_at = clock.now + (timedelta(days=1) if before else -timedelta(days=1))
    return asyncio.run(check_claim(ClaimRules(1, rules, resolves_at), POLICY, clock=clock))


def test_agreeing_rules_decide_and_keep_a_snapshot_each(server: EvidenceServer) -> None:
    check = run([rule(server, NOT_IN_TOP_5), rule(server, NOT_IN_TOP_5, "/redirect/ok")])
    assert check.outcome == "yes" and not check.failed and check.first_error is None
    assert [result.decision for result in check.results] == ["yes", "yes"]
    first, second = (snapshot_of(7, result) for result in check.results)
    assert first.claim_id == 7 and first.rule_index == 0 and second.rule_index == 1
    assert first.status == 200 and first.content_type == "application/json"
    assert first.sha256 == hashlib.sha256(APPSTORE_V2).hexdigest()
    assert snapshot_body(first) == APPSTORE_V2 and first.body_size == len(APPSTORE_V2)
    assert second.final_url == server.url("/appstore/v2.json") != second.url
    assert first.fetched_at.tzinfo is not None and first.value is True


def test_no_and_nothing(server: EvidenceServer) -> None:
    assert run([rule(server, NOT_IN_TOP_6)]).outcome == "no"
    nothing = run([rule(server, FIRST_NAME)])
    assert nothing.outcome == "none" and nothing.failed
    assert nothing.results[0].decision is None
    assert snapshot_of(1, nothing.results[0]).value == "ChatGPT"


def test_disagreeing_rules_conflict(server: EvidenceServer) -> None:
    check = run([rule(server, NOT_IN_TOP_5), rule(server, NOT_IN_TOP_6)])
    assert check.outcome == "conflict" and not check.failed


def test_before_resolves_at_only_an_early_yes_decides(server: EvidenceServer) -> None:
    early: Outcome = run([rule(server, NOT_IN_TOP_5, yes_early=True)], before=True).outcome
    assert early == "yes"
    assert run([rule(server, NOT_IN_TOP_5)], before=True).outcome == "none"
    no_early = run([rule(server, NOT_IN_TOP_6, yes_early=True)], before=True)
    assert no_early.outcome == "none" and not no_early.failed  # waiting is not failing


def test_early_yes_rests_on_the_latest_yes_early_fetch(server: EvidenceServer) -> None:
    clock = FakeClock(step=timedelta(seconds=1))
    check = run(
        [rule(server, NOT_IN_TOP_5, yes_early=True), rule(server, NOT_IN_TOP_5, yes_early=True)],
        before=True,
        clock=clock,
    )
    fetched = [result.fetch.fetched_at for result in check.results]
    assert check.decided_at == max(fetched) > check.checked_at


def test_failures_are_no_decision_with_the_error_kept(server: EvidenceServer) -> None:
    for path, error in [
        ("/error/503", "HTTP 503"),
        ("/slow", "timed out"),
        ("/malformed.json", "cannot parse json"),
        ("/oversize", "body exceeds"),
    ]:
        check = run([rule(server, NOT_IN_TOP_5, path)])
        assert check.outcome == "none" and check.failed, path
        assert error in (check.first_error or ""), (path, check.first_error)
        snapshot = snapshot_of(1, check.results[0])
        assert snapshot.decision is None and error in (snapshot.error or "")
    oversize = snapshot_of(1, run([rule(server, NOT_IN_TOP_5, "/oversize")]).results[0])
    kept = snapshot_body(oversize)
    assert len(kept) == POLICY.max_bytes == oversize.body_size > len(oversize.body) * 100
    assert hashlib.sha256(kept).hexdigest() == oversize.sha256


def test_redirect_into_a_forbidden_address_is_refused_unseen(
    server: EvidenceServer, forbidden_server: EvidenceServer
) -> None:
    check = run([rule(server, NOT_IN_TOP_5, "/redirect/away")])
    assert check.outcome == "none" and "refused" in (check.first_error or "")
    assert forbidden_server.hits == []


def test_a_stored_rule_that_no_longer_validates_is_an_error_not_a_crash() -> None:
    check = run([{"url": "http://127.0.0.1:1/x", "format": "json", "expression": "a["}])
    assert check.outcome == "none" and "invalid rule" in (check.first_error or "")
    assert snapshot_of(1, check.results[0]).status is None


def test_many_claims_run_concurrently_and_each_is_reported(server: EvidenceServer) -> None:
    seen: list[int] = []

    async def on_checked(check: Any) -> None:
        seen.append(check.claim_id)

    items = [ClaimRules(i, [rule(server, NOT_IN_TOP_5)], T0) for i in range(30)]
    checks = asyncio.run(
        check_claims(items, POLICY, concurrency=4, clock=FakeClock(), on_checked=on_checked)
    )
    assert sorted(seen) == list(range(30)) == [check.claim_id for check in checks]
    assert {check.outcome for check in checks} == {"yes"}
