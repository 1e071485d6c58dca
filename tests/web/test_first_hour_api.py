"""What a newcomer's first hour with the API and the command tripped over (issue 13, part 6)."""

import pytest
from fastapi.testclient import TestClient

from claims.errors import Invalid
from forecasts.accounts.handles import is_reserved
from forecasts.accounts.service import create_account
from forecasts.archive.verify import verify_database
from tests.conftest import Tokens
from tests.factories import T0, auth, claim_body, make_claim, run_cli
from web.db import Database


def test_a_bad_cursor_is_reported_in_the_query(client: TestClient) -> None:
    response = client.get("/api/v1/claims", params={"cursor": "zzz"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "cursor"]


@pytest.mark.parametrize("field", ["title", "resolution_criteria"])
def test_blank_titles_and_criteria_are_refused(
    field: str, client: TestClient, tokens: Tokens
) -> None:
    for blank in (" ", "\n\t  "):
        body = claim_body(**{field: blank})
        response = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]
    make_claim(client, tokens.editor, slug="kept")
    patch = client.patch("/api/v1/claims/kept", json={field: "  "}, headers=auth(tokens.editor))
    assert patch.status_code == 422 and patch.json()["detail"][0]["loc"] == ["body", field]


def test_a_new_token_comes_with_the_id_that_revokes_it(client: TestClient, tokens: Tokens) -> None:
    made = client.post("/api/v1/me/tokens", json={"label": "bot"}, headers=auth(tokens.alice))
    assert made.status_code == 201
    new = made.json()
    listed = client.get("/api/v1/me", headers=auth(tokens.alice)).json()["tokens"]
    assert [t["id"] for t in listed if t["label"] == "bot"] == [new["id"]]
    assert client.get("/api/v1/me", headers=auth(new["token"])).status_code == 200
    revoked = client.delete(f"/api/v1/me/tokens/{new['id']}", headers=auth(tokens.alice))
    assert revoked.status_code == 204
    assert client.get("/api/v1/me", headers=auth(new["token"])).status_code == 401


def test_verify_says_an_unknown_head_is_not_in_the_chain(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    make_claim(client, tokens.editor)
    head = client.get("/api/v1/ledger/head").json()
    with db.reading() as session:
        assert verify_database(session, expect_head=head["hash"]).problems == []
        problems = verify_database(session, expect_head="f" * 64).problems
    # it names no entry: the seq after the last does not exist (tests/e2e runs the command)
    missing = f"the expected head {'f' * 64} is not in the chain (it ends at seq 1)"
    assert [(p.seq, str(p)) for p in problems] == [(None, missing)]


LOOK_ALIKES = ["crowd", "the-crowd", "thecrowd", "crowds", "cr0wd", "c-r-o-w-d", "market"]


@pytest.mark.parametrize("handle", LOOK_ALIKES)
def test_look_alikes_of_the_crowd_are_reserved(
    handle: str, db: Database, database_url: str
) -> None:
    assert is_reserved(handle) and is_reserved(handle, staff=True)
    with db.writing() as session, pytest.raises(Invalid, match="reserved"):
        create_account(session, handle, role="forecaster", now=T0)
    code, output = run_cli(database_url, "user", "add", handle)
    assert code == 2 and "reserved" in output and "Traceback" not in output


@pytest.mark.parametrize("handle", ["admin", "editor", "3ditor", "the-staff"])
def test_staff_look_alikes_are_reserved_on_sign_up_only(
    handle: str, db: Database, database_url: str
) -> None:
    assert is_reserved(handle, staff=True) and not is_reserved(handle)
    with db.writing() as session, pytest.raises(Invalid, match="reserved"):
        create_account(session, handle, role="forecaster", now=T0, self_chosen=True)
    code, output = run_cli(database_url, "user", "add", handle, "--role", "admin")
    assert code == 0, output  # an operator may name staff accounts so


@pytest.mark.parametrize("handle", ["ana", "crowdsource-fan", "rooted", "the-marketeer", "edith"])
def test_ordinary_handles_are_not_reserved(handle: str) -> None:
    assert not is_reserved(handle, staff=True)
