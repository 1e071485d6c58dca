"""The site in Chromium: sign up and forecast, an editor's claim and its rules, hostile text,
pages without script, and screenshots at 1280 and 390 pixels."""

import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import LONE_SLUG, Site, screenshot, sign_in, sign_up
from tests.claims.evidence_server import EvidenceServer
from tests.web.pages.conftest import RESOLVED_SLUG
from web.demo.kind_claims import CHART_SLUG, REVENUE_SLUG, VIDEO_SLUG

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HOSTILE = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def test_sign_up_forecast_and_see_the_crowd_move(page: Page, site: Site) -> None:
    sign_up(page, site, "browser-sam")
    expect(page.locator(".flash")).to_contain_text("Welcome, browser-sam")
    page.goto(site.at(f"/claims/{LONE_SLUG}"))
    crowd = page.locator(".numbers > div").first
    expect(crowd).to_contain_text("—")  # nobody has forecast yet
    page.get_by_label("Probability that this resolves yes (%)").fill("37")
    page.get_by_role("button", name="Submit forecast").click()
    expect(page.locator(".flash")).to_contain_text("Your forecast of 37% is recorded")
    expect(crowd).to_contain_text("37%")
    page.get_by_label("Probability that this resolves yes (%)").fill("62.5")
    page.get_by_role("button", name="Update forecast").click()
    expect(crowd).to_contain_text("62%")
    expect(page.locator("strong.mine")).to_have_text("62.5%")
    expect(page.locator("svg.history polyline.crowd")).to_have_count(1)
    page.get_by_role("button", name="Withdraw my forecast").click()
    expect(page.locator(".flash")).to_contain_text("withdrawn")
    expect(crowd).to_contain_text("—")


def _rules(server: EvidenceServer) -> str:
    rule = {
        "url": server.url("/appstore/v2.json"),
        "format": "json",
        "expression": "length(feed.results) > `3`",
        "yes_early": True,
    }
    return json.dumps([rule], indent=2)


def test_editor_creates_a_claim_and_tests_its_rules(
    page: Page, site: Site, server: EvidenceServer
) -> None:
    sign_in(page, site, "maria")
    page.goto(site.at("/desk"))
    page.get_by_role("link", name="New claim").click()
    page.get_by_label("Slug").fill("browser-sora-in-top-free")
    page.get_by_label("Title").fill("More than three apps are on the top-free chart")
    page.get_by_label("Resolution criteria").fill("Yes if the chart lists more than three apps.")
    page.get_by_label("Tags").fill("app-store browser")
    closes = datetime.now(UTC) + timedelta(days=40)
    page.get_by_label("Closes (UTC)").fill(closes.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_label("Rules").fill(_rules(server))
    page.get_by_role("button", name="Test the rules now").click()
    result = page.locator("#check")
    expect(result.locator("h2")).to_contain_text(": yes")
    expect(result.locator("td.says")).to_have_text(["yes"])
    assert server.hits == ["/appstore/v2.json"]
    # the form kept what was typed; now save it
    expect(page.get_by_label("Slug")).to_have_value("browser-sora-in-top-free")
    page.get_by_role("button", name="Create claim").click()
    expect(page).to_have_url(site.at("/claims/browser-sora-in-top-free"))
    expect(page.locator("h1")).to_have_text("More than three apps are on the top-free chart")
    expect(page.locator("td.url")).to_contain_text(server.url("/appstore/v2.json"))
    page.goto(site.at("/?tag=browser"))
    expect(page.locator(".claim-card")).to_have_count(1)


def _claim_form(page: Page, slug: str, text: str, claimant: str | None = None) -> None:
    page.get_by_label("Slug").fill(slug)
    for label in ("Title", "Resolution criteria", "Background", "Fine print", "Quote"):
        page.get_by_label(label, exact=True).fill(text)
    if claimant is not None:  # a claimant's slug (SPEC §8): its name carries the text
        page.get_by_label("Claimant", exact=True).fill(claimant)
        page.get_by_label("Stance").select_option("asserts")
    opens = datetime.now(UTC) - timedelta(hours=1)
    page.get_by_label("Opens (UTC; empty: on publishing)").fill(opens.strftime("%Y-%m-%dT%H:%M:%S"))
    closes = datetime.now(UTC) + timedelta(days=10)
    page.get_by_label("Closes (UTC)").fill(closes.strftime("%Y-%m-%dT%H:%M:%S"))
    rule = {
        "url": "https://example.org/feed.json",
        "format": "json",
        "expression": f"'{text}' == 'x'",
    }
    page.get_by_label("Rules").fill(json.dumps([rule]))


def _assert_inert(page: Page, text: str, dialogs: list[str]) -> None:
    assert dialogs == []
    assert page.locator("img").count() == 0
    assert text in page.locator("main").inner_text()
    html = page.content()
    assert "<script>alert" not in html and "<img src" not in html


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_in_every_field_renders_inert(
    page: Page, site: Site, dialogs: list[str], text: str
) -> None:
    slug = f"hostile-{HOSTILE.index(text)}"
    # a handle cannot hold it: the form says so and shows the text back, escaped
    page.goto(site.at("/signup"))
    page.get_by_label("Handle").fill(text)
    page.get_by_label("Password").fill("a password long enough")
    page.get_by_label("Handle").evaluate("e => e.removeAttribute('pattern')")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".error")).to_contain_text("lower-case letters")
    expect(page.get_by_label("Handle")).to_have_value(text)
    assert dialogs == [] and page.locator("img").count() == 0

    page.goto(site.at("/signin?next=" + quote(text)))
    page.get_by_label("Handle").fill(text)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_label("Handle")).to_have_value(text)
    for path in ("/?tag=", "/leaderboard?metric=", "/forecasters/", "/claims/"):
        page.goto(site.at(path + quote(text)))
    assert dialogs == [] and page.locator("img").count() == 0

    sign_in(page, site, "maria")
    page.goto(site.at("/desk/claimants"))
    page.get_by_label("Slug (fixed once added)").fill(slug)
    page.get_by_label("Name", exact=True).fill(text)
    page.get_by_label("Description").fill(text)
    page.get_by_role("button", name="Add claimant").click()
    expect(page).to_have_url(site.at(f"/claimants/{slug}"))
    _assert_inert(page, text, dialogs)
    page.goto(site.at("/desk/claims/new"))
    _claim_form(page, text, text, slug)  # a slug cannot hold it either
    page.get_by_role("button", name="Create claim").click()
    expect(page.locator(".error")).to_contain_text("Slug: use lower-case letters")
    expect(page.get_by_label("Slug")).to_have_value(text)
    _claim_form(page, slug, text, slug)
    page.get_by_label("Tags").fill(text)  # refused: tags are slugs
    page.get_by_role("button", name="Create claim").click()
    expect(page.locator(".error")).to_contain_text("Tags #1: use lower-case letters")
    expect(page.get_by_label("Title")).to_have_value(text)
    page.get_by_label("Tags").fill("hostile")
    page.get_by_role("button", name="Create claim").click()
    expect(page.locator(".error")).to_have_count(0)
    expect(page).to_have_url(site.at(f"/claims/{slug}"))
    _assert_inert(page, text, dialogs)

    page.get_by_label("Probability that this resolves yes (%)").fill("20")
    page.get_by_label("Rationale").fill(text)
    page.get_by_role("button", name="Submit forecast").click()
    expect(page.locator(".flash")).to_contain_text("recorded")
    _assert_inert(page, text, dialogs)

    page.goto(site.at("/account"))
    page.get_by_label("Label for a new token").fill(text)
    page.get_by_role("button", name="Create token").click()
    _assert_inert(page, text, dialogs)

    page.goto(site.at(f"/desk/claims/{slug}"))
    page.get_by_label("no", exact=True).check()
    page.get_by_label("Note (public, in the ledger)").fill(text)
    settled = datetime.now(UTC) - timedelta(seconds=1)
    page.get_by_label("Settled early at").fill(settled.strftime("%Y-%m-%dT%H:%M:%S"))
    page.get_by_role("button", name="Settle").click()
    expect(page).to_have_url(site.at(f"/claims/{slug}"))
    expect(page.locator(".timeline")).to_contain_text(text)
    expect(page.locator("table").last).to_contain_text(text)  # the revealed rationale
    _assert_inert(page, text, dialogs)

    pages = ("/", "/?tag=hostile", "/desk", "/ledger", "/leaderboard", "/forecasters/maria")
    for path in (*pages, "/claimants", f"/claimants/{slug}", "/desk/claimants"):
        page.goto(site.at(path))
        assert dialogs == [] and page.locator("img").count() == 0, path


