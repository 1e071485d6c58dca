"""Run a claim's rules (SPEC §5): fetch each URL, judge the document, keep every fetch.

`check_claims` runs many claims at once with bounded concurrency and hands each finished
`ClaimCheck` to the caller, who stores it (`snapshot_of`) and acts on its outcome. Nothing
here writes the ledger or changes a claim: that is the resolution flow's job, above.
"""

import asyncio
import hashlib
import json
import zlib
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError

from claims.clock import Clock, as_utc, utc_now
from claims.fetch import FetchPolicy, FetchResult, Resolver, fetch, make_client
from claims.models import EvidenceSnapshot
from claims.outcome_space import Space
from claims.rule_values import Proposed, decide_values, rule_value
from claims.rules import Outcome, RuleSpec, Verdict, decide
from claims.sandbox import RULE_DEADLINE, assess_within
from claims.states import ClaimKind

KEPT_VALUE_CHARS = 16_000  # an extracted value larger than this is kept as a preview


@dataclass(frozen=True)
class RuleCheck:
    """One rule of a claim: its fetch and what the document said."""

    index: int
    rule: RuleSpec | None  # None when the stored rule no longer validates
    fetch: FetchResult
    verdict: Verdict
    # another kind's claim: what the extracted value proposes (`claims.rule_values`)
    proposed: Proposed | None = None

    @property
    def decision(self) -> str | None:
        """yes/no; for other kinds the label, or "value" (the number is `proposed`'s)."""
        if self.proposed is not None:
            return self.proposed[0]
        return {True: "yes", False: "no", None: None}[self.verdict.decision]

    @property
    def error(self) -> str | None:
        return self.fetch.error or self.verdict.error

    @property
    def public_error(self) -> str | None:
        """`error` without the addresses names resolved to (`FetchResult.public_error`)."""
        return self.fetch.public_error or self.verdict.error


@dataclass(frozen=True)
class ClaimCheck:
    """All rules of one claim, checked at `checked_at`, and the outcome they give."""

    claim_id: int
    checked_at: datetime
    before_resolves_at: bool
    results: tuple[RuleCheck, ...]
    outcome: str  # an `Outcome`, or for other kinds a label or "value"
    outcome_value: float | None = None  # with "value": the number (dates: Unix seconds)

    @property
    def decided_at(self) -> datetime:
        """When the deciding evidence was fetched: the latest snapshot the outcome rests on."""
        rests_on = [
            result
            for result in self.results
            if not self.before_resolves_at or (result.rule is not None and result.rule.yes_early)
        ]
        moments = [result.fetch.fetched_at for result in rests_on or self.results]
        return max(moments, default=self.checked_at)

    @property
    def failed(self) -> bool:
        """A fetch or parse failed, or (at or after `resolves_at`) a rule gave no decision."""
        if any(result.error for result in self.results):
            return True
        return not self.before_resolves_at and self.outcome == "none"

    @property
    def first_error(self) -> str | None:
        for result in self.results:
            if result.error:
                return f"rule {result.index}: {result.error}"
        if self.failed:
            return "a rule gave no decision"
        return None


@dataclass(frozen=True)
class ClaimRules:
    """What `check_claims` needs to know of a claim."""

    claim_id: int
    rules: Sequence[dict[str, Any]]
    resolves_at: datetime
    kind: str = ClaimKind.BINARY
    space: Space = field(default_factory=Space)


OnChecked = Callable[[ClaimCheck], Awaitable[None]]


async def check_claims(
    claims: Iterable[ClaimRules],
    policy: FetchPolicy,
    *,
    concurrency: int = 16,
    clock: Clock = utc_now,
    on_checked: OnChecked | None = None,
    resolver: Resolver | None = None,
    deadline: float = RULE_DEADLINE,
) -> list[ClaimCheck]:
    """Check every claim, at most `concurrency` at a time; `on_checked` sees each as it ends."""
    gate = asyncio.Semaphore(concurrency)
    async with make_client(policy) as client:

        async def one(item: ClaimRules) -> ClaimCheck:
            async with gate:
                check = await check_claim(
                    item, policy, client=client, clock=clock, resolver=resolver, deadline=deadline
                )
                if on_checked is not None:
                    await on_checked(check)
                return check

        return list(await asyncio.gather(*(one(item) for item in claims)))


