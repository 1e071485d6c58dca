"""Admins give accounts other roles, through the API and the command line."""

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import Tokens
from tests.factories import auth, make_claim
from web.cli import app
from web.settings import get_settings


def _role(client: TestClient, token: str, handle: str, role: object) -> object:
    response = client.put(
        f"/api/v1/accounts/{handle}/role", json={"role": role}, headers=auth(token)
    )
    return response.status_code, response.json()


def test_an_admin_promotes_and_demotes(client: TestClient, tokens: Tokens) -> None:
    new_claim = {"title": "t", "resolution_criteria": "c", "closes_at": "2030-01-01T00:00:00Z"}
    refused = client.post("/api/v1/claims", json=new_claim, headers=auth(tokens.alice))
    assert refused.status_code == 403
    assert _role(client, tokens.admin, "alice", "editor") == (
        200,
        {"handle": "alice", "role": "editor"},
    )
    # at once in this process, although alice's token was just looked up
    assert client.get("/api/v1/me", headers=auth(tokens.alice)).json()["role"] == "editor"
    make_claim(client, tokens.alice, slug="by-alice")
    assert _role(client, tokens.admin, "alice", "forecaster")[0] == 200
    again = client.post("/api/v1/claims", json=new_claim, headers=auth(tokens.alice))
    assert again.status_code == 403


def test_role_changes_are_refused_cleanly(client: TestClient, tokens: Tokens) -> None:
    assert _role(client, tokens.editor, "alice", "editor")[0] == 403
    assert _role(client, tokens.alice, "alice", "admin")[0] == 403
    assert client.put("/api/v1/accounts/alice/role", json={"role": "editor"}).status_code == 401
    assert _role(client, tokens.admin, "nobody", "editor")[0] == 404
    for bad in ("owner", "", None, 3):
        status, body = _role(client, tokens.admin, "alice", bad)
        assert status == 422 and "role" in str(body), bad
    assert _role(client, tokens.admin, "Not_A_Handle", "editor")[0] == 422
    # the last admin stays one; with a second admin, one can step down
    status, body = _role(client, tokens.admin, "ada", "editor")
    assert status == 409 and "last admin" in str(body)
    assert _role(client, tokens.admin, "bob", "admin")[0] == 200
    assert _role(client, tokens.admin, "ada", "forecaster")[0] == 200
    assert _role(client, tokens.bob, "bob", "editor")[0] == 409


def test_the_role_command(client: TestClient, tokens: Tokens, database_url: str) -> None:
    def run(*args: str) -> tuple[int, str]:
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(
                app, ["user", "role", *args], env={"FORECAST_LEDGER_DATABASE_URL": database_url}
            )
        finally:
            get_settings.cache_clear()
        return result.exit_code, result.output

    assert run("bob", "editor") == (0, "@bob is now editor\n")
    assert client.get("/api/v1/me", headers=auth(tokens.bob)).json()["role"] == "editor"
    code, output = run("bob", "owner")  # a usage error (tests/web/test_cli_errors.py)
    assert code == 2 and "owner" in output
    code, output = run("ada", "forecaster")
    assert code == 1 and "last admin" in output
    assert run("nobody", "editor")[0] == 1
