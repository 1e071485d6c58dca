"""Drafts exist only for editors: to anyone else, on every surface, a draft is an unknown slug
(the same status and the same body, but for the slug itself)."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import auth, make_claim
from tests.web.pages.conftest import PASSWORD, csrf_of

DRAFT = "secret-draft"
UNKNOWN = "nobody-made-this"
_CSRF = re.compile(r'value="[A-Za-z0-9_-]{20,}"')
_FLASH = re.compile(r'<p class="flash" role="status">([^<]*)</p>')

API_READS = [
    "/api/v1/claims/{slug}",
    "/api/v1/claims/{slug}/forecasts",
    "/api/v1/claims/{slug}/history",
    "/api/v1/claims/{slug}/scores",
    "/api/v1/claims/{slug}/evidence",
    "/api/v1/claims/{slug}/evidence/1/body",
]
API_WRITES = [
    ("/api/v1/claims/{slug}/forecasts", {"probability": 0.4}),
    ("/api/v1/claims/{slug}/withdraw", None),
    ("/api/v1/claims/{slug}/dispute", {"note": "wrong"}),
]


@pytest.fixture
def draft(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, slug=DRAFT, status="draft", tags=["hush"])


def _alike(client: TestClient, method: str, path: str, **kwargs: object) -> None:
    """The draft's answer is the unknown slug's, but for the slug."""
    seen = client.request(method, path.format(slug=DRAFT), **kwargs)  # type: ignore[arg-type]
    unknown = client.request(method, path.format(slug=UNKNOWN), **kwargs)  # type: ignore[arg-type]
    assert seen.status_code == unknown.status_code == 404, (path, seen.text)
    assert DRAFT not in _CSRF.sub("", unknown.text)
    assert _CSRF.sub("", seen.text).replace(DRAFT, UNKNOWN) == _CSRF.sub("", unknown.text)


@pytest.mark.parametrize("who", ["anonymous", "forecaster"])
def test_a_draft_reads_as_an_unknown_slug(
    client: TestClient, tokens: Tokens, draft: None, who: str
) -> None:
    headers = auth(tokens.alice) if who == "forecaster" else {}
    for path in API_READS:
        _alike(client, "GET", path, headers=headers)
    for query in ("", "?status=draft", "?tag=hush", "?status=draft&tag=hush"):
        listed = client.get(f"/api/v1/claims{query}", headers=headers)
        assert listed.status_code == 200 and listed.json()["items"] == [], query


def test_a_draft_takes_no_submission_and_no_dispute_from_forecasters(
    client: TestClient, tokens: Tokens, draft: None
) -> None:
    # twice each: the first through FastAPI, the second through the fast lane (web/fastpath.py),
    # which takes submissions from tokens the app has seen
    for _ in range(2):
        for path, body in API_WRITES:
            _alike(client, "POST", path, json=body, headers=auth(tokens.alice))
    for path, body in API_WRITES:
        assert client.post(path.format(slug=DRAFT), json=body).status_code == 401


def test_editors_see_and_use_drafts(client: TestClient, tokens: Tokens, draft: None) -> None:
    editor = auth(tokens.editor)
    for path in API_READS[:3]:
        assert client.get(path.format(slug=DRAFT), headers=editor).status_code == 200, path
    listed = client.get("/api/v1/claims?status=draft", headers=editor).json()["items"]
    assert [claim["slug"] for claim in listed] == [DRAFT]
    refused = client.post(
        f"/api/v1/claims/{DRAFT}/forecasts", json={"probability": 0.4}, headers=editor
    )
    assert refused.status_code == 409 and "draft" in refused.text


def _sign_up(client: TestClient, handle: str) -> None:
    token = csrf_of(client.get("/signup").text)
    data = {"handle": handle, "password": PASSWORD, "csrf_token": token}
    assert client.post("/signup", data=data).status_code == 200


@pytest.mark.parametrize("who", ["anonymous", "forecaster"])
def test_the_pages_show_no_draft(client: TestClient, draft: None, who: str) -> None:
    if who == "forecaster":
        _sign_up(client, "carol")
    _alike(client, "GET", "/claims/{slug}")
    for query in ("/?status=draft", "/?tag=hush", "/"):
        page = client.get(query)
        assert page.status_code == 200 and DRAFT not in page.text and "hush" not in page.text
    if who == "forecaster":
        data = {"csrf_token": csrf_of(client.get("/").text), "percent": "40", "note": "wrong"}
        for action in ("forecast", "withdraw", "dispute"):
            answers = []
            for slug in (DRAFT, UNKNOWN):
                sent = client.post(f"/claims/{slug}/{action}", data=data, follow_redirects=False)
                flashed = _FLASH.search(client.get("/").text)
                answers.append((sent.status_code, flashed and flashed.group(1).replace(slug, "")))
            assert answers[0] == answers[1], action
            assert action == "dispute" or "no claim with slug" in str(answers[0][1])
