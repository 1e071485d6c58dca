"""What a new visitor meets on the demo: outcomes in words wherever a claim's outcome is shown,
and no request of a page that fails (the browser's icon)."""

import re

from fastapi.testclient import TestClient
from lxml import html

from claims.lifecycle import get_claim
from forecasts.resolution.settle import settle_claim
from tests.factories import FakeClock
from tests.web.pages.conftest import csrf_of, sign_in
from web.db import Database
from web.demo.kind_claims import PRICE_SLUG, REVENUE_SLUG, VIDEO_SLUG

REVENUE_WORDS = "2.1M USD"  # the demo's outcome, 2,100,000 (USD), as the claim page says it


def _text(page: str) -> str:
    return " ".join(html.fromstring(page).text_content().split())


def test_the_claims_list_says_a_numeric_outcome_in_words(site: TestClient) -> None:
    text = _text(site.get("/").text)
    assert f"resolved: {REVENUE_WORDS}" in text
    assert "2100000" not in text


def test_a_forecasters_scores_name_a_numeric_outcome_and_its_crps(site: TestClient) -> None:
    page = site.get("/forecasters/ana")
    assert page.status_code == 200
    row = html.fromstring(page.text).xpath(f"//tr[td/a[@href='/claims/{REVENUE_SLUG}']]")[0]
    cells = [" ".join(td.text_content().split()) for td in row.xpath("td")]
    assert cells[1] == REVENUE_WORDS  # was "no": the row's outcome read as a binary 0/1
    crps = site.get(f"/api/v1/claims/{REVENUE_SLUG}/scores").json()["items"]
    (ana,) = [s for s in crps if s["handle"] == "ana"]
    assert cells[3] == f"{ana['crps']:.3f}"  # was "—": numeric claims have no Brier


def test_the_timeline_says_the_recorded_outcome_in_words(
    site: TestClient, db: Database, demo_clock: FakeClock
) -> None:
    text = _text(site.get(f"/claims/{REVENUE_SLUG}").text)
    assert re.search(rf"Resolution Finalised: {re.escape(REVENUE_WORDS)}", text, re.I), text
    assert "2100000" not in text
    with db.writing() as session:  # a date claim settled early: its day, not an ISO time
        claim = get_claim(session, VIDEO_SLUG)
        demo_clock.advance(seconds=1)
        settle_claim(
            session, claim, "2027-03-01T00:00:00Z", now=demo_clock.now, closed_at=demo_clock.now
        )
    claim_page = _text(site.get(f"/claims/{VIDEO_SLUG}").text)
    assert "resolution finalised: 1 Mar 2027" in claim_page
    assert "2027-03-01T00:00:00" not in claim_page
    assert "resolved: 1 Mar 2027" in _text(site.get("/").text)


def test_every_page_names_an_icon_that_is_served(site: TestClient) -> None:
    # without one, every browser asks for /favicon.ico and gets a 404 on its first visit
    for path in ("/", "/leaderboard", "/signup", f"/claims/{REVENUE_SLUG}"):
        icons = html.fromstring(site.get(path).text).xpath("//link[@rel='icon']/@href")
        assert len(icons) == 1, path
        icon = site.get(icons[0])
        assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/")


def test_the_home_page_tells_a_visitor_what_the_site_is(site: TestClient) -> None:
    lead = html.fromstring(site.get("/").text).xpath("//p[@class='lead']")
    assert len(lead) == 1
    assert {"/signup", "/leaderboard", "/claimants"} <= set(lead[0].xpath(".//a/@href"))
    assert "hidden until their claim closes" in lead[0].text_content()
    sign_in(site, "maria")
    assert 'class="lead"' not in site.get("/").text  # signed in: straight to the claims


def _forecast(site: TestClient, slug: str, data: dict[str, str]) -> tuple[int, str]:
    token = csrf_of(site.get(f"/claims/{slug}").text)
    response = site.post(f"/claims/{slug}/forecast", data={**data, "csrf_token": token})
    return response.status_code, response.text


def test_quantile_rows_may_come_in_any_order_and_problems_speak_the_forms_words(
    site: TestClient,
) -> None:
    sign_in(site, "maria")
    # a visitor fills the 90% row first (the chances say which row is which), and types the
    # claim's unit, dollars, as people write them
    rows = {"q_0": "90", "x_0": "4 USD", "q_1": "10", "x_1": "$0.40", "q_2": "50", "x_2": "1.5"}
    status, page = _forecast(site, PRICE_SLUG, rows)
    assert status == 200 and "Your forecast is recorded in the ledger." in page
    assert 'You stand at <strong class="mine">median 1.49 USD; 80% between 0.391 USD' in page
    same = {"q_0": "50", "x_0": "1", "q_1": "50", "x_1": "2"}
    status, page = _forecast(site, PRICE_SLUG, same)
    assert status == 422 and "Two rows have the same chance: give each row its own." in page
    backwards = {"q_0": "10", "x_0": "3", "q_1": "90", "x_1": "1"}
    status, page = _forecast(site, PRICE_SLUG, backwards)
    assert status == 422 and "A higher chance needs a larger value" in page
    assert "quantile levels" not in page


def test_the_leaderboard_shows_and_explains_every_figure_it_ranks_by(site: TestClient) -> None:
    page = html.fromstring(site.get("/leaderboard").text)
    headers = [" ".join(th.text_content().split()) for th in page.xpath("//table//th")]
    crps = "Mean CRPS (0\u20131)"
    assert crps in headers  # "Mean CRPS" was a choice of ranking, never shown
    board = site.get("/api/v1/leaderboard").json()["items"]
    (ana,) = [row for row in board if row["handle"] == "ana"]
    cells = page.xpath("//tr[td/a[@href='/forecasters/ana']]/td")
    assert cells[headers.index(crps)].text_content() == f"{ana['mean_crps']:.3f}"
    notes = [
        " ".join(li.text_content().split()) for li in page.xpath("//ul[@class='plain small']/li")
    ]
    for column in ("Mean Brier", "95% interval", "Time-averaged Brier", "Mean CRPS"):
        assert any(note.startswith(f"{column}:") for note in notes), column
