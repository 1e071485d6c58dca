"""Leaderboard and calibration math over per-claim scores (SPEC §4), as pure functions."""

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BINS = 10
# Resampled means drawn per batch are capped near this many indices, to bound memory.
_BATCH_CELLS = 1 << 20


def bootstrap_mean_ci(
    values: Sequence[float], *, seed_text: str, resamples: int = 1000
) -> tuple[float, float] | None:
    """95% percentile bootstrap interval of the mean; None below 2 values.

    The generator is seeded from the SHA-256 of `seed_text` (the handle), so a forecaster's
    interval is the same on every reading.
    """
    if len(values) < 2:
        return None
    if resamples < 1:
        raise ValueError("resamples must be positive")
    data = np.asarray(values, dtype=np.float64)
    seed = int.from_bytes(hashlib.sha256(seed_text.encode()).digest(), "big")
    rng = np.random.default_rng(seed)
    batch = max(1, _BATCH_CELLS // len(data))
    means = []
    for done in range(0, resamples, batch):
        picks = rng.integers(0, len(data), size=(min(batch, resamples - done), len(data)))
        means.append(data[picks].mean(axis=1))
    low, high = np.percentile(np.concatenate(means), [2.5, 97.5])
    return float(low), float(high)


def peer_accuracy(sum_peer: float, sum_coverage: float, k: float = 10) -> float:
    """Σ peer_score / max(Σ coverage, K): few or thinly covered claims are shrunk towards 0."""
    if not k > 0:
        raise ValueError("K must be positive")
    return sum_peer / max(sum_coverage, k)


@dataclass(frozen=True)
class CalibrationBin:
    """Forecasts at close with probability in [bin/10, (bin+1)/10), the last bin closed."""

    bin: int
    mean_forecast: float | None
    observed_frequency: float | None
    count: int


@dataclass(frozen=True)
class Murphy:
    """Murphy decomposition of the Brier score over the calibration bins.

    brier = reliability - resolution + uncertainty + within_bin, exactly.
    """

    reliability: float | None
    resolution: float | None
    uncertainty: float | None
    within_bin: float | None
    brier: float | None
    count: int


def calibration_bin(probability: float) -> int:
    """Bin of a probability: min(floor(10 p), 9)."""
    if not 0 <= probability <= 1:
        raise ValueError(f"probability {probability!r} is outside [0, 1]")
    return min(math.floor(BINS * probability), BINS - 1)


def calibration_bins(pairs: Sequence[tuple[float, int]]) -> list[CalibrationBin]:
    """Ten bins of (probability at close, outcome) pairs: mean forecast, frequency, count."""
    forecasts: list[list[float]] = [[] for _ in range(BINS)]
    outcomes: list[list[int]] = [[] for _ in range(BINS)]
    for probability, outcome in pairs:
        if outcome not in (0, 1):
            raise ValueError("outcome must be 0 or 1")
        index = calibration_bin(probability)
        forecasts[index].append(probability)
        outcomes[index].append(outcome)
    return [
        CalibrationBin(
            bin=index,
            mean_forecast=math.fsum(forecasts[index]) / len(forecasts[index])
            if forecasts[index]
            else None,
            observed_frequency=sum(outcomes[index]) / len(outcomes[index])
            if outcomes[index]
            else None,
            count=len(forecasts[index]),
        )
        for index in range(BINS)
    ]


def murphy_decomposition(pairs: Sequence[tuple[float, int]]) -> Murphy:
    """Reliability, resolution and uncertainty from bin means; within_bin is the remainder."""
    if not pairs:
        return Murphy(None, None, None, None, None, 0)
    bins = calibration_bins(pairs)
    total = len(pairs)
    base_rate = sum(outcome for _, outcome in pairs) / total
    reliability = resolution = 0.0
    for cell in bins:
        if cell.mean_forecast is None or cell.observed_frequency is None:
            continue
        reliability += cell.count * (cell.mean_forecast - cell.observed_frequency) ** 2
        resolution += cell.count * (cell.observed_frequency - base_rate) ** 2
    reliability /= total
    resolution /= total
    uncertainty = base_rate * (1 - base_rate)
    brier = math.fsum((p - o) ** 2 for p, o in pairs) / total
    within_bin = brier - (reliability - resolution + uncertainty)
    return Murphy(reliability, resolution, uncertainty, within_bin, brier, total)


@dataclass(frozen=True)
class PitBin:
    """PIT values (SPEC §7) in [bin/10, (bin+1)/10), the last bin closed."""

    bin: int
    count: int


def pit_histogram(values: Sequence[float]) -> list[PitBin]:
    """Ten bins of PIT values, bin = min(⌊10·PIT⌋, 9): flat for a calibrated forecaster."""
    counts = [0] * BINS
    for value in values:
        counts[calibration_bin(value)] += 1
    return [PitBin(bin=i, count=n) for i, n in enumerate(counts)]
