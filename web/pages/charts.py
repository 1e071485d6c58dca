"""Server-side SVG charts: geometry computed here, drawn by the templates (no script)."""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from forecasts.score_math.aggregates import CalibrationBin
from forecasts.submit.history import HistoryPoint

MAX_STEPS = 300  # a longer history is sampled at this many evenly spaced moments


@dataclass(frozen=True)
class Tick:
    at: float  # position along its axis, in chart units
    label: str


@dataclass(frozen=True)
class Line:
    kind: str  # css class: crowd or market
    points: str  # "x,y x,y ..." for <polyline>


@dataclass(frozen=True)
class Frame:
    """A chart's size and its plot box inside it, in SVG units."""

    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int


@dataclass(frozen=True)
class LineChart(Frame):
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str  # the same facts in words, for screen readers and text browsers
    areas: list[Line] = field(default_factory=list)  # filled <polygon>s under the lines


Runs = list[list[tuple[float, float]]]
Box = tuple[int, int, int, int]  # left, top, right, bottom


def step_runs(
    moments: Sequence[datetime], values: Sequence[float | None], start: datetime, end: datetime
) -> Runs:
    """A series as a step function over [start, end]: runs of (seconds from start, value),
    broken where the value is None."""
    span = max((end - start).total_seconds(), 1.0)
    seconds = [(at - start).total_seconds() for at in moments]
    held = list(values)
    if len(seconds) > MAX_STEPS:
        sampled = [span * i / (MAX_STEPS - 1) for i in range(MAX_STEPS)]
        picks = [bisect.bisect_right(seconds, t) - 1 for t in sampled]
        seconds = sampled
        held = [held[i] if i >= 0 else None for i in picks]
    runs: Runs = []
    current: list[tuple[float, float]] = []
    for index, (moment, value) in enumerate(zip(seconds, held, strict=True)):
        moment = min(max(moment, 0.0), span)
        following = seconds[index + 1] if index + 1 < len(seconds) else span
        following = min(max(following, 0.0), span)
        if value is None:
            if current:
                runs.append(current)
            current = []
            continue
        current += [(moment, value), (following, value)]
    if current:
        runs.append(current)
    return runs


def _xy(t: float, v: float, span: float, box: Box) -> str:
    left, top, right, bottom = box
    return f"{left + (right - left) * t / span:.1f},{bottom - (bottom - top) * v:.1f}"


def polylines(runs: Runs, span: float, box: Box) -> list[str]:
    """Runs of (seconds, value in [0, 1]) as `points` of polylines inside the box."""
    return [" ".join(_xy(t, v, span, box) for t, v in run) for run in runs]


def bands(lows: Runs, highs: Runs, span: float, box: Box) -> list[str]:
    """The region between two series broken at the same moments, as polygon `points`."""
    return [
        " ".join(_xy(t, v, span, box) for t, v in [*low, *reversed(high)])
        for low, high in zip(lows, highs, strict=True)
    ]


def time_format(span_seconds: float) -> str:
    """Dates for a long span, times of day for a short one, so the ticks differ."""
    if span_seconds >= 4 * 86400:
        return "%-d %b %Y"
    if span_seconds >= 3 * 3600:
        return "%-d %b %H:%M"
    return "%H:%M:%S"


def chart_box(width: int, height: int, *, axes: bool, left: int = 44) -> Box:
    return (left, 12, width - 12, height - 28) if axes else (1, 2, width - 1, height - 2)


def time_ticks(start: datetime, end: datetime, box: Box) -> list[Tick]:
    left, _top, right, _bottom = box
    span = max((end - start).total_seconds(), 1.0)
    return [
        Tick(
            left + (right - left) * i / 3,
            (start + (end - start) * i / 3).strftime(time_format(span)),
        )
        for i in range(4)
    ]


