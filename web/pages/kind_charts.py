"""SVG geometry for claims that are numbers, dates or choices (SPEC §7), drawn by templates.

Numeric and date claims: the density (probability per bin) of the crowd's CDF and of the
viewer's own, over the claim's range on its internal scale (so a log-scale claim gets a log
axis), and the crowd's median and 80% band over time. Multiple choice: a bar per option and
a line per option over time. Only the crowd and the viewer's own are ever passed in.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from forecasts.score_math.distributions import GRID, N_BINS, cdf_quantile, pmf
from web.pages.charts import (
    PERCENT_MARKS,
    Box,
    Frame,
    Line,
    LineChart,
    Tick,
    bands,
    chart_box,
    polylines,
    step_runs,
    time_format,
    time_ticks,
    value_ticks,
)
from web.pages.quantities import Quantity

BAND = (0.1, 0.9)  # the 80% band
OPTION_COLOURS = 8  # css classes option-0 … option-7, repeated past eight options
BAR_WIDTH = 200  # a bar's full length, 100%, in its own viewBox


@dataclass(frozen=True)
class Span:
    """A stretch of the x axis (a band) or one place on it (start == end, a line)."""

    kind: str  # css class
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class DensityChart(Frame):
    areas: list[Line]  # the crowd's density, filled
    lines: list[Line]  # the viewer's own density
    spans: list[Span]  # the crowd's 80% band and median
    x_ticks: list[Tick]
    axis: str  # what the x axis measures
    summary: str


def quantile_u(cdf: Sequence[float], level: float) -> float:
    """Where on the internal scale F reaches the level, clipped to the range [0, 1]."""
    return float(np.interp(level, np.asarray(cdf, dtype=np.float64), GRID))


def level_text(quantity: Quantity, cdf: Sequence[float], level: float) -> str:
    """The value at which F reaches the level in words ('2.1M USD', 'below 0 USD')."""
    value = cdf_quantile(quantity.scale, cdf, level)
    if value is not None:
        return quantity.text(value)
    if level < cdf[0]:
        return f"below {quantity.text(quantity.scale.range_min)}"
    return f"above {quantity.text(quantity.scale.range_max)}"


def _density_steps(cdf: Sequence[float], peak: float, box: Box) -> list[tuple[float, float]]:
    """The probability of each bin as a step line (equal neighbouring steps merged)."""
    left, top, right, bottom = box
    mass = pmf(cdf)[1 : N_BINS + 1]
    points: list[tuple[float, float]] = []
    for i, value in enumerate(mass):
        x0 = left + (right - left) * i / N_BINS
        x1 = left + (right - left) * (i + 1) / N_BINS
        y = bottom - (bottom - top) * float(value) / peak
        if points and abs(points[-1][1] - y) < 0.05:
            points[-1] = (x1, points[-1][1])  # the same height goes on
            continue
        points += [(x0, y), (x1, y)]
    return points


def _points(pairs: Sequence[tuple[float, float]]) -> str:
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pairs)


def _spread(quantity: Quantity, cdf: Sequence[float], who: str) -> str:
    low, high = (level_text(quantity, cdf, level) for level in BAND)
    median = level_text(quantity, cdf, 0.5)
    return f"{who} median {median}, 80% between {low} and {high}"


def _tails(quantity: Quantity, cdf: Sequence[float]) -> str:
    parts = []
    if cdf[0] > 0:
        parts.append(f"{100 * cdf[0]:.1f}% below {quantity.text(quantity.scale.range_min)}")
    if cdf[-1] < 1:
        parts.append(f"{100 * (1 - cdf[-1]):.1f}% above {quantity.text(quantity.scale.range_max)}")
    return f" ({'; '.join(parts)})" if parts else ""


def density_chart(
    quantity: Quantity,
    crowd: Sequence[float] | None,
    mine: Sequence[float] | None = None,
    *,
    width: int = 640,
    height: int = 240,
) -> DensityChart:
    """The crowd's and the viewer's own probability per bin over the claim's range."""
    box = chart_box(width, height, axes=True, left=16)
    left, _top, right, bottom = box
    shown = [cdf for cdf in (crowd, mine) if cdf is not None]
    peak = max((float(pmf(cdf)[1 : N_BINS + 1].max()) for cdf in shown), default=1.0) * 1.08
    areas, lines, spans, words = [], [], [], []
    if crowd is not None:
        outline = _density_steps(crowd, peak, box)
        areas.append(Line("crowd", _points([(left, bottom), *outline, (right, bottom)])))
        low, median, high = (left + (right - left) * quantile_u(crowd, q) for q in (0.1, 0.5, 0.9))
        spans.append(Span("band", low, high, "the crowd's 80% band"))
        spans.append(Span("median", median, median, "the crowd's median"))
        words.append(_spread(quantity, crowd, "Crowd") + _tails(quantity, crowd))
    else:
        words.append("No crowd forecast yet")
    if mine is not None:
        lines.append(Line("mine", _points(_density_steps(mine, peak, box))))
        words.append(_spread(quantity, mine, "yours"))
    ticks = [Tick(left + (right - left) * u, label) for u, label in quantity.ticks()]
    axis = ("date" if quantity.is_date else "value") + (
        f" ({quantity.unit})" if quantity.unit else ""
    )
    if quantity.scale.log_scale:
        axis += ", log scale"
    return DensityChart(
        width, height, *box, areas, lines, spans, ticks, axis, "; ".join(words) + "."
    )


