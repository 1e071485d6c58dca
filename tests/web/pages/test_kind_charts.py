"""The SVG of claims that are numbers, dates or choices, rendered and parsed: shapes and values."""

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from lxml import etree

from forecasts.score_math.distributions import Scale, cdf_from_quantiles
from web.pages.kind_charts import (
    BAR_WIDTH,
    band_chart,
    band_point,
    density_chart,
    option_bars,
    option_history_chart,
)
from web.pages.quantities import Quantity, parse_date, parse_number
from web.pages.rendering import ENV

START = datetime(2026, 3, 1, tzinfo=UTC)
END = START + timedelta(days=30)
REVENUE = Quantity(Scale(0, 10e6), unit="USD")
SVG = "{http://www.w3.org/2000/svg}"


def _svgs(macro: str, *args: Any) -> list[etree._Element]:
    """The macro's output, each <svg> parsed as XML (well-formed, or this fails)."""
    template = ENV.from_string('{% import "_macros.html" as m %}{{ m.' + macro + "(*args) }}")
    html = template.render(args=args)
    found = re.findall(r"<svg .*?</svg>", html, flags=re.S)
    assert found, html
    return [
        etree.fromstring(svg.replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))
        for svg in found
    ]


def _xy(points: str) -> list[tuple[float, float]]:
    return [(float(x), float(y)) for x, y in (pair.split(",") for pair in points.split())]


def _ticks(svg: etree._Element) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == "tick"]


def test_density_peaks_where_the_crowd_puts_its_mass_and_marks_its_median() -> None:
    crowd = cdf_from_quantiles(REVENUE.scale, [(0.1, 1e6), (0.5, 2e6), (0.9, 3e6)])
    mine = cdf_from_quantiles(REVENUE.scale, [(0.25, 6e6), (0.75, 8e6)])
    chart = density_chart(REVENUE, crowd, mine)
    (svg,) = _svgs("density_chart", chart, "Density")
    (area,) = [p for p in svg.iter(f"{SVG}polygon") if p.get("class") == "crowd"]
    (own,) = [p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "mine"]
    width = chart.right - chart.left

    def peak_x(points: str) -> float:
        top = min(y for _x, y in _xy(points))
        plateau = [x for x, y in _xy(points) if y == top]
        return (plateau[0] + plateau[-1]) / 2

    # the crowd's mass lies between 1M and 3M, the viewer's own between 6M and 8M
    assert chart.left + 0.1 * width <= peak_x(area.get("points")) <= chart.left + 0.3 * width
    assert chart.left + 0.6 * width <= peak_x(own.get("points")) <= chart.left + 0.8 * width
    for x, y in _xy(area.get("points")) + _xy(own.get("points")):
        assert chart.left <= x <= chart.right and chart.top <= y <= chart.bottom
    (median,) = [e for e in svg.iter(f"{SVG}line") if e.get("class") == "median"]
    # u(2M) = 0.2; the stored CDF mixes in 2% of a uniform (SPEC §7), so nearly
    assert float(median.get("x1")) == pytest.approx(chart.left + 0.2 * width, abs=1)
    (band,) = [e for e in svg.iter(f"{SVG}rect") if e.get("class") == "band"]
    assert float(band.get("x")) == pytest.approx(chart.left + 0.1 * width, abs=2)
    assert float(band.get("width")) == pytest.approx(0.2 * width, abs=4)
    assert _ticks(svg) == ["0", "2M", "4M", "6M", "8M", "10M"]
    assert "Crowd median 2.02M USD, 80% between 998k USD and 3.03M USD" in chart.summary
    assert "0.1% below 0 USD; 0.1% above 10M USD" in chart.summary  # the open tails
    assert "yours median 6.98M USD" in chart.summary
    assert density_chart(REVENUE, crowd).lines == []  # nobody's own but the viewer's


