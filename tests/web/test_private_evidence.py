"""Evidence from addresses only the allow list lets in is for editors (issue 18, item 3)."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from claims.models import EvidenceSnapshot
from tests.claims.evidence_server import EvidenceServer
from tests.claims.payloads import APPSTORE_V2
from tests.conftest import Tokens
from tests.factories import FakeClock, auth
from tests.web.test_resolution_api import CLOSES, SLUG, YES, claim_with, rules, rules_run
from web.db import Database
from web.settings import Settings


@pytest.fixture
def publish() -> bool:
    return False


@pytest.fixture
def allow() -> str:
    return "127.0.0.1/32"


@pytest.fixture
def settings(database_url: str, publish: bool, allow: str) -> Settings:
    return Settings(
        database_url=database_url,
        rate_limit=0,
        fetch_allow=allow,
        challenge_window=3600,
        publish_private_evidence=publish,
    )


def resolved_with_evidence(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> list[dict[str, Any]]:
    """The claim with a deciding rule and one whose body does not parse, both run once."""
    broken = {"url": server.url("/malformed.json"), "format": "json", "expression": "`true`"}
    claim_with(client, tokens, [*rules(server, YES), broken])
    clock.set(CLOSES + timedelta(minutes=1))
    rules_run(client)
    items: list[dict[str, Any]] = client.get(f"/api/v1/claims/{SLUG}/evidence").json()["items"]
    return sorted(items, key=lambda item: item["rule_index"])


def body(client: TestClient, snapshot: dict[str, Any], token: str | None = None) -> Any:
    url = f"/api/v1/claims/{SLUG}/evidence/{snapshot['id']}/body"
    return client.get(url, headers=auth(token) if token else None)


def test_bodies_from_an_allowed_internal_address_are_for_editors_only(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    decided, unparsed = resolved_with_evidence(client, tokens, server, clock)
    assert decided["decision"] == "yes" and decided["public_address"] is False
    assert decided["withheld"] is True and decided["value"] is None
    assert unparsed["error"] is not None and "cannot parse json" in unparsed["error"]
    for snapshot in (decided, unparsed):
        assert body(client, snapshot).status_code == 403
        assert body(client, snapshot, tokens.alice).status_code == 403
    assert body(client, decided, tokens.editor).content == APPSTORE_V2
    editors = client.get(f"/api/v1/claims/{SLUG}/evidence", headers=auth(tokens.editor)).json()
    seen = {item["rule_index"]: item for item in editors["items"]}
    assert seen[0]["withheld"] is False and seen[0]["value"] is True
    page = client.get(f"/claims/{SLUG}").text
    assert f"/evidence/{decided['id']}/body" not in page
    assert "withheld: fetched from a non-public address" in page


@pytest.mark.parametrize("publish", [True])
def test_the_operator_may_publish_them(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    decided, unparsed = resolved_with_evidence(client, tokens, server, clock)
    assert decided["withheld"] is False and decided["value"] is True
    assert body(client, decided).content == APPSTORE_V2
    assert body(client, unparsed).status_code == 200
    assert f"/evidence/{decided['id']}/body" in client.get(f"/claims/{SLUG}").text


@pytest.mark.parametrize("allow", ["127.0.0.2/32"])
def test_public_errors_never_name_the_address_a_name_resolved_to(
    client: TestClient, tokens: Tokens, server: EvidenceServer, clock: FakeClock
) -> None:
    url = f"http://localhost:{server.port}/appstore/v2.json"
    claim_with(client, tokens, [{"url": url, "format": "json", "expression": YES}])
    check = client.post(f"/api/v1/claims/{SLUG}/check", headers=auth(tokens.editor)).json()
    assert "'localhost' -> 127.0.0.1 is not a public address" in check["snapshots"][0]["error"]
    clock.set(CLOSES + timedelta(minutes=1))
    rules_run(client)
    [stored] = client.get(f"/api/v1/claims/{SLUG}/evidence").json()["items"]
    assert stored["error"] == "refused: 'localhost' -> not a public address"
    assert "127.0.0.1" not in client.get(f"/claims/{SLUG}").text
    assert server.hits == []


@pytest.mark.parametrize(("recorded", "anyone"), [(True, 200), (None, 403)])
def test_public_bodies_are_for_everyone_and_unrecorded_ones_are_not(
    client: TestClient,
    tokens: Tokens,
    server: EvidenceServer,
    clock: FakeClock,
    db: Database,
    recorded: bool | None,
    anyone: int,
) -> None:
    decided, _ = resolved_with_evidence(client, tokens, server, clock)
    with db.writing() as session:  # as a public fetch would record it, or a pre-0009 row
        session.execute(update(EvidenceSnapshot).values(public_address=recorded))
        session.commit()
    assert body(client, decided).status_code == anyone
    [listed] = [
        item
        for item in client.get(f"/api/v1/claims/{SLUG}/evidence").json()["items"]
        if item["id"] == decided["id"]
    ]
    assert listed["public_address"] is recorded and listed["withheld"] is (anyone != 200)
