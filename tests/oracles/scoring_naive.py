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
from forecasts.score_math.distributions import (
    N_BINS,
    Scale,
    mc_crowd,
    numeric_crowd,
    outcome_bucket,
    pmf,
    reference_pmf,
)
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


# SPEC §7's kinds, read as directly: the crowd rebuilt from the standings at every event
# with the one-instant crowds of `distributions`, each forecaster's figures summed segment by
# segment, CRPS from ∫F² - 2∫_{u*}^1 F + (1 - u*) over the linear pieces.


def _crps_naive(cdf: Sequence[float], u_star: float) -> float:
    total = 0.0
    for i in range(1, N_BINS + 1):
        a, b = cdf[i - 1], cdf[i]
        low, high = (i - 1) / N_BINS, i / N_BINS
        total += (a * a + a * b + b * b) / 3 / N_BINS
        if high > u_star:  # the part of the segment at or above u*
            start = max(low, u_star)
            at_start = a + (b - a) * (start - low) * N_BINS
            total -= 2 * (high - start) * (at_start + b) / 2
    return total + (1 - u_star)


def _kind_figures(
    distribution: Sequence[float], kind: str, outcome: int, scale: Scale | None, x: float
) -> tuple[float, float, float]:
    """q, loss and the baseline integrand of one distribution."""
    if kind == "multiple_choice":
        k = len(distribution)
        q = distribution[outcome]
        loss = sum((p - (i == outcome)) ** 2 for i, p in enumerate(distribution)) / 2
        return q, loss, math.log(q * k) / math.log(k)
    assert scale is not None
    bucket = outcome_bucket(scale, x)
    q = float(pmf(distribution)[bucket])
    ref = float(reference_pmf(scale)[bucket])
    u_star = min(max(scale.u(x), 0.0), 1.0)
    return q, _crps_naive(distribution, u_star), math.log(q / ref) / 2


def score_kind_claim_naive(
    events: Sequence[tuple[str, datetime, int, Sequence[float] | None]],
    *,
    opens_at: datetime,
    closes_at: datetime,
    closed_at: datetime,
    outcome: int,
    options: int | None = None,
    scale: Scale | None = None,
    outcome_value: float = 0.0,
) -> list[ScoreRow]:
    """Same contract as `tests.oracles.scoring.rows_of_one_claim`'s rows, for MC or numeric."""
    kind = "multiple_choice" if scale is None else "numeric"
    end = min(closed_at, closes_at)
    ordered = sorted((e for e in events if e[1] < end), key=lambda e: (e[1], e[2]))
    peer_factor = 1.0 if scale is None else 0.5

    def figures(d: Sequence[float]) -> tuple[float, float, float]:
        return _kind_figures(d, kind, outcome, scale, outcome_value)

    def crowd_of(standing: dict[str, Sequence[float]]) -> Sequence[float] | None:
        values = list(standing.values())  # oldest first: dicts keep insertion order
        if not values:
            return None
        if scale is None:
            return mc_crowd(values)
        crowd = numeric_crowd(values)
        return None if crowd is None else crowd.tolist()

    names = sorted({e[0] for e in ordered})
    zero = dict.fromkeys([*names, CROWD_HANDLE], 0.0)
    seconds, lost, baseline, peer = dict(zero), dict(zero), dict(zero), dict(zero)
    standing: dict[str, Sequence[float]] = {}
    for k, (handle, at, _, distribution) in enumerate(ordered):
        standing.pop(handle, None)
        if distribution is not None:
            standing[handle] = distribution
        start = max(at, opens_at)
        stop = max(ordered[k + 1][1] if k + 1 < len(ordered) else end, opens_at)
        length = (stop - start).total_seconds()
        if length <= 0:
            continue
        current = dict(standing)
        crowd = crowd_of(standing)
        if crowd is not None:
            current[CROWD_HANDLE] = crowd
        ln_q = {name: math.log(figures(d)[0]) for name, d in current.items()}
        for name, d in current.items():
            _, loss, base = figures(d)
            others = [v for o, v in ln_q.items() if o not in (name, CROWD_HANDLE)]
            relative = ln_q[name] - sum(others) / len(others) if others else 0.0
            seconds[name] += length
            lost[name] += loss * length
            baseline[name] += base * length
            peer[name] += relative * length
    points = dict.fromkeys(names, 0.0)
    if scale is None:
        market = 1.0 / (options or 1)
    else:
        market = float(reference_pmf(scale)[outcome_bucket(scale, outcome_value)])
    for handle, _, _, distribution in ordered:
        if distribution is not None:
            q = figures(distribution)[0]
            points[handle] += 100 * math.log2(q / market)
            market = q
    final: dict[str, Sequence[float]] = dict(standing)
    crowd = crowd_of(standing)
    if crowd is not None:
        final[CROWD_HANDLE] = crowd
    window = (closes_at - opens_at).total_seconds()
    rows = []
    for handle in [*names, CROWD_HANDLE]:
        if seconds[handle] <= 0:
            continue
        last = final.get(handle)
        at_close = None if last is None else figures(last)
        average = lost[handle] / seconds[handle]
        loss_at_close = None if at_close is None else at_close[1]
        rows.append(
            ScoreRow(
                handle=handle,
                brier=loss_at_close if scale is None else None,
                time_averaged_brier=average if scale is None else None,
                coverage=seconds[handle] / window,
                log_score=None if at_close is None else math.log(at_close[0]),
                baseline_score=100 * baseline[handle] / window,
                peer_score=100 * peer_factor * peer[handle] / window,
                market_points=points.get(handle) if handle != CROWD_HANDLE else None,
                crps=loss_at_close if scale is not None else None,
                time_averaged_crps=average if scale is not None else None,
            )
        )
    return rows
