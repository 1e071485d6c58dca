"""Input types: the string rules every field shares (no NUL bytes, no lone surrogates), and
times, which must carry a zone and are converted to UTC as they are read."""

import re
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, StringConstraints

from claims.clock import as_utc

SLUG_PATTERN = r"^[a-z0-9](-?[a-z0-9])*$"
_SURROGATE = re.compile("[\ud800-\udfff]")


def clean(text: str) -> str:
    if "\x00" in text:
        raise ValueError("must not contain NUL bytes")
    if _SURROGATE.search(text):
        raise ValueError("must not contain unpaired surrogates")
    return text


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("must not be blank")
    return text


Slug = Annotated[
    str,
    StringConstraints(min_length=1, max_length=120, pattern=SLUG_PATTERN),
    AfterValidator(clean),
]
Handle = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=SLUG_PATTERN),
    AfterValidator(clean),
]
Tag = Annotated[
    str,
    StringConstraints(min_length=1, max_length=40, pattern=SLUG_PATTERN),
    AfterValidator(clean),
]
ShortText = Annotated[str, StringConstraints(max_length=300), AfterValidator(clean)]
Title = Annotated[
    str,
    StringConstraints(min_length=1, max_length=300),
    AfterValidator(clean),
    AfterValidator(_not_blank),
]
LongText = Annotated[str, StringConstraints(max_length=20_000), AfterValidator(clean)]
Criteria = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20_000),
    AfterValidator(clean),
    AfterValidator(_not_blank),
]
Rationale = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(clean)]
# every input time: a moment that UTC cannot hold is a 422 naming the field, not a 500 later
UTCTime = Annotated[AwareDatetime, AfterValidator(as_utc)]
