"""Crowd and market probability of a claim (SPEC §2), as pure functions over plain values."""

from collections.abc import Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache
from typing import TypeVar

import numpy as np
import numpy.typing as npt

# A cumulative weight within this fraction of the total from half counts as "exactly half".
# With recency weights an exact half never happens in real arithmetic (the numbers
# exp(sqrt(k)) are linearly independent over the rationals, by Lindemann-Weierstrass), so
# the tolerance only absorbs rounding; it matters for explicit weights such as 1, 1.
HALF_TOLERANCE = 1e-12

MARKET_PRIOR = 0.5


_Floats = npt.NDArray[np.float64]
_Item = TypeVar("_Item", np.float64, np.int64)


@lru_cache(maxsize=16)  # a sweep moves N by one at a time, so a few sizes cover it
def recency_weights(count: int) -> _Floats:
    """Weights w_k = exp(sqrt(k) - sqrt(N)) for k = 1 (oldest) … N (newest), read-only."""
    roots = np.sqrt(np.arange(1, count + 1, dtype=np.float64))
    weights: _Floats = np.exp(roots - roots[-1]) if count else roots
    weights.flags.writeable = False
    return weights


def _median(values: _Floats, weights: _Floats) -> float:
    order = values.argsort(kind="stable")
    return _median_of_sorted(values[order], weights[order])


def _median_of_sorted(values: _Floats, weights: _Floats) -> float:
    cumulative = weights.cumsum()
    total = float(cumulative[-1])
    half = total / 2
    slack = HALF_TOLERANCE * total
    index = int(cumulative.searchsorted(half - slack, side="left"))
    value = float(values[index])
    if abs(float(cumulative[index]) - half) <= slack and index + 1 < len(values):
        return (value + float(values[index + 1])) / 2
    return value


def recency_weighted_median(values: Sequence[float]) -> float | None:
    """Weighted median of values ordered oldest to newest, with recency weights; None if empty."""
    if not values:
        return None
    return _median(np.array(values, dtype=np.float64), recency_weights(len(values)))


def crowd_probability(standing: Sequence[tuple[datetime, int, float]]) -> float | None:
    """Crowd probability from standing forecasts given as (time, ledger seq, probability)."""
    ordered = sorted(standing, key=lambda row: (row[0], row[1]))
    return recency_weighted_median([row[2] for row in ordered])


class CrowdTracker:
    """Standing forecasts and the crowd probability, kept current as events arrive in order.

    The standing values are kept sorted (ties oldest first, as `recency_weighted_median`
    orders them) beside their recency rank, so an event costs a few vectorised O(N) passes
    and no sort. Any cheaper structure would have to cope with one event changing the
    weight of every newer forecast, as each moves down a rank.
    """

    def __init__(self) -> None:
        self._standing: dict[Hashable, float] = {}
        self._ids: dict[Hashable, int] = {}
        self._values: _Floats = np.empty(0, dtype=np.float64)
        self._ranks = np.empty(0, dtype=np.int64)  # 1 = oldest
        self._owners = np.empty(0, dtype=np.int64)

    @classmethod
    def of(cls, standing: Iterable[tuple[Hashable, float]]) -> "CrowdTracker":
        """A tracker holding these standing forecasts, given oldest first.

        The same state as replaying the events that left them standing, without the replay.
        """
        tracker = cls()
        for handle, probability in standing:
            tracker._standing[handle] = probability
            tracker._ids[handle] = len(tracker._ids)
        values = np.array(list(tracker._standing.values()), dtype=np.float64)
        order = np.argsort(values, kind="stable")  # ties oldest first, as `update` puts them
        tracker._values = values[order]
        tracker._owners = order.astype(np.int64)
        tracker._ranks = order.astype(np.int64) + 1
        return tracker

    def copy(self) -> "CrowdTracker":
        """An independent tracker in the same state."""
        other = CrowdTracker()
        other._standing = dict(self._standing)
        other._ids = dict(self._ids)
        other._values = self._values.copy()
        other._ranks = self._ranks.copy()
        other._owners = self._owners.copy()
        return other

    @property
    def standing(self) -> Mapping[Hashable, float]:
        """Standing forecast by handle, oldest first."""
        return self._standing

    def update(self, handle: Hashable, probability: float | None) -> float | None:
        """Apply the newest event (None: a withdrawal); return the handle's previous forecast."""
        owner = self._ids.setdefault(handle, len(self._ids))
        previous = self._standing.pop(handle, None)
        if previous is not None:
            low = int(self._values.searchsorted(previous, side="left"))
            high = int(self._values.searchsorted(previous, side="right"))
            slot = low + int(np.flatnonzero(self._owners[low:high] == owner)[0])
            rank = self._ranks[slot]
            self._values = _without(self._values, slot)
            self._owners = _without(self._owners, slot)
            self._ranks = _without(self._ranks, slot)
            self._ranks[self._ranks > rank] -= 1
        if probability is not None:
            slot = int(self._values.searchsorted(probability, side="right"))
            self._values = _with(self._values, slot, probability)
            self._owners = _with(self._owners, slot, owner)
            self._ranks = _with(self._ranks, slot, len(self._standing) + 1)
            self._standing[handle] = probability
        return previous

    def crowd(self) -> float | None:
        """The crowd probability of the standing forecasts; None if there are none."""
        if not self._standing:
            return None
        weights = recency_weights(len(self._standing))[self._ranks - 1]
        return _median_of_sorted(self._values, weights)


# np.insert and np.delete cost tens of microseconds in argument handling alone.
def _without(array: npt.NDArray[_Item], slot: int) -> npt.NDArray[_Item]:
    return np.concatenate((array[:slot], array[slot + 1 :]))


def _with(array: npt.NDArray[_Item], slot: int, item: float) -> npt.NDArray[_Item]:
    return np.concatenate((array[:slot], np.array([item], dtype=array.dtype), array[slot:]))


def market_probability(forecasts: Iterable[tuple[datetime, int, float | None]]) -> float:
    """Latest forecast by anyone, from records (time, ledger seq, probability or None).

    Withdrawals (None) are ignored; 0.5 before any forecast.
    """
    latest: tuple[datetime, int, float] | None = None
    for at, seq, probability in forecasts:
        if probability is not None and (latest is None or (at, seq) > latest[:2]):
            latest = (at, seq, probability)
    return MARKET_PRIOR if latest is None else latest[2]
