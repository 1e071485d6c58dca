"""Every page answers over realistic data (the demo seed), with no template errors."""

import re

from fastapi.testclient import TestClient

from tests.web.pages.conftest import RESOLVED_SLUG, sign_in
from web.demo import DEMO_CLAIMS, FORECASTERS, SETTLED_CLAIMS

OPEN_SLUG = "standalone-video-out-of-top-five-2026"
ALL_SPECS = [*DEMO_CLAIMS, *(item.spec for item in SETTLED_CLAIMS)]


def _ok(client: TestClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, (path, response.text[:500])
    assert response.headers["content-type"].startswith("text/html")
    assert "script-src" not in response.headers["content-security-policy"]  # default-src 'none'
    assert "<script" not in response.text
    return response.text


def test_every_public_page_answers(site: TestClient) -> None:
    pages = [
        "/",
        "/?status=open",
        "/?tag=video",
        "/?status=resolved&tag=google",
        "/leaderboard",
        "/leaderboard?metric=peer_accuracy&min_claims=0",
        "/leaderboard?metric=nonsense",
        "/forecasters/@crowd",
        "/ledger",
        "/ledger?before=5",
        "/claimants",
        "/claimants?metric=yield&min_claims=1",
        "/claimants/seed-essay",
        "/signin",
        "/signup",
        *(f"/claims/{spec['slug']}" for spec in ALL_SPECS),
        *(f"/forecasters/{handle}" for handle in FORECASTERS),
    ]
    for path in pages:
        _ok(site, path)


def test_index_lists_claims_with_crowd_and_sparklines(site: TestClient) -> None:
    html = _ok(site, "/")
    for spec in ALL_SPECS:
        assert f'href="/claims/{spec["slug"]}"' in html
    assert html.count("<svg") == len(ALL_SPECS)
    assert re.search(r'class="crowd"><span class="value">\d+%', html)
    only_google = _ok(site, "/?tag=google")
    assert only_google.count('class="claim-card"') == 1


def test_claim_page_shows_chart_rules_and_hides_who_while_open(site: TestClient) -> None:
    html = _ok(site, f"/claims/{OPEN_SLUG}")
    assert 'class="crowd" points=' in html and 'class="market" points=' in html
    assert "apps.apple.com" in html or "itunes.apple.com" in html
    assert "claim published" in html
    for handle in FORECASTERS:  # open: nobody's forecast is shown with its author
        assert f"/forecasters/{handle}" not in html


def test_resolved_claim_shows_everyone_scores_and_timeline(site: TestClient) -> None:
    html = _ok(site, f"/claims/{RESOLVED_SLUG}")
    assert "All forecasts" in html
    for handle in FORECASTERS:
        assert f"/forecasters/{handle}" in html
    assert "resolution finalised" in html and "Announced on stage." in html
    assert "Brier (0\u20131)" in html


def test_leaderboard_and_profile_have_scores(site: TestClient) -> None:
    board = _ok(site, "/leaderboard")
    assert "@crowd" in board and "/forecasters/ana" in board
    profile = _ok(site, "/forecasters/ana")
    assert "Murphy decomposition" in profile and '<circle class="dot"' in profile


def test_ledger_page_shows_head_and_how_to_verify(site: TestClient) -> None:
    head = site.get("/api/v1/ledger/head").json()
    html = _ok(site, "/ledger")
    assert head["hash"] in html and f"--expect-head {head['hash']}" in html


def test_unknown_things_are_html_404s(site: TestClient) -> None:
    for path in ("/claims/no-such-claim", "/forecasters/nobody"):
        response = site.get(path)
        assert response.status_code == 404 and "Not found" in response.text
    browser = site.get("/no/such/page", headers={"Accept": "text/html,*/*"})
    assert browser.status_code == 404 and "no page at this address" in browser.text
    program = site.get("/api/v1/no-such-thing", headers={"Accept": "text/html"})
    assert program.status_code == 404 and program.json() == {"detail": "Not Found"}
    assert site.get("/no/such/page").json() == {"detail": "Not Found"}
    # a method the address does not take: a page for browsers (with Allow), JSON for programs
    wrong = site.request("DELETE", "/leaderboard", headers={"Accept": "text/html"})
    assert wrong.status_code == 405 and "does not take that kind of request" in wrong.text
    assert wrong.headers["allow"] == "GET" and wrong.headers["content-type"].startswith("text/html")
    api = site.request("DELETE", "/api/v1/leaderboard", headers={"Accept": "text/html"})
    assert api.status_code == 405 and api.json() == {"detail": "Method Not Allowed"}


def test_desk_and_account_pages_for_an_editor(site: TestClient) -> None:
    assert site.get("/desk", follow_redirects=False).status_code == 303
    sign_in(site, "maria")
    for path in ("/desk", "/desk/claims/new", f"/desk/claims/{OPEN_SLUG}", "/account"):
        _ok(site, path)


def test_odd_parameters_are_refused_not_crashed_on(site: TestClient) -> None:
    odd = [
        "/ledger?before=99999999999999999999999",
        "/?cursor=zzz",
        "/?status=bogus",
        "/leaderboard?min_claims=-5",
        "/claims/%00",
        "/forecasters/%ED%A0%80",
        "/claims/" + "a" * 5000,
    ]
    for path in odd:
        response = site.get(path)
        assert response.status_code in (404, 422), path
        assert "<h1>" in response.text
    sign_in(site, "maria")
    html = site.get("/account").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    big = site.post("/account/tokens/99999999999999999999999/revoke", data={"csrf_token": token[1]})
    assert big.status_code == 422
