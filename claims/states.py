"""The states a claim and its resolution proposals pass through, stored as these strings."""

from enum import StrEnum


class ClaimKind(StrEnum):
    """What a claim's outcome is (SPEC §7): fixed when the claim is created."""

    BINARY = "binary"
    MULTIPLE_CHOICE = "multiple_choice"
    NUMERIC = "numeric"
    DATE = "date"


# The kinds whose outcome is a value on a range (dates as Unix seconds).
RANGE_KINDS = frozenset({ClaimKind.NUMERIC, ClaimKind.DATE})

# Longest outcome label (SPEC §7: options of 1 to 80 code points), also the column width.
LABEL_MAX = 80


class ClaimState(StrEnum):
    """A claim's stored state (`claims.state`)."""

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"
    PROPOSED = "proposed"
    RESOLVED = "resolved"
    ANNULLED = "annulled"
    AMBIGUOUS = "ambiguous"


SETTLED_STATES = frozenset({ClaimState.RESOLVED, ClaimState.ANNULLED, ClaimState.AMBIGUOUS})

# The stored state a settlement's outcome leaves the claim in.
STATE_OF_OUTCOME = {
    "yes": ClaimState.RESOLVED,
    "no": ClaimState.RESOLVED,
    "annulled": ClaimState.ANNULLED,
    "ambiguous": ClaimState.AMBIGUOUS,
}


class ClockState(StrEnum):
    """What a `published` claim reads as by the clock (`lifecycle.status_at`)."""

    UPCOMING = "upcoming"
    OPEN = "open"
    CLOSED = "closed"


class ProposalState(StrEnum):
    """A resolution proposal's state (`proposals.state`)."""

    PROPOSED = "proposed"  # open to dispute until its challenge window ends
    DISPUTED = "disputed"
    FINALISED = "finalised"
    OVERRIDDEN = "overridden"
    REJECTED = "rejected"