def value_ticks(marks: Sequence[tuple[float, str]], box: Box) -> list[Tick]:
    """Ticks up the y axis at values in [0, 1] (probabilities, or a claim's internal scale)."""
    _left, top, _right, bottom = box
    return [Tick(bottom - (bottom - top) * v, label) for v, label in marks if 0 <= v <= 1]


PERCENT_MARKS = [(v, f"{round(100 * v)}%") for v in (0, 0.25, 0.5, 0.75, 1)]


def history_chart(
    points: Sequence[HistoryPoint],
    *,
    start: datetime,
    end: datetime,
    width: int = 640,
    height: int = 240,
    axes: bool = True,
    said: float | None = None,
) -> LineChart:
    """Crowd and market probability over [start, end] as step lines; with `said`, a level
    line at that probability of yes (what a claimant said, on the claimant's page)."""
    end = max(end, start)
    span = max((end - start).total_seconds(), 1.0)
    box = chart_box(width, height, axes=axes)
    moments = [p.at for p in points]
    lines = [
        Line(kind, polyline)
        for kind in ("market", "crowd")
        for polyline in polylines(
            step_runs(moments, [getattr(p, kind) for p in points], start, end), span, box
        )
    ]
    left, top, right, bottom = box
    if said is not None:
        level = bottom - (bottom - top) * said
        lines.append(Line("said", f"{left},{level:.1f} {right},{level:.1f}"))
    last = points[-1] if points else None
    if last is None:
        summary = "No forecasts yet."
    else:
        crowd = "none" if last.crowd is None else f"{100 * last.crowd:.0f}%"
        summary = (
            f"{len(points)} changes from {start.strftime(time_format(span))} to "
            f"{end.strftime(time_format(span))}; latest crowd "
            f"{crowd}, market {100 * last.market:.0f}%."
        )
    x_ticks = time_ticks(start, end, box) if axes else []
    y_ticks = value_ticks(PERCENT_MARKS, box) if axes else []
    return LineChart(width, height, *box, lines, x_ticks, y_ticks, summary)


def sparkline(points: Sequence[HistoryPoint], *, start: datetime, end: datetime) -> LineChart:
    """A small crowd-only line for lists of claims."""
    crowd_only = [HistoryPoint(p.at, p.crowd, p.crowd or 0.5) for p in points]
    chart = history_chart(crowd_only, start=start, end=end, width=120, height=32, axes=False)
    return replace(chart, lines=[line for line in chart.lines if line.kind == "crowd"])


@dataclass(frozen=True)
class CalibrationDot:
    x: float
    y: float
    r: float
    count: int
    label: str


@dataclass(frozen=True)
class CalibrationPlot:
    size: int
    left: int
    top: int
    right: int
    bottom: int
    dots: list[CalibrationDot]
    x_ticks: list[Tick]
    y_ticks: list[Tick]


def calibration_plot(bins: Sequence[CalibrationBin], *, size: int = 320) -> CalibrationPlot:
    """Mean forecast against observed frequency per bin; dot area grows with the count."""
    left, top, right, bottom = 48, 12, size - 20, size - 36
    most = max((cell.count for cell in bins), default=0) or 1
    dots = []
    for cell in bins:
        if cell.count == 0 or cell.mean_forecast is None or cell.observed_frequency is None:
            continue
        dots.append(
            CalibrationDot(
                x=left + (right - left) * cell.mean_forecast,
                y=bottom - (bottom - top) * cell.observed_frequency,
                r=3 + 9 * (cell.count / most) ** 0.5,
                count=cell.count,
                label=f"{100 * cell.mean_forecast:.0f}% forecast, "
                f"{100 * cell.observed_frequency:.0f}% happened ({cell.count})",
            )
        )
    marks = (0, 0.25, 0.5, 0.75, 1)
    x_ticks = [Tick(left + (right - left) * v, f"{round(100 * v)}%") for v in marks]
    y_ticks = [Tick(bottom - (bottom - top) * v, f"{round(100 * v)}%") for v in marks]
    return CalibrationPlot(size, left, top, right, bottom, dots, x_ticks, y_ticks)
