"""What editors send: the validated shapes of a new claim and of a change to one."""

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AllowInfNan,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    Strict,
    StrictBool,
    StrictFloat,
    StringConstraints,
    field_validator,
)

from claims.rules import RuleSpec
from claims.states import ClaimKind
from claims.text import Criteria, LongText, ShortText, Slug, Tag, Title, UTCTime, clean

# A finite number sent as a JSON number (SPEC §2: strict floats, no booleans or strings).
Number = Annotated[float, Strict(), AllowInfNan(False)]
# A range end: a number (numeric claims) or an ISO-8601 time (date claims), told apart in
# `claims.outcome_space.check_space`, which also checks the options' length after NFC.
RangeEnd = Number | UTCTime
OptionLabel = Annotated[str, StringConstraints(max_length=400), AfterValidator(clean)]
# A source's option names a label as the options are kept: NFC (SPEC §7), like a forecast's
# labels and an outcome, so the same text typed in another normal form still matches.
CitedOption = Annotated[ShortText, AfterValidator(lambda text: unicodedata.normalize("NFC", text))]
Unit = Annotated[str, StringConstraints(max_length=40), AfterValidator(clean)]


class KindFields(BaseModel):
    """The fields of a claim's kind (SPEC §7), checked against the kind in the domain."""

    options: list[OptionLabel] | None = Field(default=None, max_length=20)
    range_min: RangeEnd | None = None
    range_max: RangeEnd | None = None
    open_lower_bound: StrictBool = True
    open_upper_bound: StrictBool = True
    log_scale: StrictBool = False
    unit: Unit = ""

    def given(self) -> dict[str, Any]:
        """The kind fields the body named."""
        return {
            name: getattr(self, name)
            for name in KindFields.model_fields
            if name in self.model_fields_set
        }


class ClaimSource(BaseModel):
    """Where the claim was made in public."""

    model_config = ConfigDict(extra="forbid")

    url: HttpUrl | None = None
    # a claimant's slug (SPEC §8); free text survives only on claims from before claimants
    claimant: ShortText | None = None
    stance: Literal["asserts", "denies"] | None = None
    option: CitedOption | None = None
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


class ClaimCreate(KindFields):
    model_config = ConfigDict(extra="forbid")

    kind: ClaimKind = ClaimKind.BINARY
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


class ClaimPatch(KindFields):
    """Fields to change; absent fields stay as they are (the kind never changes)."""

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
