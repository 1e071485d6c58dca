"""FORECAST_LEDGER_PUBLIC_URL: pages say the configured address, never the request's Host, and
with it set a request for another host is a 400 (but /health and /metrics), fast lane included."""

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.conftest import Tokens
from tests.factories import FakeClock, auth, make_claim
from web.app import create_app
from web.settings import Settings

PUBLIC = "https://ledger.example.org"
SLUG = "gen-video-out-of-top-five"
EVIL = {"host": "evil.example"}


@pytest.fixture
def public(database_url: str, clock: FakeClock) -> Iterator[TestClient]:
    settings = Settings(database_url=database_url, rate_limit=0, public_url=PUBLIC + "/")
    with TestClient(create_app(settings, clock=clock, migrate=False), base_url=PUBLIC) as client:
        yield client


def test_without_the_setting_the_ledger_page_does_not_echo_the_host(client: TestClient) -> None:
    page = client.get("/ledger", headers=EVIL)
    assert page.status_code == 200 and "evil.example" not in page.text
    assert "curl -s &lt;this site&#39;s address&gt;/api/v1/ledger/head" in page.text


def test_the_ledger_page_gives_the_public_url(public: TestClient) -> None:
    page = public.get("/ledger")
    assert page.status_code == 200
    assert f"curl -s {PUBLIC}/api/v1/ledger/head" in page.text
    assert "this site&#39;s address" not in page.text
    for host in ("ledger.example.org:443", "LEDGER.example.org"):
        assert public.get("/ledger", headers={"host": host}).status_code == 200, host


@pytest.mark.parametrize(
    "host", ["evil.example", "ledger.example.org:8443", "ledger.example.org.evil.example", ""]
)
def test_other_hosts_get_a_400(public: TestClient, host: str) -> None:
    for path in ("/", "/ledger", "/api/v1/claims", "/openapi.json", "/no-such-page"):
        refused = public.get(path, headers={"host": host})
        assert refused.status_code == 400, (path, refused.text)
        assert "evil" not in refused.text and refused.headers["x-frame-options"] == "DENY"
    assert public.get("/health", headers={"host": host}).status_code == 200
    assert public.get("/metrics", headers={"host": host}).status_code != 400


def test_the_fast_lane_checks_the_host_too(public: TestClient, tokens: Tokens) -> None:
    make_claim(public, tokens.editor)
    url = f"/api/v1/claims/{SLUG}/forecasts"
    first = public.post(url, json={"probability": 0.3}, headers=auth(tokens.alice))
    assert first.status_code == 201  # the app knows alice's token now: the fast lane takes it
    refused = public.post(url, json={"probability": 0.9}, headers=auth(tokens.alice) | EVIL)
    assert refused.status_code == 400
    mine = public.get(url, headers=auth(tokens.alice)).json()["items"]
    assert [forecast["probability"] for forecast in mine] == [0.3]


@pytest.mark.parametrize(
    ("value", "normalised"),
    [
        ("https://Ledger.Example.org/", "https://ledger.example.org"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("", ""),
    ],
)
def test_good_public_urls(value: str, normalised: str) -> None:
    assert Settings(public_url=value).public_url == normalised


@pytest.mark.parametrize(
    "value",
    [
        "ledger.example.org",
        "ftp://ledger.example.org",
        "https://",
        "https://ledger.example.org/ledger",
        "https://ledger.example.org?x=1",
        "https://ledger.example.org#top",
        "https://ledger.example.org:99999",
        "https://ledger.example.org:http",
        "https://admin:secret@ledger.example.org",
    ],
)
def test_bad_public_urls_are_refused_clearly(value: str) -> None:
    with pytest.raises(ValidationError) as raised:
        Settings(public_url=value)
    assert "public_url" in str(raised.value) and "scheme://host[:port]" in str(raised.value)
    assert "secret" not in raised.value.errors()[0]["msg"]  # what the command prints
