"""Wrong passwords per handle and client address: after a few in a minute, that pair waits.

Each attempt is a row in the database (`sign_in_failures`), written and committed before the
password is checked and deleted when it was right, so what stays are failures. Counting
after the row is committed makes concurrent attempts see each other: the k-th attempt
committed counts at least k, on either engine, so no burst gets more than the limit through.
The count is per handle *and* client address, so a stranger failing on someone's handle
locks only themselves out (the per-address and total rates of `web.ratelimits` bound how
many addresses can guess). In the database, not in a process, so that every process of a
deployment counts the same ones; rows older than the window are deleted as new ones come.
"""

import math
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select

from forecasts.ledger.models import SignInFailure
from web.db import Database
from web.ratelimits import SlowDown

failures_t = SignInFailure.__table__  # type: ignore[attr-defined]


class FailedSignIns:
    """A sliding window of failed sign-ins per handle and client; `limit` of them lock it."""

    def __init__(self, limit: int = 10, window: timedelta = timedelta(minutes=1)) -> None:
        self.limit = limit
        self.window = window

    def attempt(self, db: Database, handle: str, client: str, now: datetime) -> int:
        """Count an attempt before its password is checked; its row id.

        SlowDown (and the attempt is not counted) when the pair has `limit` failures already.
        """
        with db.writing() as session:
            conn = session.connection()
            conn.execute(delete(failures_t).where(failures_t.c.failed_at <= now - self.window))
            row = conn.execute(
                insert(failures_t).values(handle=handle, client=client[:64], failed_at=now)
            )
            assert row.inserted_primary_key is not None
            attempt_id = int(row.inserted_primary_key[0])
            session.commit()
        with db.reading() as session:
            count, first = (
                session.connection()
                .execute(
                    select(func.count(), func.min(failures_t.c.failed_at)).where(
                        failures_t.c.handle == handle,
                        failures_t.c.client == client[:64],
                        failures_t.c.failed_at > now - self.window,
                    )
                )
                .one()
            )
        if count <= self.limit:
            return attempt_id
        self.forget(db, attempt_id)
        wait = max(1, math.ceil((first + self.window - now).total_seconds()))
        raise SlowDown(f"Too many wrong passwords: try again in {wait} s.", wait)

    def forget(self, db: Database, attempt_id: int) -> None:
        """Take back an attempt: its password was right, or it was never checked."""
        with db.writing() as session:
            session.connection().execute(delete(failures_t).where(failures_t.c.id == attempt_id))
            session.commit()
