"""Cursor pagination shared by every list: opaque cursors over an increasing integer key."""

import base64
from typing import Annotated

from fastapi import Query

from claims.errors import Invalid

Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=100, description="`next_cursor` of the last page")]


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        return int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise Invalid(["cursor"], "not a cursor this API gave out") from None
