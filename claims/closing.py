"""Tc, the effective close (SPEC §4): the scheduled close, or the earlier moment it was settled.

Written once, in Python for a row in hand and in SQL for a query over many.
"""

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_
from sqlalchemy.sql.elements import ColumnElement


def tc(closes_at: datetime, closed_early_at: datetime | None) -> datetime:
    """The earlier of the scheduled close and the early close, if there is one."""
    if closed_early_at is not None and closed_early_at < closes_at:
        return closed_early_at
    return closes_at


def closed_by(closes_at: Any, closed_early_at: Any, now: datetime) -> ColumnElement[bool]:
    """SQL for `Tc <= now`, from a claims table's two close columns."""
    return or_(closes_at <= now, and_(closed_early_at.is_not(None), closed_early_at <= now))
