"""What editors send: the validated shapes of a new claim and of a change to one."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, StrictFloat, field_validator

from claims.rules import RuleSpec
from claims.text import Criteria, LongText, ShortText, Slug, Tag, Title, UTCTime


class ClaimSource(BaseModel):
    """Where the claim was made in public."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None
    # a claimant's slug (SPEC §8); free text survives only on claims from before claimants
    claimant: ShortText | None = None
    stance: Literal["asserts", "denies"] | None = None
    option: ShortText | None = None
    stated_probability: StrictFloat | None = Field(default=None, ge=0, le=1)
    quote: LongText | None = None
    published_at: UTCTime | None = None


ClaimantKind = Literal["person", "organisation", "publication"]


class ClaimantCreate(BaseModel):
    """A new claimant (SPEC §8)."""

    model_config = ConfigDict(extra="forbid")

    slug: Slug
    name: Title
    kind: ClaimantKind
    url: HttpUrl | None = None
    description: LongText = ""


class ClaimantPatch(BaseModel):
    """Fields of a claimant to change; the slug is fixed (an unknown field is a 422)."""

    model_config = ConfigDict(extra="forbid")

    name: Title | None = None
    kind: ClaimantKind | None = None
    url: HttpUrl | None = None  # null removes it
    description: LongText | None = None

    @field_validator("name", "kind", "description", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("must not be null (leave the field out to keep it)")
        return value


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
