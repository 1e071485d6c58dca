"""Schemathesis against /openapi.json: generated requests, valid and not, for every operation.

Each operation gets a bounded number of schema-valid and schema-violating requests, sent with a
token of the role its route needs (the table of tests/web/test_authorization.py). Whatever
comes back must not be a 5xx, must be a status the operation declares, and must match the
declared response schema and content type; schema-violating requests must be refused.
"""

import base64
import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlmodel import Session

from forecasts.accounts.service import TOKEN_PREFIX, create_account, hash_token
from forecasts.ledger.models import Account, ApiToken
from tests.conftest import fresh_database
from tests.factories import T0, FakeClock, auth, make_claim, make_claimant
from tests.web.kinds import KIND_FIELDS, forecast_body, make_kind_claim, post_forecast
from tests.web.test_authorization import API, PUBLIC
from web.app import create_app
from web.db import Database
from web.settings import Settings

# per operation and per mode: about 600 requests in all, a few seconds; more (and a fresh random
# sequence) with FUZZ_EXAMPLES=500 when hunting
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
OPEN, RESOLVED = "gen-video-out-of-top-five", "reasoning-stack-consolidates"
# a claim of each other kind (SPEC §7) and a claimant (§8), reached by the same `{slug}`
KIND_SLUGS = [f"a-{kind.replace('_', '-')}-claim" for kind in KIND_FIELDS]
KNOWN = {
    "slug": [OPEN, RESOLVED, *KIND_SLUGS, "analyst"],
    "handle": ["fay", "ed"],
    "token_id": [1],
    "snapshot_id": [1],
    "webhook_id": [1],
}


@dataclass
class Fuzz:
    client: TestClient
    schema: Any
    tokens: dict[str, str]


def _token(session: Session, account: Account, clock: FakeClock) -> str:
    """A token with an id no generated `DELETE /me/tokens/{token_id}` will hit, so the fuzzing
    cannot revoke the tokens it works with."""
    assert account.id is not None
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        id=2**30 + account.id,
        account_id=account.id,
        token_hash=hash_token(token),
        created_at=clock.now,
    )
    session.add(row)
    session.commit()
    return token