def test_log_scale_puts_decades_evenly_and_dates_read_as_dates() -> None:
    costs = Quantity(Scale(1e3, 1e7, log_scale=True), unit="USD")
    chart = density_chart(costs, None)
    assert [t.label for t in chart.x_ticks] == ["1k", "10k", "100k", "1M", "10M"]
    gaps = {round(b.at - a.at, 6) for a, b in zip(chart.x_ticks, chart.x_ticks[1:], strict=False)}
    assert len(gaps) == 1 and "log scale" in chart.axis and chart.areas == []
    launch = Quantity(Scale(parse_date("2026-01-01"), parse_date("2028-01-01")), is_date=True)
    pairs = [(0.2, parse_date("2026-07-01")), (0.8, parse_date("2027-01-01"))]
    dated = density_chart(launch, cdf_from_quantiles(launch.scale, pairs))
    assert dated.x_ticks[0].label == "1 Jan 2026" and dated.x_ticks[-1].label == "1 Jan 2028"
    assert "Crowd median" in dated.summary and "2026" in dated.summary.split("median ")[1]


def test_band_over_time_holds_each_crowd_until_the_next() -> None:
    first = cdf_from_quantiles(REVENUE.scale, [(0.1, 1e6), (0.9, 3e6)])
    second = cdf_from_quantiles(REVENUE.scale, [(0.1, 4e6), (0.9, 8e6)])
    points = [
        band_point(START + timedelta(days=1), first),
        band_point(START + timedelta(days=10), second),
    ]
    chart = band_chart(points, REVENUE, start=START, end=END, latest=second)
    (svg,) = _svgs("line_chart", chart, "Median and 80% band")
    (band,) = [p for p in svg.iter(f"{SVG}polygon") if p.get("class") == "band"]
    (median,) = [p for p in svg.iter(f"{SVG}polyline") if p.get("class") == "crowd"]
    height = chart.bottom - chart.top
    ys = sorted({y for _x, y in _xy(median.get("points"))})
    assert ys == pytest.approx([chart.bottom - height * 0.6, chart.bottom - height * 0.2], abs=1)
    highest = min(y for _x, y in _xy(band.get("points")))
    assert highest == pytest.approx(chart.bottom - height * 0.8, abs=1)
    assert "10M" in _ticks(svg) and "latest crowd median 5.99M USD" in chart.summary
    nobody = band_chart([band_point(START, None)], REVENUE, start=START, end=END)
    assert nobody.lines == [] and nobody.areas == []


def test_a_bar_per_option_and_a_line_per_option_over_time() -> None:
    options = ["Sora", "Kling AI", "Another product"]
    bars = option_bars(options, [0.5, 0.3, 0.2], [0.1, 0.6, 0.3])
    svgs = _svgs("option_bars", bars, BAR_WIDTH)
    assert len(svgs) == 3
    for svg, crowd, mine in zip(svgs, (0.5, 0.3, 0.2), (0.1, 0.6, 0.3), strict=True):
        rects = {r.get("class"): float(r.get("width")) for r in svg.iter(f"{SVG}rect")}
        assert rects == {"track": BAR_WIDTH, "crowd": BAR_WIDTH * crowd, "mine": BAR_WIDTH * mine}
    alone = _svgs("option_bars", option_bars(options, [0.5, 0.3, 0.2]), BAR_WIDTH)
    assert all("mine" not in {r.get("class") for r in svg.iter(f"{SVG}rect")} for svg in alone)
    moments = [START + timedelta(days=2), START + timedelta(days=5)]
    chart = option_history_chart(
        options, moments, [[0.6, 0.2, 0.2], [0.3, 0.5, 0.2]], start=START, end=END
    )
    (svg,) = _svgs("line_chart", chart, "Options over time")
    classes = [p.get("class") for p in svg.iter(f"{SVG}polyline")]
    assert classes == ["option option-0", "option option-1", "option option-2"]
    assert "latest crowd: Sora 30%, Kling AI 50%, Another product 20%" in chart.summary


def test_typed_numbers_and_dates() -> None:
    assert parse_number("2,100,000") == parse_number("2.1M") == parse_number("2.1e6") == 2.1e6
    assert parse_date("2027-06-30") == datetime(2027, 6, 30, tzinfo=UTC).timestamp()
    assert REVENUE.text(2.1e6) == "2.1M USD" and REVENUE.field(2.1e6) == "2100000"