async def check_claim(
    item: ClaimRules,
    policy: FetchPolicy,
    *,
    client: httpx.AsyncClient | None = None,
    clock: Clock = utc_now,
    resolver: Resolver | None = None,
    deadline: float = RULE_DEADLINE,
) -> ClaimCheck:
    """Fetch and judge every rule of one claim (its rules concurrently), each under `deadline`."""
    checked_at = as_utc(clock())
    results = await asyncio.gather(
        *(
            _check_rule(index, rule, policy, client, clock, resolver, deadline)
            for index, rule in enumerate(item.rules)
        )
    )
    before = checked_at < item.resolves_at
    if item.kind != ClaimKind.BINARY:
        return _check_values(item, checked_at, before, results)
    judged = [(result.rule, result.verdict) for result in results if result.rule is not None]
    outcome: Outcome = "none"
    if len(judged) == len(results):
        outcome = decide(judged, before_resolves_at=before)
    return ClaimCheck(item.claim_id, checked_at, before, tuple(results), outcome)


def _check_values(
    item: ClaimRules, checked_at: datetime, before: bool, results: Sequence[RuleCheck]
) -> ClaimCheck:
    """A non-binary claim's check: each rule's value, then their agreement (SPEC §7)."""
    valued = tuple(
        replace(result, proposed=rule_value(item.kind, item.space, result.verdict.value))
        if result.rule is not None and result.error is None
        else result
        for result in results
    )
    proposals = [result.proposed for result in valued]
    outcome, value = decide_values(proposals, before_resolves_at=before)
    return ClaimCheck(item.claim_id, checked_at, before, valued, outcome, value)


async def _check_rule(
    index: int,
    raw: dict[str, Any],
    policy: FetchPolicy,
    client: httpx.AsyncClient | None,
    clock: Clock,
    resolver: Resolver | None,
    deadline: float,
) -> RuleCheck:
    try:
        rule = RuleSpec.model_validate(raw)
    except ValidationError as exc:
        url = str(raw.get("url", ""))
        failed = _no_fetch(url, as_utc(clock()), f"invalid rule: {exc.errors()[0]['msg']}")
        return RuleCheck(index, None, failed, Verdict(decision=None))
    result = await fetch(rule.url, policy, client=client, clock=clock, resolver=resolver)
    if not result.ok:
        return RuleCheck(index, rule, result, Verdict(decision=None))
    # Parsing and evaluation run in a child process that is killed past the deadline; the
    # thread only waits for it.
    verdict = await asyncio.to_thread(
        assess_within, rule, result.body, result.content_type, deadline
    )
    return RuleCheck(index, rule, result, verdict)


def _no_fetch(url: str, at: datetime, error: str) -> FetchResult:
    return FetchResult(
        url=url,
        final_url=url,
        fetched_at=at,
        status=None,
        content_type=None,
        body=b"",
        sha256=hashlib.sha256(b"").hexdigest(),
        error=error,
        public_error=error,
        public_address=True,  # nothing was fetched
    )


def snapshot_of(
    claim_id: int, result: RuleCheck, *, proposal_id: int | None = None, detailed: bool = False
) -> EvidenceSnapshot:
    """The evidence snapshot of one fetch (not added to any session).

    `detailed` keeps the addresses names resolved to in `error`: for editors' dry runs only,
    never for a snapshot that is stored.
    """
    fetched = result.fetch
    return EvidenceSnapshot(
        claim_id=claim_id,
        rule_index=result.index,
        url=fetched.url,
        final_url=fetched.final_url,
        fetched_at=fetched.fetched_at,
        status=fetched.status,
        content_type=fetched.content_type[:200] if fetched.content_type else None,
        sha256=fetched.sha256,
        body_size=len(fetched.body),
        body=zlib.compress(fetched.body, 6),  # all of it: the fetcher caps it
        value=_kept_value(result.verdict.value),
        decision=result.decision,
        error=result.error if detailed else result.public_error,
        public_address=fetched.public_address,
        proposal_id=proposal_id,
    )


def body_shown(snapshot: EvidenceSnapshot, *, editor: bool, publish_private: bool) -> bool:
    """Whether a caller may see the snapshot's body and value.

    A body fetched from an address only the allow list let in is the operator's internal
    source: editors see it, everyone else only if the operator publishes such evidence.
    Snapshots from before this was recorded (None) count as not public.
    """
    return editor or publish_private or snapshot.public_address is True


def snapshot_body(snapshot: EvidenceSnapshot) -> bytes:
    """The body as fetched (up to the fetcher's cap); its sha256 is the snapshot's `sha256`."""
    return zlib.decompress(snapshot.body) if snapshot.body else b""


def _kept_value(value: Any) -> Any:
    text = json.dumps(value)
    if len(text) <= KEPT_VALUE_CHARS:
        return value
    return {"truncated": True, "preview": text[:KEPT_VALUE_CHARS]}
