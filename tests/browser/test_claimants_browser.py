"""In Chromium: the claimants' table, a claimant's record, and on to a claim's evidence."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_reader_follows_a_claimant_to_a_claims_evidence(page: Page, site: Site) -> None:
    page.goto(site.at("/"))
    page.get_by_role("link", name="Claimants", exact=True).click()
    expect(page.get_by_role("heading", name="Claimants", level=1)).to_be_visible()
    essay = page.get_by_role("link", name="Seed essay: 'Video is a feature, not a product'")
    row = page.locator("tr", has=essay)
    expect(row).to_contain_text("publication")
    expect(row).to_contain_text("100%")  # the Sora claims and Gemini Omni, all its way
    screenshot(page, "claimants")
    essay.click()
    screenshot(page, "claimant")
    expect(page.locator("#claims-resolved")).to_have_text("5")
    expect(page.locator("#hit-rate")).to_have_text("100.0%")
    expect(page.locator("svg polyline.said")).not_to_have_count(0)  # what it said, as a level
    page.get_by_role("link", name="OpenAI shuts the Sora app down before May 2026").click()
    expect(page.get_by_role("heading", name="Resolution timeline")).to_be_visible()
    expect(page.locator("ol.timeline")).to_contain_text(
        "The seed essay: Sora shut down on 26 April 2026."
    )
    expect(page.locator("a.claimant")).to_have_text(
        "Seed essay: 'Video is a feature, not a product'"
    )
    expect(
        page.get_by_role("link", name="https://example.org/essays/video-is-a-feature")
    ).to_be_visible()
