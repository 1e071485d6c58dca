"""The SVG geometry: step lines inside the plot box, gaps while nobody stands, sampling."""

from datetime import UTC, datetime, timedelta

from forecasts.score_math.aggregates import calibration_bins
from forecasts.submit.history import HistoryPoint
from web.pages.charts import MAX_STEPS, calibration_plot, history_chart, sparkline

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=10)


def _points(line: str) -> list[tuple[float, float]]:
    return [tuple(map(float, pair.split(","))) for pair in line.split()]  # type: ignore[misc]


def test_steps_hold_each_value_until_the_next_and_stay_in_the_box() -> None:
    history = [
        HistoryPoint(START + timedelta(days=1), 0.2, 0.2),
        HistoryPoint(START + timedelta(days=6), 0.8, 0.9),
    ]
    chart = history_chart(history, start=START, end=END)
    crowd = [line for line in chart.lines if line.kind == "crowd"]
    assert len(crowd) == 1
    points = _points(crowd[0].points)
    assert len(points) == 4 and points[0][1] == points[1][1] and points[2][1] == points[3][1]
    assert points[1][0] == points[2][0]  # the step is vertical, at the second forecast
    assert points[-1][0] == chart.right  # the last value holds to the end
    for x, y in points:
        assert chart.left <= x <= chart.right and chart.top <= y <= chart.bottom
    assert chart.x_ticks[0].label == "1 Mar 2026"
    assert "latest crowd 80%, market 90%" in chart.summary


def test_withdrawn_crowd_breaks_the_line_and_long_histories_are_sampled() -> None:
    gap = [
        HistoryPoint(START + timedelta(days=1), 0.3, 0.3),
        HistoryPoint(START + timedelta(days=2), None, 0.3),
        HistoryPoint(START + timedelta(days=3), 0.6, 0.6),
    ]
    chart = history_chart(gap, start=START, end=END)
    crowd = [line for line in chart.lines if line.kind == "crowd"]
    assert len(crowd) == 2
    many = [HistoryPoint(START + timedelta(minutes=i), 0.5, 0.5) for i in range(5000)]
    spark = sparkline(many, start=START, end=END)
    assert len(_points(spark.lines[0].points)) <= 2 * MAX_STEPS
    assert sparkline([], start=START, end=END).lines == []


def test_calibration_dots_grow_with_their_count() -> None:
    plot = calibration_plot(calibration_bins([(0.15, 0), (0.12, 0), (0.85, 1)]))
    small, large = sorted(plot.dots, key=lambda dot: dot.count)
    assert (small.count, large.count) == (1, 2) and small.r < large.r
    assert small.x > large.x  # the 85% bin is further right