@pytest.fixture(scope="module")
def fuzz(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[Fuzz]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    with fresh_database(directory, migrated_template) as url:
        db = Database(url)
        clock = FakeClock()
        tokens = {}
        with db.writing() as session:
            for handle, role in (("fay", "forecaster"), ("ed", "editor"), ("ada", "admin")):
                account = create_account(session, handle, role=role, now=clock.now)
                tokens[role] = _token(session, account, clock)
        settings_ = Settings(
            database_url=url, rate_limit=0, secret_key="fuzz", fetch_allow="127.0.0.1/32"
        )
        app = create_app(settings_, clock=clock, migrate=False)
        with TestClient(app) as client:
            hook = {"url": "http://127.0.0.1:9/hook", "events": ["claim.published"]}
            client.post("/api/v1/me/webhooks", json=hook, headers=auth(tokens["forecaster"]))
            make_claimant(client, tokens["editor"], slug="analyst")
            for kind in KIND_FIELDS:
                make_kind_claim(client, tokens["editor"], kind)
                slug = f"a-{kind.replace('_', '-')}-claim"
                post_forecast(client, tokens["forecaster"], slug, forecast_body(kind))
            make_claim(client, tokens["editor"], slug=OPEN)
            make_claim(client, tokens["editor"], slug=RESOLVED, closes_at=T0 + timedelta(days=1))
            for slug in (OPEN, RESOLVED):
                client.post(
                    f"/api/v1/claims/{slug}/forecasts",
                    json={"probability": 0.7, "rationale": "fuzz"},
                    headers=auth(tokens["forecaster"]),
                )
            clock.advance(days=2)
            resolved = client.post(
                f"/api/v1/claims/{RESOLVED}/resolution",
                json={"outcome": "yes"},
                headers=auth(tokens["editor"]),
            )
            assert resolved.status_code == 200, resolved.text
            schema = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
            yield Fuzz(client, schema, tokens)
        db.dispose()


def _operations() -> list[tuple[str, str]]:
    return sorted(key for key in API if key[1].startswith("/api/v1"))


def _send(fuzz: Fuzz, case: Any, role: str) -> httpx.Response:
    kwargs = case.as_transport_kwargs(base_url="http://testserver")
    kwargs.pop("cookies", None)
    headers = {k: v for k, v in kwargs.pop("headers", {}).items() if k.lower() != "authorization"}
    if role != PUBLIC and not _negates_token(case):
        headers.update(auth(fuzz.tokens[role]))
    if isinstance(kwargs.get("data"), bytes | str):
        kwargs["content"] = kwargs.pop("data")
    return fuzz.client.request(headers=headers, follow_redirects=False, **kwargs)


def _negates_token(case: Any) -> bool:
    """Whether the case is about a missing or broken Authorization header (then it goes as is)."""
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    return str(getattr(data, "parameter", "") or "").lower() == "authorization"


@pytest.mark.parametrize(("method", "path"), _operations())
@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_operation(fuzz: Fuzz, method: str, path: str, mode: GenerationMode) -> None:
    operation = fuzz.schema[path][method]
    role = API[(method, path)]
    # a DELETE of a seeded row would leave the operations after it nothing to work on
    known = {
        name: st.sampled_from(values)
        for name, values in KNOWN.items()
        if f"{{{name}}}" in path and method != "DELETE"
    }
    strategy = operation.as_strategy(generation_mode=mode)
    if known:
        fixed = st.fixed_dictionaries(known).flatmap(
            lambda values: operation.as_strategy(generation_mode=mode, path_parameters=values)
        )
        strategy = st.one_of(strategy, fixed)

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize="FUZZ_EXAMPLES" not in os.environ,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def check(case: Any) -> None:
        response = _send(fuzz, case, role)
        checks = list(CONFORMANCE)
        if mode is GenerationMode.NEGATIVE and response.status_code != 413:
            checks.append(negative_data_rejection)
        case.validate_response(response, checks=checks)

    try:
        check()
    except Unsatisfiable:
        # nothing about this operation can be made invalid (no parameters, no body)
        assert mode is GenerationMode.NEGATIVE


# What the fuzzing found, pinned down


def test_null_for_a_required_field_is_a_422_not_a_500(fuzz: Fuzz) -> None:
    for field in ("title", "description", "resolution_criteria", "fine_print", "tags", "rules"):
        response = fuzz.client.patch(
            f"/api/v1/claims/{OPEN}", json={field: None}, headers=auth(fuzz.tokens["editor"])
        )
        assert response.status_code == 422, response.text
        assert response.json()["detail"][0]["loc"] == ["body", field]


def test_a_body_that_is_not_utf8_is_a_422(fuzz: Fuzz) -> None:
    response = fuzz.client.post(
        f"/api/v1/claims/{OPEN}/forecasts",
        content=b'{"probability": 0.5, "rationale": "\xff\xfe"}',
        headers={**auth(fuzz.tokens["forecaster"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


def test_the_description_says_which_tokens_are_optional_and_declares_413(fuzz: Fuzz) -> None:
    paths = fuzz.client.get("/openapi.json").json()["paths"]
    assert paths["/api/v1/claims"]["get"]["security"] == [{}, {"HTTPBearer": []}]
    assert paths["/api/v1/claims"]["post"]["security"] == [{"HTTPBearer": []}]
    assert "413" in paths["/api/v1/claims"]["post"]["responses"]
    assert "413" not in paths["/api/v1/claims"]["get"]["responses"]


@pytest.mark.parametrize("huge", [2**31, 2**70])  # beyond PostgreSQL's and SQLite's integers
def test_numbers_too_large_for_the_database_are_a_422(fuzz: Fuzz, huge: int) -> None:
    cursor = base64.urlsafe_b64encode(str(huge).encode()).decode()
    negative = base64.urlsafe_b64encode(b"-3").decode()
    client, headers = fuzz.client, auth(fuzz.tokens["forecaster"])
    for url in (
        f"/api/v1/ledger?after={huge}",
        f"/api/v1/ledger?cursor={cursor}",
        f"/api/v1/leaderboard?cursor={negative}",
        f"/api/v1/claims?cursor={cursor}",
        f"/api/v1/claims/{OPEN}/evidence/{huge}/body",
    ):
        assert client.get(url, headers=headers).status_code == 422, url
    assert client.delete(f"/api/v1/me/tokens/{huge}", headers=headers).status_code == 422
