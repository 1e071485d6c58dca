"""The desk for claims that are numbers, dates or choices: create, edit, errors naming the field."""

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from tests.claims.evidence_server import EvidenceServer
from tests.factories import FakeClock
from tests.web.pages.conftest import claim_form_data, csrf_of, post_form, seed, sign_in
from web.app import create_app
from web.db import Database
from web.settings import Settings

CLOSES = datetime.now(UTC) + timedelta(days=30)


def _refused(site: TestClient, data: dict[str, str]) -> str:
    token = csrf_of(site.get("/desk/claims/new").text)
    response = site.post("/desk/claims/new", data={**data, "csrf_token": token})
    assert response.status_code == 422, response.text[:500]
    return response.text


def test_editors_create_claims_of_each_kind(site: TestClient) -> None:
    sign_in(site, "maria")
    form = site.get("/desk/claims/new").text
    assert 'name="kind"' in form and 'name="options"' in form and 'name="log_scale"' in form
    choice = claim_form_data(
        CLOSES,
        slug="desk-choice",
        kind="multiple_choice",
        options="Sora\r\nKling AI\r\nAnother product\r\n",
    )
    assert "Published." in post_form(site, "/desk/claims/new", "/desk/claims/new", choice)
    made = site.get("/api/v1/claims/desk-choice").json()
    assert made["kind"] == "multiple_choice"
    assert made["options"] == ["Sora", "Kling AI", "Another product"]
    revenue = claim_form_data(
        CLOSES,
        slug="desk-revenue",
        kind="numeric",
        range_min="10k",
        range_max="100,000,000",
        log_scale="1",
        open_upper_bound="1",  # the lower bound is left unticked: closed
        unit="USD",
    )
    post_form(site, "/desk/claims/new", "/desk/claims/new", revenue)
    made = site.get("/api/v1/claims/desk-revenue").json()
    assert (made["range_min"], made["range_max"], made["log_scale"]) == (1e4, 1e8, True)
    assert (made["open_lower_bound"], made["open_upper_bound"], made["unit"]) == (
        False,
        True,
        "USD",
    )
    when = claim_form_data(
        CLOSES, slug="desk-date", kind="date", range_min="2026-01-01", range_max="2028-12-31"
    )
    post_form(site, "/desk/claims/new", "/desk/claims/new", when)
    made = site.get("/api/v1/claims/desk-date").json()
    assert made["kind"] == "date" and made["range_min"].startswith("2026-01-01T00:00:00")
    # the edit form shows the fields back: the date range as dates, the kind fixed
    edit = site.get("/desk/claims/desk-date").text
    assert 'value="2026-01-01"' in edit and "fixed when the claim was created" in edit
    assert 'name="options"' not in edit and 'name="log_scale"' not in edit
    edit = site.get("/desk/claims/desk-revenue").text
    assert 'value="10000"' in edit and 'value="100000000"' in edit


def test_the_desk_names_the_field_it_refuses(site: TestClient) -> None:
    sign_in(site, "maria")
    twice = claim_form_data(CLOSES, kind="multiple_choice", options="Sora\nSora")
    html = _refused(site, twice)
    assert "Options #2: duplicates the option" in html
    assert "Sora\nSora</textarea>" in html  # what was typed comes back
    log = claim_form_data(
        CLOSES, kind="numeric", range_min="0", range_max="100", log_scale="1", unit="users"
    )
    html = _refused(site, log)
    assert "Log scale: needs range_min &gt; 0" in html and 'value="users"' in html
    typo = claim_form_data(CLOSES, kind="numeric", range_min="lots", range_max="100")
    assert "Range min: give a number like 2100000." in _refused(site, typo)
    backwards = claim_form_data(CLOSES, kind="date", range_min="2027-01-01", range_max="2026-01-01")
    assert "Range max: must be greater than range_min." in _refused(site, backwards)


def test_options_change_until_the_first_forecast(site: TestClient) -> None:
    sign_in(site, "maria")
    data = claim_form_data(CLOSES, slug="desk-pick", kind="multiple_choice", options="A\nB")
    post_form(site, "/desk/claims/new", "/desk/claims/new", data)
    more = {**data, "options": "A\nB\nSomething else"}
    html = post_form(site, "/desk/claims/desk-pick", "/desk/claims/desk-pick", more)
    assert "changed: options" in html
    assert site.get("/api/v1/claims/desk-pick").json()["options"] == ["A", "B", "Something else"]
    html = post_form(site, "/desk/claims/desk-pick", "/desk/claims/desk-pick", more)
    assert "changed: nothing" in html


@pytest.fixture
def fetching_site(database_url: str, db: Database, demo_clock: FakeClock) -> Iterator[TestClient]:
    """The demo site with rules allowed to fetch from 127.0.0.1 (the evidence server)."""
    seed(db, demo_clock.now)
    settings = Settings(
        database_url=database_url, rate_limit=0, secret_key="k", fetch_allow="127.0.0.1/32"
    )
    with TestClient(create_app(settings, clock=demo_clock, migrate=False)) as client:
        yield client


def _tested(site: TestClient, action: str, data: dict[str, str]) -> str:
    token = csrf_of(site.get(action).text)
    response = site.post(action, data={**data, "csrf_token": token, "action": "check"})
    assert response.status_code == 200, response.text[:600]
    return response.text


def test_the_rule_tester_shows_the_value_each_rule_extracted(
    fetching_site: TestClient, server: EvidenceServer
) -> None:
    site = fetching_site
    sign_in(site, "maria")
    count = {"url": server.url("/appstore/v2.json"), "format": "json"}
    rules = json.dumps([{**count, "expression": "length(feed.results)"}])
    data = claim_form_data(
        CLOSES, kind="numeric", range_min="1", range_max="100", unit="apps", rules=rules
    )
    html = _tested(site, "/desk/claims/new", data)
    assert re.search(r'<td class="says">6 apps</td>', html)  # the chart lists six apps
    assert "Rules tested at" in html and "Nothing was stored." in html
    top = {**count, "expression": "feed.results[0].name"}
    choice = claim_form_data(
        CLOSES,
        slug="desk-top-app",
        kind="multiple_choice",
        options="ChatGPT\nGoogle Gemini\nAnother app",
        rules=json.dumps([top]),
    )
    post_form(site, "/desk/claims/new", "/desk/claims/new", choice)
    html = _tested(site, "/desk/claims/desk-top-app", choice)
    assert '<td class="says">ChatGPT</td>' in html
