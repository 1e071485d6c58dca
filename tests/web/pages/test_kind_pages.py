"""Claim pages of each kind: facts, plots, the forecast forms and what stays hidden."""

import re
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.web.pages.conftest import PASSWORD, claim_form_data, csrf_of, post_form, sign_in

CLOSES = datetime.now(UTC) + timedelta(days=30)
CHOICE = "page-choice"
REVENUE = "page-revenue"
LAUNCH = "page-launch"


def _claims(site: TestClient) -> None:
    """An editor makes a claim of each kind at the desk, then signs out."""
    sign_in(site, "maria")
    for data in (
        claim_form_data(CLOSES, slug=CHOICE, kind="multiple_choice", options="Sora\nVeo\nOther"),
        claim_form_data(
            CLOSES,
            slug=REVENUE,
            kind="numeric",
            range_min="100000",
            range_max="100000000",
            log_scale="1",
            open_lower_bound="1",
            open_upper_bound="1",
            unit="USD",
        ),
        claim_form_data(
            CLOSES, slug=LAUNCH, kind="date", range_min="2026-01-01", range_max="2028-12-31"
        ),
    ):
        post_form(site, "/desk/claims/new", "/desk/claims/new", data)
    post_form(site, "/", "/signout", {})


def _sign_up(site: TestClient, handle: str) -> None:
    post_form(site, "/signup", "/signup", {"handle": handle, "password": PASSWORD})


def _forecast(site: TestClient, slug: str, data: dict[str, str]) -> tuple[int, str]:
    token = csrf_of(site.get(f"/claims/{slug}").text)
    response = site.post(f"/claims/{slug}/forecast", data={**data, "csrf_token": token})
    return response.status_code, response.text


def _rects(html: str, css: str) -> list[float]:
    return [
        float(w) for w in re.findall(rf'<rect class="{css}" x="0" y="\d+" width="([\d.]+)"', html)
    ]


def test_a_percentage_per_option_and_a_bar_per_option(site: TestClient) -> None:
    _claims(site)
    _sign_up(site, "picker")
    page = site.get(f"/claims/{CHOICE}").text
    assert "multiple choice" in page and "Sora, Veo, Other" in page
    assert page.count('class="field option-field"') == 3 and _rects(page, "mine") == []
    status, html = _forecast(site, CHOICE, {"option_0": "50", "option_1": "30", "option_2": "10"})
    assert status == 422 and "The percentages add up to 90%; make them add up to 100%." in html
    assert 'id="option_0" name="option_0"' in html and 'value="50"' in html  # kept as typed
    status, html = _forecast(site, CHOICE, {"option_0": "lots", "option_1": "30", "option_2": "70"})
    assert status == 422 and "Sora: give a percentage, like 40." in html
    status, html = _forecast(
        site, CHOICE, {"option_0": "50", "option_1": "30", "option_2": "20", "rationale": "hm"}
    )
    assert status == 200 and "Your forecast is recorded in the ledger." in html
    assert _rects(html, "crowd") == [100.0, 60.0, 40.0]  # of 200: the crowd is the one forecast
    assert _rects(html, "mine") == [100.0, 60.0, 40.0]
    assert "Sora 50.0%, Veo 30.0%, Other 20.0%" in site.get("/account").text
    lines = re.findall(r'<polyline class="option (option-\d)"', html)
    assert lines == ["option-0", "option-1", "option-2"]  # a line per option over time
    assert 'You stand at <strong class="mine">Sora 50.0%, Veo 30.0%, Other 20.0%' in html
    api = site.get(f"/api/v1/claims/{CHOICE}").json()
    assert api["crowd"] == {"Sora": 0.5, "Veo": 0.3, "Other": 0.2}
    # someone else sees the crowd, never the forecaster's own bars
    post_form(site, "/", "/signout", {})
    other = site.get(f"/claims/{CHOICE}").text
    assert _rects(other, "crowd") == [100.0, 60.0, 40.0] and _rects(other, "mine") == []
    assert "picker" not in other


def test_quantiles_make_the_density_and_errors_keep_what_was_typed(site: TestClient) -> None:
    _claims(site)
    _sign_up(site, "counter")
    page = site.get(f"/claims/{REVENUE}").text
    assert "a number" in page and "100k USD to 100M USD" in page and "logarithmic" in page
    assert 'value="10"' in page and 'value="90"' in page  # the rows offer their chances
    backwards = {"q_0": "10", "x_0": "3M", "q_2": "50", "x_2": "1,000,000"}
    status, html = _forecast(site, REVENUE, backwards)
    assert status == 422 and "quantile values must be strictly increasing" in html
    assert 'value="3M"' in html and 'value="1,000,000"' in html
    status, html = _forecast(site, REVENUE, {"q_0": "10", "x_0": "1M"})
    assert status == 422 and "Give a value in two to 5 rows." in html
    status, html = _forecast(site, REVENUE, {"q_0": "ten", "x_0": "1M", "q_1": "90", "x_1": "9M"})
    assert status == 422 and "Row 1: give the chance as a percentage, like 50." in html
    good = {"q_0": "10", "x_0": "1M", "q_2": "50", "x_2": "2.1M", "q_4": "90", "x_4": "9M"}
    status, html = _forecast(site, REVENUE, good)
    assert status == 200 and "Your forecast is recorded in the ledger." in html
    assert html.count('<polygon class="crowd"') == 1 and html.count('<polyline class="mine"') == 1
    assert html.count('<polygon class="band"') == 1  # the 80% band over time
    assert "Crowd median 2.12M USD" in html and "median 2.12M USD; 80% between 990k USD" in html
    # the form shows the standing quantiles back
    assert 'value="2100000"' in html and 'value="9000000"' in html
    post_form(site, "/", "/signout", {})
    other = site.get(f"/claims/{REVENUE}").text
    assert '<polygon class="crowd"' in other and '<polyline class="mine"' not in other


def test_dates_are_typed_as_dates(site: TestClient) -> None:
    _claims(site)
    _sign_up(site, "dater")
    page = site.get(f"/claims/{LAUNCH}").text
    assert "1 Jan 2026 to 31 Dec 2028" in page and 'type="date"' in page
    dates = {"q_0": "25", "x_0": "2027-01-01", "q_1": "75", "x_1": "2027-09-01"}
    status, html = _forecast(site, LAUNCH, dates)
    assert status == 200 and "Your forecast is recorded in the ledger." in html
    assert 'value="2027-01-01"' in html and "1 Jan 2026" in html  # axis ticks are dates
    assert re.search(r"Crowd median \d+ \w{3} 2027", html)
    status, html = _forecast(
        site, LAUNCH, {"q_0": "25", "x_0": "soon", "q_1": "75", "x_1": "2027-09-01"}
    )
    assert status == 422 and "Row 1: give a date like 2027-06-30." in html
