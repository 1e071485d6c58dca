"""Claims of each kind in Chromium: a multiple-choice and a quantile forecast typed on the
page, and the plots they draw (server-rendered SVG, no script)."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot, sign_up
from web.demo.kind_claims import CHART_OPTIONS, CHART_SLUG, REVENUE_SLUG, VIDEO_SLUG

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_percentage_per_option_draws_your_bars(page: Page, site: Site) -> None:
    sign_up(page, site, "browser-chooser")
    page.goto(site.at(f"/claims/{CHART_SLUG}"))
    bars = page.locator("table.options svg.bar")
    expect(bars).to_have_count(len(CHART_OPTIONS))
    expect(page.locator("svg.bar rect.mine")).to_have_count(0)
    for label, share in zip(CHART_OPTIONS, ("40", "20", "10", "20", "5"), strict=True):
        page.get_by_label(label, exact=True).fill(share)
    page.get_by_role("button", name="Submit forecast").click()
    expect(page.locator(".error")).to_contain_text("add up to 95%")
    expect(page.get_by_label("CapCut", exact=True)).to_have_value("40")  # kept as typed
    page.get_by_label("Another app", exact=True).fill("10")
    page.get_by_role("button", name="Submit forecast").click()
    expect(page.locator(".flash")).to_contain_text("Your forecast is recorded")
    expect(page.locator("svg.bar rect.mine")).to_have_count(len(CHART_OPTIONS))
    expect(page.locator("svg.bar rect.mine").first).to_have_attribute("width", "80.0")
    expect(page.locator("svg.history polyline.option")).to_have_count(len(CHART_OPTIONS))
    expect(page.locator("strong.mine")).to_contain_text("CapCut 40.0%")
    screenshot(page, "choice-claim-1280")


def test_quantiles_typed_as_dates_draw_your_density(page: Page, site: Site) -> None:
    sign_up(page, site, "browser-dater")
    page.goto(site.at(f"/claims/{VIDEO_SLUG}"))
    density = page.locator("svg.density")
    expect(density.locator("polygon.crowd")).to_have_count(1)  # the demo crowd
    expect(density.locator("polyline.mine")).to_have_count(0)
    page.get_by_label("Row 1: chance (%)").fill("10")
    page.get_by_label("Row 1: date").fill("2026-09-01")
    page.get_by_label("Row 3: chance (%)").fill("50")
    page.get_by_label("Row 3: date").fill("2027-02-01")
    page.get_by_label("Row 5: chance (%)").fill("90")
    page.get_by_label("Row 5: date").fill("2027-01-01")  # before the median: refused
    page.get_by_role("button", name="Submit forecast").click()
    expect(page.locator(".error")).to_contain_text("strictly increasing")
    expect(page.get_by_label("Row 3: date")).to_have_value("2027-02-01")
    page.get_by_label("Row 5: date").fill("2028-01-01")
    page.get_by_role("button", name="Submit forecast").click()
    expect(page.locator(".flash")).to_contain_text("Your forecast is recorded")
    expect(density.locator("polyline.mine")).to_have_count(1)
    expect(density.locator("line.median")).to_have_count(1)
    expect(page.locator("svg.history polygon.band")).to_have_count(1)
    expect(page.locator("svg.history polyline.crowd")).to_have_count(1)
    expect(page.locator("strong.mine")).to_contain_text(
        "median 3 Feb 2027"
    )  # §7 mixes in 2% of a uniform
    screenshot(page, "date-claim-1280")


def test_a_resolved_numeric_claim_shows_its_outcome_and_everyone(page: Page, site: Site) -> None:
    page.goto(site.at(f"/claims/{REVENUE_SLUG}"))
    expect(page.locator(".kind-facts")).to_contain_text("2.1M USD")
    ticks = page.locator("svg.density text.tick")
    expect(ticks.first).to_have_text("100k")  # a log axis: decades
    expect(page.get_by_role("heading", name="All forecasts")).to_be_visible()
