"""Server-side SVG charts: geometry computed here, drawn by the templates (no script)."""

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
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
class LineChart:
    width: int
    height: int
    left: int
    top: int
    right: int
    bottom: int
    lines: list[Line]
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    summary: str  # the same facts in words, for screen readers and text browsers


def _steps(
    points: Sequence[HistoryPoint], start: datetime, end: datetime, series: str
) -> list[list[tuple[float, float]]]:
    """The series as a step function over [start, end]: runs of (seconds from start, value)."""
    span = max((end - start).total_seconds(), 1.0)
    moments = [(p.at - start).total_seconds() for p in points]
    values = [getattr(p, series) for p in points]
    if len(points) > MAX_STEPS:
        sampled = [span * i / (MAX_STEPS - 1) for i in range(MAX_STEPS)]
        picks = [bisect.bisect_right(moments, t) - 1 for t in sampled]
        moments = sampled
        values = [values[i] if i >= 0 else None for i in picks]
    runs: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for index, (moment, value) in enumerate(zip(moments, values, strict=True)):
        moment = min(max(moment, 0.0), span)
        following = moments[index + 1] if index + 1 < len(moments) else span
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


def _scale(
    runs: list[list[tuple[float, float]]], span: float, box: tuple[int, int, int, int]
) -> list[str]:
    left, top, right, bottom = box
    return [
        " ".join(
            f"{left + (right - left) * t / span:.1f},{bottom - (bottom - top) * v:.1f}"
            for t, v in run
        )
        for run in runs
    ]


def _time_format(span_seconds: float) -> str:
    """Dates for a long span, times of day for a short one, so the ticks differ."""
    if span_seconds >= 4 * 86400:
        return "%-d %b %Y"
    if span_seconds >= 3 * 3600:
        return "%-d %b %H:%M"
    return "%H:%M:%S"


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
    box = (44, 12, width - 12, height - 28) if axes else (1, 2, width - 1, height - 2)
    lines = [
        Line(kind, polyline)
        for kind in ("market", "crowd")
        for polyline in _scale(_steps(points, start, end, kind), span, box)
    ]
    left, top, right, bottom = box
    if said is not None:
        level = bottom - (bottom - top) * said
        lines.append(Line("said", f"{left},{level:.1f} {right},{level:.1f}"))
    marks = (0, 0.25, 0.5, 0.75, 1)
    y_ticks = [Tick(bottom - (bottom - top) * v, f"{round(100 * v)}%") for v in marks]
    x_ticks = []
    if axes:
        for i in range(4):
            moment = start + (end - start) * i / 3
            x_ticks.append(Tick(left + (right - left) * i / 3, moment.strftime(_time_format(span))))
    last = points[-1] if points else None
    if last is None:
        summary = "No forecasts yet."
    else:
        crowd = "none" if last.crowd is None else f"{100 * last.crowd:.0f}%"
        summary = (
            f"{len(points)} changes from {start.strftime(_time_format(span))} to "
            f"{end.strftime(_time_format(span))}; latest crowd "
            f"{crowd}, market {100 * last.market:.0f}%."
        )
    return LineChart(width, height, *box, lines, x_ticks, y_ticks if axes else [], summary)


def sparkline(points: Sequence[HistoryPoint], *, start: datetime, end: datetime) -> LineChart:
    """A small crowd-only line for lists of claims."""
    crowd_only = [HistoryPoint(p.at, p.crowd, p.crowd or 0.5) for p in points]
    chart = history_chart(crowd_only, start=start, end=end, width=120, height=32, axes=False)
    return LineChart(
        chart.width,
        chart.height,
        chart.left,
        chart.top,
        chart.right,
        chart.bottom,
        [line for line in chart.lines if line.kind == "crowd"],
        [],
        [],
        chart.summary,
    )


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
