"""The record as the ledger's entries describe it: one replay for `restore` and `verify`.

Claims come from `claim_published` (all text, window, tags, rules, source), then
`claim_text_amended`, `criteria_amended` (the old criteria kept as a version when the
version rises), `window_amended`, `claim_closed`, `resolution_proposed` /
`resolution_disputed` (proposals), `claim_reopened` (an editor rejected an early proposal),
the settlements (`resolution_finalised`, `re_resolved`, `annulled`) and `source_amended`;
claimants from `claimant_added` and `claimant_amended`. A claim links the claimant its
source names when that claimant was in the ledger by then (a free-text claimant from before
claimants never is). Forecasts come
from the reveals an export carries and from imported forecasts' public payloads. Nothing
here touches a database: `restore` writes what the replay collected, `verify` compares it
with the stored rows.
"""

from datetime import datetime
from typing import Any

from claims.clock import parse_stamp
from claims.errors import Invalid
from claims.kinds import EntryKind
from claims.states import ClaimState, ProposalState
from claims.transitions import early_close, proposed, reopened, settled

COMMITMENTS = frozenset({EntryKind.FORECAST_SUBMITTED, EntryKind.FORECAST_WITHDRAWN})
_SETTLEMENTS = frozenset(
    {EntryKind.RESOLUTION_FINALISED, EntryKind.RE_RESOLVED, EntryKind.ANNULLED}
)
_CHANGES = _SETTLEMENTS | {
    EntryKind.CLAIM_TEXT_AMENDED,
    EntryKind.CRITERIA_AMENDED,
    EntryKind.WINDOW_AMENDED,
    EntryKind.CLAIM_CLOSED,
    EntryKind.RESOLUTION_PROPOSED,
    EntryKind.RESOLUTION_DISPUTED,
    EntryKind.CLAIM_REOPENED,
    EntryKind.SOURCE_AMENDED,
}
_CLAIMANT_KINDS = frozenset({EntryKind.CLAIMANT_ADDED, EntryKind.CLAIMANT_AMENDED})
CLAIMANT_FIELDS = ("name", "kind", "url", "description")


