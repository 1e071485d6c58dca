"""/docs in Chromium with every non-loopback request cut off: Swagger UI from the app itself,
showing the API's operations, with no Content-Security-Policy violation."""

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from tests.browser.conftest import Site, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_the_api_docs_render_offline_under_the_csp(page: Page, site: Site) -> None:
    blocked: list[str] = []
    problems: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def watch(message: ConsoleMessage) -> None:
        if message.type == "error" or "Content Security Policy" in message.text:
            problems.append(message.text)

    page.route("**/*", loopback_only)
    page.on("console", watch)
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.goto(site.at("/docs"))
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Forecast Ledger")
    submit = page.locator(".opblock-post .opblock-summary-path", has_text="/forecasts").first
    expect(submit).to_have_attribute("data-path", "/api/v1/claims/{slug}/forecasts")
    expect(page.locator(".opblock")).not_to_have_count(0)
    assert page.locator(".opblock").count() >= 20  # every operation, not a few
    page.locator(".opblock-summary", has_text="/api/v1/leaderboard").first.click()
    expect(page.get_by_role("button", name="Try it out").first).to_be_visible()
    screenshot(page, "docs-offline")
    assert blocked == [] and problems == []
