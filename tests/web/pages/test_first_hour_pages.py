"""What a newcomer's first hour on the pages tripped over (issue 13, part 6)."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.web.pages.conftest import (
    PASSWORD,
    RESOLVED_SLUG,
    claim_form_data,
    csrf_of,
    post_form,
    sign_in,
)
from tests.web.pages.test_forms import OPEN_SLUG

FORM = f"/claims/{OPEN_SLUG}"
ACTION = f"/claims/{OPEN_SLUG}/forecast"
# a time as the pages write it: '24 Nov 2026, 17:20 UTC'
WHEN = r"\d{1,2} \w{3} \d{4}, \d\d:\d\d UTC"


def _forecast(site: TestClient, percent: str, rationale: str = "") -> str:
    return post_form(site, FORM, ACTION, {"percent": percent, "rationale": rationale})


def _market(site: TestClient) -> float:
    value: float = site.get(f"/api/v1/claims/{OPEN_SLUG}").json()["market_probability"]
    return value


def test_the_forecast_form_says_what_it_records_and_takes_odds(site: TestClient) -> None:
    post_form(site, "/signup", "/signup", {"handle": "newbie", "password": PASSWORD})
    assert re.search(r'name="percent" type="text"', site.get(FORM).text)  # odds get through
    html = _forecast(site, "62.55")
    assert "Your forecast of 62.55% is recorded" in html and _market(site) == 0.6255
    assert 'class="mine">62.55%<' in html and 'value="62.55"' in html
    html = _forecast(site, "3:1")
    assert "Your forecast of 75% is recorded" in html and _market(site) == 0.75
    html = _forecast(site, "2 : 1")
    assert "Your forecast of 66.6667% is recorded" in html and _market(site) == 0.666667
    for nonsense in ("1:0", "abc", "100", "62,5%"):
        html = _forecast(site, nonsense)
        assert "Not recorded. Give a percentage from 0.1 to 99.9" in html, nonsense
    assert _market(site) == 0.666667


def test_validation_messages_are_plain_sentences(site: TestClient) -> None:
    post_form(site, "/signup", "/signup", {"handle": "newbie", "password": PASSWORD})
    html = _forecast(site, "40", rationale="x" * 10_001)
    assert "Not recorded. Rationale: string should have at most 10000 characters." in html
    bad = site.get("/leaderboard", params={"min_claims": "-5"})
    assert bad.status_code == 422
    assert "Min claims: input should be greater than or equal to 0." in bad.text
    sign_in(site, "maria")
    token = csrf_of(site.get("/desk/claims/new").text)
    form = claim_form_data(
        datetime.now(UTC) + timedelta(days=3), title="   ", resolution_criteria="\r\n"
    )
    response = site.post("/desk/claims/new", data={**form, "csrf_token": token})
    assert response.status_code == 422
    assert "Title: must not be blank." in response.text
    assert "Resolution criteria: must not be blank." in response.text
    for text in (html, bad.text, response.text):
        assert "Value error" not in text


def test_the_timeline_spaces_the_reveals(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    make_claim(client, tokens.editor, slug="c1", opens_at=T0, closes_at=T0 + timedelta(days=10))
    for token in (tokens.alice, tokens.bob):
        clock.advance(days=1)
        forecast = {"probability": 0.7}
        response = client.post("/api/v1/claims/c1/forecasts", json=forecast, headers=auth(token))
        assert response.status_code == 201
    clock.set(T0 + timedelta(days=11))
    resolved = {"outcome": "yes"}
    response = client.post(
        "/api/v1/claims/c1/resolution", json=resolved, headers=auth(tokens.editor)
    )
    assert response.status_code == 200
    html = client.get("/claims/c1").text
    assert "claim closed</span> (2 commitments revealed)" in html


def test_forecast_times_have_the_time_and_the_zone(site: TestClient) -> None:
    html = site.get(f"/claims/{RESOLVED_SLUG}").text
    rows = re.findall(
        rf'<tr><td><time datetime="[^"]+">({WHEN})</time></td><td><a href="/fore', html
    )
    assert len(rows) >= 5
    post_form(site, "/signup", "/signup", {"handle": "newbie", "password": PASSWORD})
    _forecast(site, "40")
    assert re.search(rf"40%</td><td><time [^>]+>{WHEN}</time>", site.get("/account").text)


def test_the_scores_table_has_baseline_and_log_scores_explained(site: TestClient) -> None:
    html = site.get(f"/claims/{RESOLVED_SLUG}").text
    scores = html[html.index('id="h-scores"') : html.index('id="h-forecasts"')]
    assert '<th scope="col">Log score</th>' in scores and '<th scope="col">Baseline</th>' in scores
    columns = ("Brier (0\u20131)", "Log score", "Coverage", "Baseline", "Peer", "Market points")
    for column in columns:
        assert f"<strong>{column}</strong>: " in scores
    api = site.get(f"/api/v1/claims/{RESOLVED_SLUG}/scores").json()["items"]
    ana = next(row for row in api if row["handle"] == "ana")
    row = scores[scores.index('href="/forecasters/ana"') :].split("</tr>")[0]
    assert f"<td>{ana['log_score']:.3f}</td>" in row
    assert f"<td>{ana['baseline_score']:.1f}</td>" in row


def test_the_leaderboard_explains_its_columns(site: TestClient) -> None:
    html = site.get("/leaderboard").text
    for column in ("Peer accuracy", "Baseline", "Market points", "Coverage"):
        assert re.search(rf"<li><strong>{column}</strong>: [^<]+\.</li>", html), column
    assert "divided by the coverage summed (by 10 while that sum is below 10)" in html


def test_profiles_list_claims_by_title(site: TestClient) -> None:
    title = site.get(f"/api/v1/claims/{RESOLVED_SLUG}").json()["title"]
    html = site.get("/forecasters/ana").text
    assert f'<a href="/claims/{RESOLVED_SLUG}">{title}</a>' in html


@pytest.mark.parametrize("handle", ["crowd", "the-crowd", "cr0wd", "admin"])
def test_sign_up_refuses_reserved_handles(site: TestClient, handle: str) -> None:
    token = csrf_of(site.get("/signup").text)
    response = site.post(
        "/signup", data={"handle": handle, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 422 and "That handle is reserved" in response.text
    assert site.get(f"/forecasters/{handle}").status_code == 404