def test_pages_read_without_javascript(site: Site, browser: object) -> None:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site.at(f"/claims/{RESOLVED_SLUG}"))
        expect(page.locator(".numbers")).to_contain_text("crowd")
        expect(page.locator("svg.history polyline.crowd")).to_have_count(1)
        expect(page.get_by_role("heading", name="All forecasts")).to_be_visible()
    finally:
        context.close()


# form fields a person fills in that no <label> names
UNLABELLED = """[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
    .filter(field => field.labels.length === 0).map(field => field.name)"""
PAGES = {
    "claims": "/",
    "claim": f"/claims/{RESOLVED_SLUG}",
    "open-claim": "/claims/standalone-video-out-of-top-five-2026",
    "leaderboard": "/leaderboard",
    "forecaster": "/forecasters/ana",
    "ledger": "/ledger",
    "desk": "/desk",
    "account": "/account",
    "new-claim": "/desk/claims/new",
    "claim-form": "/desk/claims/standalone-video-out-of-top-five-2026",
    "choice-claim": f"/claims/{CHART_SLUG}",
    "date-claim": f"/claims/{VIDEO_SLUG}",
    "numeric-claim": f"/claims/{REVENUE_SLUG}",
    "choice-claim-form": f"/desk/claims/{CHART_SLUG}",
}


@pytest.mark.parametrize("width", [1280, 390])
def test_screenshots_and_no_sideways_scrolling(page: Page, site: Site, width: int) -> None:
    sign_in(page, site, "maria")
    page.set_viewport_size({"width": width, "height": 900})
    for name, path in PAGES.items():
        page.goto(site.at(path))
        expect(page.locator("h1")).to_be_visible()
        screenshot(page, f"{name}-{width}")
        unlabelled = page.evaluate(UNLABELLED)
        assert unlabelled == [], f"{path}: fields without a label: {unlabelled}"
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= width, f"{path} is {overflow}px wide at {width}px"
        assert not re.search(r"Internal Server Error|Traceback", page.content())
