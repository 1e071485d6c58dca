"""A deliberately direct reading of SPEC §4, used as the oracle for `forecasts.score_math.scoring`.

At every event it rebuilds everyone's standing forecast from the start of the ledger and
integrates each forecaster's score over the stretch until the next event, averaging the
others' ln q afresh for each forecaster: quadratic in the events and in the forecasters,
as scoring code commonly ships. Only tests and benchmarks should call it.
"""

import math
from collections.abc import Sequence
from datetime import datetime

from forecasts.score_math.crowd import MARKET_PRIOR, crowd_probability
from forecasts.score_math.scoring import CROWD_HANDLE, ScoreRow, ScoringEvent, prepare_events

_Standing = dict[str, tuple[datetime, int, float]]


def _standing_after(events: Sequence[ScoringEvent]) -> _Standing:
    standing: _Standing = {}
    for event in events:
        if event.probability is None:
            standing.pop(event.handle, None)
        else:
            standing[event.handle] = (event.at, event.seq, event.probability)
    return standing


def crowd_timeline_naive(events: Sequence[ScoringEvent]) -> list[tuple[datetime, float | None]]:
    """The crowd probability after each event, from standings rebuilt at every event."""
    ordered = sorted(events, key=lambda event: (event.at, event.seq))
    return [
        (event.at, crowd_probability(list(_standing_after(ordered[: k + 1]).values())))
        for k, event in enumerate(ordered)
    ]


def score_claim_naive(
    events: Sequence[ScoringEvent],
    *,
    opens_at: datetime,
    closes_at: datetime,
    closed_at: datetime,
    outcome: int,
) -> list[ScoreRow]:
    """Same contract as `tests.oracles.scoring.score_claim`."""
    ordered, end = prepare_events(
        events, opens_at=opens_at, closes_at=closes_at, closed_at=closed_at, outcome=outcome
    )

    def q(probability: float) -> float:
        return probability if outcome == 1 else 1 - probability

    names = sorted({event.handle for event in ordered})
    seconds = dict.fromkeys([*names, CROWD_HANDLE], 0.0)
    squared = dict(seconds)
    baseline = dict(seconds)
    peer = dict(seconds)
    for k, event in enumerate(ordered):
        start = max(event.at, opens_at)
        stop = max(ordered[k + 1].at if k + 1 < len(ordered) else end, opens_at)
        length = (stop - start).total_seconds()
        if length <= 0:
            continue
        standing = _standing_after(ordered[: k + 1])
        current = {handle: row[2] for handle, row in standing.items()}
        crowd = crowd_probability(list(standing.values()))
        if crowd is not None:
            current[CROWD_HANDLE] = crowd
        for handle, p in current.items():
            others = [
                math.log(q(other))
                for name, other in current.items()
                if name != handle and name != CROWD_HANDLE
            ]
            relative = math.log(q(p)) - sum(others) / len(others) if others else 0.0
            seconds[handle] += length
            squared[handle] += (p - outcome) ** 2 * length
            baseline[handle] += math.log2(q(p) / 0.5) * length
            peer[handle] += relative * length

    points = dict.fromkeys(names, 0.0)
    market = MARKET_PRIOR
    for event in ordered:
        if event.probability is not None:
            points[event.handle] += 100 * math.log2(q(event.probability) / q(market))
            market = event.probability

    final = _standing_after(ordered)
    final_probability = {handle: row[2] for handle, row in final.items()}
    crowd_at_close = crowd_probability(list(final.values()))
    if crowd_at_close is not None:
        final_probability[CROWD_HANDLE] = crowd_at_close
    window = (closes_at - opens_at).total_seconds()
    rows = []
    for handle in [*names, CROWD_HANDLE]:
        if seconds[handle] <= 0:
            continue
        last = final_probability.get(handle)
        rows.append(
            ScoreRow(
                handle=handle,
                brier=None if last is None else (last - outcome) ** 2,
                time_averaged_brier=squared[handle] / seconds[handle],
                coverage=seconds[handle] / window,
                log_score=None if last is None else math.log(q(last)),
                baseline_score=100 * baseline[handle] / window,
                peer_score=100 * peer[handle] / window,
                market_points=points.get(handle) if handle != CROWD_HANDLE else None,
            )
        )
    return rows
