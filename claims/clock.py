"""The one clock: timezone-aware UTC, injectable so tests control time without sleeping."""

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The current moment, aware, in UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """`moment` converted to UTC; a naive value is read as UTC (the database stores UTC).

    A ValueError (not Python's OverflowError) when UTC has no such moment, as for
    0001-01-01T00:00+01:00, so that input validation reports it as a bad field.
    """
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "is outside the calendar (years 1 to 9999) once converted to UTC"
        ) from None


def stamp(moment: datetime) -> str:
    """The ledger's time format: `YYYY-MM-DDTHH:MM:SS.ffffffZ`."""
    m = as_utc(moment)  # formatted by hand: strftime is slow on the submission hot path
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T"
        f"{m.hour:02d}:{m.minute:02d}:{m.second:02d}.{m.microsecond:06d}Z"
    )


def parse_stamp(text: str) -> datetime:
    """Inverse of `stamp` (accepts any ISO-8601 time with a zone)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"time without a zone: {text!r}")
    return as_utc(moment)