class Replay:
    """Entries applied in order; claims keyed by slug, ids numbered in publication order
    (`restore` numbers them by inserting instead)."""

    def __init__(self) -> None:
        self.claims: dict[str, dict[str, Any]] = {}  # slug -> the claims row's values
        self.tags: dict[str, list[str]] = {}
        self.claim_ids: dict[str, int] = {}
        self.accounts: dict[str, int] = {}
        self.forecasts: list[dict[str, Any]] = []
        self.salts: list[dict[str, Any]] = []
        self.versions: list[dict[str, Any]] = []
        self.proposals: list[dict[str, Any]] = []
        self.claimants: dict[str, dict[str, Any]] = {}  # slug -> the claimants row's values

    def new_claim(self, row: dict[str, Any]) -> int:
        return len(self.claim_ids) + 1

    def new_account(self, handle: str, at: datetime) -> int:
        return len(self.accounts) + 1

    def account(self, handle: str, at: datetime) -> int:
        if handle not in self.accounts:
            self.accounts[handle] = self.new_account(handle, at)
        return self.accounts[handle]

    def claim(self, slug: str, seq: int) -> dict[str, Any]:
        claim = self.claims.get(slug)
        if claim is None:
            raise Invalid("file", f"seq {seq}: claim {slug!r} was never published")
        return claim

    def add(self, entry: dict[str, Any]) -> int | None:
        """Apply one entry; returns the id of the claim it concerns, if any."""
        seq, kind = int(entry["seq"]), str(entry["kind"])
        payload: dict[str, Any] = entry.get("payload") or {}
        at = parse_stamp(entry["created_at"])
        slug = _slug_of(entry)
        if kind == EntryKind.CLAIM_PUBLISHED:
            self._publish(payload, seq, at)
        claim_id = self.claim_ids.get(slug) if slug else None
        if slug and claim_id is None:
            raise Invalid("file", f"seq {seq}: claim {slug!r} was never published")
        if kind in COMMITMENTS:
            self.commitment(entry, seq)
        elif kind == EntryKind.FORECAST_IMPORTED:
            self._forecast(payload, seq, imported=True, rationale=None)
        elif kind in _CHANGES:
            self._change(kind, payload, seq, at)
        elif kind in _CLAIMANT_KINDS:
            self._claimant(kind, payload, seq, at)
        elif kind != EntryKind.CLAIM_PUBLISHED:
            raise Invalid("file", f"seq {seq}: unknown entry kind {kind!r}")
        return claim_id

    def commitment(self, entry: dict[str, Any], seq: int) -> None:
        """A forecast or withdrawal, known only from its reveal (none: nothing to collect)."""
        reveal = entry.get("reveal")
        if reveal is None or "salt" not in reveal:
            return
        self._forecast(reveal, seq, imported=False, rationale=reveal.get("rationale"))
        self.salts.append({"ledger_seq": seq, "salt": reveal["salt"]})

    def _publish(self, payload: dict[str, Any], seq: int, at: datetime) -> None:
        slug = payload["claim"]
        if slug in self.claims:
            raise Invalid("file", f"seq {seq}: claim {slug!r} is published twice")
        row = {
            "slug": slug,
            "title": payload["title"],
            "description": payload["description"],
            "resolution_criteria": payload["resolution_criteria"],
            "fine_print": payload["fine_print"],
            "rules": payload["rules"],
            "state": ClaimState.PUBLISHED,
            "opens_at": parse_stamp(payload["opens_at"]),
            "closes_at": parse_stamp(payload["closes_at"]),
            "resolves_at": parse_stamp(payload["resolves_at"]),
            "closed_early_at": None,
            "close_recorded_seq": None,
            "outcome": None,
            "version": 1,
            "created_at": at,
            "updated_at": at,
            "published_seq": seq,
        }
        self._cite(row, payload["source"])
        tags = sorted(set(payload["tags"]))
        self.claim_ids[slug] = self.new_claim(row)
        self.claims[slug], self.tags[slug] = row, tags

    def _forecast(
        self, body: dict[str, Any], seq: int, *, imported: bool, rationale: str | None
    ) -> None:
        at = parse_stamp(body["created_at"])
        self.forecasts.append(
            {
                "id": seq,
                "claim_id": self.claim_ids[body["claim"]],
                "account_id": self.account(body["handle"], at),
                "probability": body["probability"],
                "rationale": rationale,
                "created_at": at,
                "ledger_seq": seq,
                "imported": imported,
            }
        )

    def _change(self, kind: str, payload: dict[str, Any], seq: int, at: datetime) -> None:
        claim = self.claim(payload["claim"], seq)
        claim["updated_at"] = at
        claim_id = self.claim_ids[claim["slug"]]
        if kind == EntryKind.CLAIM_TEXT_AMENDED:
            for name in ("title", "description", "fine_print"):
                claim[name] = payload[name]
            self.tags[claim["slug"]] = sorted(set(payload["tags"]))
            if "source" in payload:  # entries from before `source_amended` carry it here
                self._cite(claim, payload["source"])
        elif kind == EntryKind.SOURCE_AMENDED:
            self._cite(claim, payload["source"])
        elif kind == EntryKind.CRITERIA_AMENDED:
            self._amend_criteria(claim, claim_id, payload, at)
        elif kind == EntryKind.WINDOW_AMENDED:
            if "opens_at" in payload:  # entries from before opens_at was recorded lack it
                claim["opens_at"] = parse_stamp(payload["opens_at"])
            claim["closes_at"] = parse_stamp(payload["closes_at"])
            claim["resolves_at"] = parse_stamp(payload["resolves_at"])
        elif kind == EntryKind.CLAIM_CLOSED:
            claim["close_recorded_seq"] = seq
            _closed_at(claim, payload["closed_at"])
        elif kind == EntryKind.RESOLUTION_PROPOSED:
            self._propose(claim, claim_id, payload, seq, at)
        elif kind == EntryKind.RESOLUTION_DISPUTED:
            proposal = self._proposal(payload["proposal_seq"], seq)
            proposal.update(state=ProposalState.DISPUTED, decided_at=at, note=payload["note"])
            self.account(payload["handle"], at)
        elif kind in _SETTLEMENTS:
            self._settle(claim, payload, seq, at)
        else:  # claim_reopened
            claim.update(reopened())
            proposal = self._proposal(payload["proposal_seq"], seq)
            proposal.update(state=ProposalState.REJECTED, decided_at=at, note=payload["note"])

    def _cite(self, claim: dict[str, Any], source: dict[str, Any] | None) -> None:
        named = (source or {}).get("claimant")
        claim["source"] = source
        claim["claimant"] = named if named in self.claimants else None

    def _claimant(self, kind: str, payload: dict[str, Any], seq: int, at: datetime) -> None:
        slug = payload["claimant"]
        known = self.claimants.get(slug)
        if (kind == EntryKind.CLAIMANT_ADDED) == (known is not None):
            verb = "added twice" if known is not None else "amended before it was added"
            raise Invalid("file", f"seq {seq}: claimant {slug!r} is {verb}")
        fields = {name: payload[name] for name in CLAIMANT_FIELDS}
        if known is not None:
            known.update(fields, updated_at=at)
            return
        self.claimants[slug] = {
            "slug": slug,
            **fields,
            "created_at": at,
            "updated_at": at,
            "added_seq": seq,
        }

    def _amend_criteria(
        self, claim: dict[str, Any], claim_id: int, payload: dict[str, Any], at: datetime
    ) -> None:
        # before the first forecast an amendment replaces the criteria in the same version
        if payload["version"] != claim["version"]:
            self.versions.append(
                {
                    "claim_id": claim_id,
                    "version": claim["version"],
                    "resolution_criteria": claim["resolution_criteria"],
                    "rules": claim["rules"],
                    "superseded_at": at,
                }
            )
        claim["version"] = payload["version"]
        claim["resolution_criteria"] = payload["resolution_criteria"]
        claim["rules"] = payload["rules"]

    def _propose(
        self, claim: dict[str, Any], claim_id: int, payload: dict[str, Any], seq: int, at: datetime
    ) -> None:
        claim.update(proposed())
        if payload["closes_early"]:
            _closed_at(claim, payload["closed_at"])
        self.proposals.append(
            {
                "claim_id": claim_id,
                "outcome": payload["outcome"],
                "state": ProposalState.PROPOSED,
                "proposed_at": at,
                "closes_early": payload["closes_early"],
                "tc": parse_stamp(payload["closed_at"]),
                "challenge_ends_at": parse_stamp(payload["challenge_ends_at"]),
                "ledger_seq": seq,
                "decided_at": None,
                "note": None,
            }
        )

    def _proposal(self, proposal_seq: int, seq: int) -> dict[str, Any]:
        for proposal in self.proposals:
            if proposal["ledger_seq"] == proposal_seq:
                return proposal
        raise Invalid("file", f"seq {seq}: no proposal at seq {proposal_seq}")

    def _settle(
        self, claim: dict[str, Any], payload: dict[str, Any], seq: int, at: datetime
    ) -> None:
        claim.update(settled(payload["outcome"]))
        _closed_at(claim, payload["closed_at"], clear=True)
        decided = payload.get("proposal_seq")
        # the finaliser names the proposal it settled; an editor's settlement leaves open
        # proposals to the scheduler's sweep, which marks them overridden
        if decided is not None:
            self._proposal(decided, seq).update(state=ProposalState.FINALISED, decided_at=at)


def _slug_of(entry: dict[str, Any]) -> str | None:
    body = entry.get("payload") or entry.get("reveal") or {}
    slug = body.get("claim")
    return slug if isinstance(slug, str) else None


def _closed_at(claim: dict[str, Any], closed_at: str, *, clear: bool = False) -> None:
    """Tc before the scheduled close is an early close; at the close (when settling) none."""
    early = early_close(parse_stamp(closed_at), claim["closes_at"])
    if early is not None or clear:
        claim["closed_early_at"] = early
