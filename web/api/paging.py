"""Cursor pagination shared by every list: opaque cursors over an increasing integer key."""

import base64
from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

from fastapi import Path, Query

from claims.errors import Invalid

# Ids and sequence numbers are 32-bit integer columns on PostgreSQL: a larger value in a query is
# an error there (and beyond 64 bits one on SQLite too), so it is a 422 before any query
MAX_ID = 2**31 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=500, description="Page size")]
Cursor = Annotated[str | None, Query(max_length=100, description="`next_cursor` of the last page")]

_Row = TypeVar("_Row")


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


def keyset_page(
    rows: Sequence[_Row], limit: int, key: Callable[[_Row], int | None]
) -> tuple[list[_Row], str | None]:
    """A page from rows read with `limit + 1`: the first `limit`, and the cursor past the last
    (None when there was nothing more, or the last has no key)."""
    page = list(rows[:limit])
    last = key(page[-1]) if len(rows) > limit else None
    return page, None if last is None else encode_cursor(last)


def offset_cursor(start: int, limit: int, more: bool) -> str | None:
    """The cursor of the page after the one at `start`, for lists paged by position."""
    return encode_cursor(start + limit) if more else None
