"""Limits on what a client may send: body size, string lengths, list sizes, submission rate."""

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, claim_body, make_claim
from web.app import create_app
from web.settings import Settings

SLUG = "gen-video-out-of-top-five"
URL = f"/api/v1/claims/{SLUG}/forecasts"


@pytest.fixture
def small(database_url: str, clock: FakeClock) -> Iterator[TestClient]:
    """An app with a 2 kB body cap and a rate limit of 3 submissions a minute."""
    settings = Settings(database_url=database_url, rate_limit=3, max_body_bytes=2000)
    with TestClient(create_app(settings, clock=clock, migrate=False)) as client:
        yield client


def _too_large(response: object) -> None:
    assert response.status_code == 413, response.text  # type: ignore[attr-defined]
    assert "larger than 2000 bytes" in response.json()["detail"]  # type: ignore[attr-defined]


def test_a_declared_length_over_the_cap_is_refused_unread(
    small: TestClient, tokens: Tokens
) -> None:
    make_claim(small, tokens.editor)
    body = b'{"probability": 0.5, "rationale": "' + b"x" * 3000 + b'"}'
    headers = {**auth(tokens.alice), "Content-Type": "application/json"}
    _too_large(small.post(URL, content=body, headers=headers))
    # the same on routes that FastAPI parses, and on page forms
    _too_large(small.post("/api/v1/claims", content=body, headers=auth(tokens.editor)))
    _too_large(small.post("/signin", content=b"handle=" + b"a" * 3000))
    # just under the cap is judged as usual
    fits = b'{"probability": 0.5, "rationale": "' + b"x" * 1900 + b'"}'
    assert small.post(URL, content=fits, headers=headers).status_code == 201


def test_a_chunked_body_is_cut_off_at_the_cap(small: TestClient, tokens: Tokens) -> None:
    make_claim(small, tokens.editor)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b'{"probability": 0.5, "rationale": "'
        for _ in range(1000):  # 100 kB in all, if anyone read it
            sent.append(1)
            yield b"x" * 100
        yield b'"}'

    for path, token in ((URL, tokens.alice), ("/api/v1/claims", tokens.editor)):
        sent.clear()
        headers = {**auth(token), "Content-Type": "application/json"}
        response = small.post(path, content=chunks(), headers=headers)
        _too_large(response)
        assert "content-length" not in {k.lower() for k in response.request.headers}
    assert small.get(f"/api/v1/claims/{SLUG}/forecasts", headers=auth(tokens.alice)).json() == {
        "items": [],
        "next_cursor": None,
    }


def test_the_default_cap_is_a_megabyte(client: TestClient, tokens: Tokens) -> None:
    body = b"[" + b"0," * 600_000 + b"0]"
    response = client.post(
        "/api/v1/import/forecasts",
        content=body,
        headers={**auth(tokens.admin), "Content-Type": "application/json"},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("slug", "a" * 121),
        ("slug", "Not-A-Slug"),
        ("title", "t" * 301),
        ("title", ""),
        ("description", "d" * 20_001),
        ("resolution_criteria", "c" * 20_001),
        ("fine_print", "f" * 20_001),
        ("tags", ["t"] * 21),
        ("tags", ["x" * 41]),
        ("rules", [{"url": "https://example.org/a", "format": "json", "expression": "a"}] * 11),
        ("title", "nul\x00byte"),
        ("description", "lone \\ud800 surrogate"),  # the JSON escape of an unpaired surrogate
    ],
)
def test_claim_fields_are_bounded(
    client: TestClient, tokens: Tokens, field: str, value: object
) -> None:
    body = claim_body(**{field: value}) if field != "slug" else claim_body(slug=str(value))
    text = json.dumps(body).replace("\\\\ud800", "\\ud800")
    headers = {**auth(tokens.editor), "Content-Type": "application/json"}
    response = client.post("/api/v1/claims", content=text, headers=headers)
    assert response.status_code == 422, response.text
    assert field in {str(part) for item in response.json()["detail"] for part in item["loc"]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"probability": 0.5, "rationale": "r" * 10_001}, "rationale"),
        ({"odds": "1" * 41 + ":1"}, "odds"),
        ({"probability": 0.5, "rationale": "\x00"}, "rationale"),
    ],
)
def test_forecast_fields_are_bounded(
    client: TestClient, tokens: Tokens, body: dict[str, object], field: str
) -> None:
    make_claim(client, tokens.editor)
    response = client.post(URL, json=body, headers=auth(tokens.alice))
    assert response.status_code == 422, response.text
    assert field in response.text


def test_other_inputs_are_bounded(client: TestClient, tokens: Tokens) -> None:
    make_claim(client, tokens.editor)
    key = {"Idempotency-Key": "k" * 201}
    response = client.post(URL, json={"probability": 0.5}, headers={**auth(tokens.alice), **key})
    assert response.status_code == 422 and "Idempotency-Key" in response.text
    label = client.post("/api/v1/me/tokens", json={"label": "l" * 301}, headers=auth(tokens.bob))
    assert label.status_code == 422 and "label" in label.text
    rows = [{"claim": SLUG, "handle": "alice", "probability": 0.5, "created_at": "x"}] * 10_001
    many = client.post("/api/v1/import/forecasts", json=rows, headers=auth(tokens.admin))
    assert many.status_code == 422, many.text
    for query in ("limit=501", "limit=0", "cursor=" + "c" * 101, "tag=" + "t" * 41):
        assert client.get(f"/api/v1/claims?{query}").status_code == 422, query
    note = client.post(
        f"/api/v1/claims/{SLUG}/resolution",
        json={"outcome": "yes", "note": "n" * 20_001},
        headers=auth(tokens.editor),
    )
    assert note.status_code == 422 and "note" in note.text


def test_submissions_over_the_rate_get_429_with_retry_after(
    small: TestClient, tokens: Tokens, clock: FakeClock
) -> None:
    make_claim(small, tokens.editor, closes_at=T0 + timedelta(days=30))
    answers = [
        small.post(URL, json={"probability": 0.1 * (i + 1)}, headers=auth(tokens.alice))
        for i in range(5)
    ]
    assert [a.status_code for a in answers] == [201, 201, 201, 429, 429]
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 61
    assert answers[3].json()["detail"]
    # the limit is per token: another forecaster is not held back, and withdrawing is not counted
    assert small.post(URL, json={"probability": 0.2}, headers=auth(tokens.bob)).status_code == 201
    assert small.post(
        f"/api/v1/claims/{SLUG}/withdraw", headers=auth(tokens.alice)
    ).status_code == (201)
