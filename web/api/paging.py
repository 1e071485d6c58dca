"""Cursor pagination shared by every list: opaque cursors over an increasing integer key."""

import base64
from typing import Annotated

from fastapi import Path, Query

from claims.errors import Invalid

# Ids and sequence numbers are 32-bit integer columns on PostgreSQL: a larger value in a query is
# an error there (and beyond 64 bits one on SQLite too), so it is a 422 before any query
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=100, description="`next_cursor` of the last page")]


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode()


def decode_cursor(cursor: str | None) -> int | None:
    if cursor is None:
        return None
    try:
        value = int(base64.urlsafe_b64decode(cursor.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        value = -1
    if not 0 <= value <= MAX_ID:
        raise Invalid(["cursor"], "not a cursor this API gave out", where="query")
    return value
