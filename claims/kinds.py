"""The kinds of ledger entry (SPEC §3), stored and hashed as these strings.

They live beside the claims because claims/ records its own entries (through
`lifecycle.Recorder`) and forecasts/ may import from here, never the other way.
"""

from enum import StrEnum


class EntryKind(StrEnum):
    """What a ledger entry records."""

    CLAIM_PUBLISHED = "claim_published"
    CLAIM_TEXT_AMENDED = "claim_text_amended"
    CRITERIA_AMENDED = "criteria_amended"
    WINDOW_AMENDED = "window_amended"
    CLAIM_CLOSED = "claim_closed"
    CLAIM_REOPENED = "claim_reopened"
    RESOLUTION_PROPOSED = "resolution_proposed"
    RESOLUTION_DISPUTED = "resolution_disputed"
    RESOLUTION_FINALISED = "resolution_finalised"
    RE_RESOLVED = "re_resolved"
    ANNULLED = "annulled"
    FORECAST_SUBMITTED = "forecast_submitted"
    FORECAST_WITHDRAWN = "forecast_withdrawn"
    FORECAST_IMPORTED = "forecast_imported"
    SOURCE_AMENDED = "source_amended"
    CLAIMANT_ADDED = "claimant_added"
    CLAIMANT_AMENDED = "claimant_amended"
