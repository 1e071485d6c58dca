"""What editors send: the validated shapes of a new claim and of a change to one."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from claims.rules import RuleSpec
from claims.text import Criteria, LongText, ShortText, Slug, Tag, Title, UTCTime


class ClaimSource(BaseModel):
    """Where the claim was made in public."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None
    claimant: ShortText | None = None
    quote: LongText | None = None
    published_at: UTCTime | None = None


class ClaimCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: Slug
    title: Title
    description: LongText = ""
    resolution_criteria: Criteria
    fine_print: LongText = ""
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    opens_at: UTCTime | None = None
    closes_at: UTCTime
    resolves_at: UTCTime | None = None
    rules: list[RuleSpec] = Field(default_factory=list, max_length=10)
    source: ClaimSource | None = None
    status: Literal["draft", "published"] = "published"


class ClaimPatch(BaseModel):
    """Fields to change; absent fields stay as they are."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    description: LongText | None = None
    resolution_criteria: Criteria | None = None
    fine_print: LongText | None = None
    tags: list[Tag] | None = Field(default=None, max_length=20)
    opens_at: UTCTime | None = None
    closes_at: UTCTime | None = None
    resolves_at: UTCTime | None = None
    rules: list[RuleSpec] | None = Field(default=None, max_length=10)
    source: ClaimSource | None = None  # null removes the source

    @field_validator(
        "title",
        "description",
        "resolution_criteria",
        "fine_print",
        "tags",
        "rules",
        mode="before",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        # absent means "unchanged"; an explicit null would blank a field that must have a value
        # (a null time is read as absent, which the desk's form relies on)
        if value is None:
            raise ValueError("must not be null (leave the field out to keep it)")
        return value