@dataclass(frozen=True)
class BandPoint:
    """The crowd from `at` on, on the internal scale clipped to [0, 1]; None: nobody stands."""

    at: datetime
    low: float | None
    median: float | None
    high: float | None


def band_point(at: datetime, cdf: Sequence[float] | None) -> BandPoint:
    if cdf is None:
        return BandPoint(at, None, None, None)
    low, median, high = (quantile_u(cdf, q) for q in (0.1, 0.5, 0.9))
    return BandPoint(at, low, median, high)


def band_chart(
    points: Sequence[BandPoint],
    quantity: Quantity,
    *,
    start: datetime,
    end: datetime,
    latest: Sequence[float] | None = None,
    width: int = 640,
    height: int = 240,
) -> LineChart:
    """The crowd's median and 80% band over [start, end]; y in the claim's units."""
    end = max(end, start)
    span = max((end - start).total_seconds(), 1.0)
    box = chart_box(width, height, axes=True, left=96 if quantity.is_date else 56)
    moments = [p.at for p in points]
    lows, medians, highs = (
        step_runs(moments, [getattr(p, name) for p in points], start, end)
        for name in ("low", "median", "high")
    )
    areas = [Line("band", polygon) for polygon in bands(lows, highs, span, box)]
    lines = [Line("crowd", polyline) for polyline in polylines(medians, span, box)]
    fmt = time_format(span)
    if latest is None:
        summary = "No forecasts yet."
    else:
        summary = (
            f"{len(points)} changes from {start.strftime(fmt)} to {end.strftime(fmt)}; "
            f"latest {_spread(quantity, latest, 'crowd')}."
        )
    x_ticks = time_ticks(start, end, box)
    y_ticks = value_ticks(quantity.ticks(), box)
    return LineChart(width, height, *box, lines, x_ticks, y_ticks, summary, areas)


@dataclass(frozen=True)
class OptionBar:
    label: str
    css: str  # the option's colour class
    crowd: float | None
    mine: float | None
    crowd_width: float  # in a viewBox BAR_WIDTH wide
    mine_width: float


def option_css(index: int) -> str:
    return f"option-{index % OPTION_COLOURS}"


def option_bars(
    options: Sequence[str],
    crowd: Sequence[float] | None,
    mine: Sequence[float] | None = None,
) -> list[OptionBar]:
    """A bar per option: the crowd's probability and, beneath it, the viewer's own."""
    bars = []
    for index, label in enumerate(options):
        c = None if crowd is None else float(crowd[index])
        m = None if mine is None else float(mine[index])
        bars.append(
            OptionBar(
                label,
                option_css(index),
                c,
                m,
                round(BAR_WIDTH * (c or 0.0), 1),
                round(BAR_WIDTH * (m or 0.0), 1),
            )
        )
    return bars


def option_history_chart(
    options: Sequence[str],
    moments: Sequence[datetime],
    crowds: Sequence[Sequence[float] | None],
    *,
    start: datetime,
    end: datetime,
    width: int = 640,
    height: int = 240,
) -> LineChart:
    """The crowd's probability of each option over [start, end], a line per option."""
    end = max(end, start)
    span = max((end - start).total_seconds(), 1.0)
    box = chart_box(width, height, axes=True)
    lines = []
    for index in range(len(options)):
        values = [None if crowd is None else float(crowd[index]) for crowd in crowds]
        runs = step_runs(moments, values, start, end)
        lines += [Line(f"option {option_css(index)}", p) for p in polylines(runs, span, box)]
    last = crowds[-1] if crowds else None
    if last is None:
        summary = "No forecasts yet."
    else:
        now = ", ".join(f"{label} {100 * p:.0f}%" for label, p in zip(options, last, strict=True))
        fmt = time_format(span)
        when = f"from {start.strftime(fmt)} to {end.strftime(fmt)}"
        summary = f"{len(crowds)} changes {when}; latest crowd: {now}."
    x_ticks = time_ticks(start, end, box)
    return LineChart(width, height, *box, lines, x_ticks, value_ticks(PERCENT_MARKS, box), summary)
