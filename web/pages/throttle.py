"""Wrong passwords per handle: after a few in a minute, that handle waits.

The failures are rows in the database (`sign_in_failures`), so every process of a
deployment counts the same ones; rows older than the window are deleted as new ones come.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import Connection, delete, func, insert, select

from forecasts.models import SignInFailure
from web.db import Database

failures_t = SignInFailure.__table__  # type: ignore[attr-defined]


class FailedSignIns:
    """A sliding window of failed sign-ins per handle; `limit` of them lock it until they age."""

    def __init__(self, limit: int = 10, window: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.window = window

    def wait(self, conn: Connection, handle: str, now: datetime) -> int:
        """Seconds before the handle may try again; 0 when it may now."""
        count, first = conn.execute(
            select(func.count(), func.min(failures_t.c.failed_at)).where(
                failures_t.c.handle == handle, failures_t.c.failed_at > now - self.window
            )
        ).one()
        if count < self.limit:
            return 0
        left: timedelta = first + self.window - now
        return max(1, math.ceil(left.total_seconds()))

    def failed(self, db: Database, handle: str, now: datetime) -> None:
        """Count a failure (its own short transaction, after the slow password check)."""
        with db.writing() as session:
            conn = session.connection()
            conn.execute(delete(failures_t).where(failures_t.c.failed_at <= now - self.window))
            conn.execute(insert(failures_t).values(handle=handle, failed_at=now))
            session.commit()
