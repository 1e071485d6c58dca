"""Keyword-only builders for tests: accounts with tokens, claims, a controllable clock."""

import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select
from typer.testing import CliRunner

from claims.clock import stamp
from forecasts.accounts.service import create_account, issue_token
from forecasts.notify.email.addresses import set_address
from forecasts.notify.email.models import EmailMessage
from web.cli import app
from web.db import Database
from web.settings import get_settings

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class FakeClock:
    """A clock the test moves by hand; never sleeps."""

    now: datetime = field(default_factory=lambda: T0)
    step: timedelta = timedelta(microseconds=1)

    def __call__(self) -> datetime:
        # each reading moves a microsecond, so stamps stay distinct and ordered
        self.now += self.step
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment


def make_account(db: Database, *, handle: str, role: str = "forecaster", now: datetime = T0) -> str:
    """Create an account and return a bearer token for it."""
    with db.writing() as session:
        account = create_account(session, handle, role=role, now=now)
        return issue_token(session, account, now=now)


def queue_confirmation(db: Database, *, handle: str, now: datetime) -> int:
    """An account with an unconfirmed address, its confirmation email due; its id."""
    with db.writing() as session:
        account = create_account(session, handle, role="forecaster", now=now)
        assert account.id is not None
        set_address(session, account.id, f"{handle}@example.org", now=now)
        return account.id


def the_email(db: Database) -> EmailMessage:
    """The one email queued (a test that queued one)."""
    with db.reading() as session:
        return session.exec(select(EmailMessage)).one()


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def claim_body(
    *,
    slug: str = "gen-video-out-of-top-five",
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    resolves_at: datetime | None = None,
    **extra: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "slug": slug,
        "title": "No standalone generative-video product in the top five by revenue",
        "resolution_criteria": "Resolves yes if no standalone gen-video app is in the top five.",
        "closes_at": stamp(closes_at or T0 + timedelta(days=30)),
        "tags": ["video"],
    }
    if opens_at is not None:
        body["opens_at"] = stamp(opens_at)
    if resolves_at is not None:
        body["resolves_at"] = stamp(resolves_at)
    body.update(extra)
    return body


def make_claim(client: TestClient, editor_token: str, **kwargs: Any) -> dict[str, Any]:
    response = client.post("/api/v1/claims", json=claim_body(**kwargs), headers=auth(editor_token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def make_domain_claim(
    db: Database,
    *,
    slug: str,
    now: datetime = T0,
    closes_at: datetime | None = None,
    resolves_at: datetime | None = None,
    rules: list[dict[str, Any]] | None = None,
) -> int:
    """Publish a claim straight through the domain (no HTTP); returns its id."""
    from claims.lifecycle import create_claim
    from claims.schemas import ClaimCreate
    from forecasts.notify.reports import record

    body = claim_body(slug=slug, closes_at=closes_at, resolves_at=resolves_at, rules=rules or [])
    with db.writing() as session:
        claim = create_claim(
            session, ClaimCreate.model_validate(body), editor_id=None, now=now, record=record
        )
        assert claim.id is not None
        return claim.id


def make_domain_forecaster(
    db: Database, *, slug: str, handle: str, probability: float = 0.5, at: datetime = T0
) -> int:
    """An account with a standing forecast on the open claim `slug` (no HTTP); its id."""
    from forecasts.accounts.service import get_account
    from forecasts.submit.service import Accepted, SubmitRequest, append_batch
    from web.api.views import forecast_answer

    make_account(db, handle=handle, now=at)
    with db.reading() as session:
        account_id = get_account(session, handle).id
    assert account_id is not None
    request = SubmitRequest(account_id, handle, slug, probability)
    with db.write_engine.begin() as conn:
        [outcome] = append_batch(
            conn, [request], lambda: at + timedelta(seconds=1), answer=forecast_answer
        )
    assert isinstance(outcome, Accepted), outcome
    return account_id


def rewrite_behind_the_app(database_url: str, table: str, statement: str) -> None:
    """Run an UPDATE or DELETE on an append-only table, the way an intruder with database
    access would: switch its guard triggers off first."""
    from sqlalchemy import create_engine

    engine = create_engine(database_url)
    try:
        with engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_update")
                conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_delete")
            else:
                conn.exec_driver_sql(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()


def make_claimant(
    client: TestClient, editor_token: str, *, slug: str = "analyst", **fields: Any
) -> dict[str, Any]:
    """A claimant through the API (a person named after its slug unless told otherwise)."""
    body = {"slug": slug, "name": slug.replace("-", " ").title(), "kind": "person", **fields}
    response = client.post("/api/v1/claimants", json=body, headers=auth(editor_token))
    assert response.status_code == 201, response.text
    result: dict[str, Any] = response.json()
    return result


def make_free_text_claim(
    db: Database, *, slug: str, claimant: str, now: datetime = T0, closes_at: datetime
) -> None:
    """A claim as published before claimants existed: `source.claimant` free text, in the
    ledger too (today's API refuses a claimant that is not a claimant's slug)."""
    from claims.kinds import EntryKind
    from claims.lifecycle import public_record
    from claims.models import Claim
    from forecasts.ledger.chain import record

    body = claim_body(slug=slug, closes_at=closes_at)
    with db.writing() as session:
        claim = Claim(
            slug=slug,
            title=body["title"],
            resolution_criteria=body["resolution_criteria"],
            source={"claimant": claimant, "url": "https://example.org/old"},
            opens_at=now,
            closes_at=closes_at,
            resolves_at=closes_at,
            created_at=now,
            updated_at=now,
        )
        session.add(claim)
        session.flush()
        entry = public_record(claim, [])
        claim.published_seq = record(session, EntryKind.CLAIM_PUBLISHED, now, entry, claim.id)
        session.add(claim)
        session.commit()


def run_cli(database_url: str, *args: str) -> tuple[int, str]:
    """`forecast-ledger ARGS` on `database_url`, in this process: (exit status, output)."""
    get_settings.cache_clear()  # the command reads its settings from the environment given
    try:
        result = CliRunner().invoke(
            app, list(args), env={"FORECAST_LEDGER_DATABASE_URL": database_url}
        )
    finally:
        get_settings.cache_clear()
    return result.exit_code, result.output


def openssl() -> str:
    """The openssl command; without it the TLS tests skip, except in CI (CI=true), where it
    is a failure, as a missing browser is (tests/browser/conftest.py)."""
    found = shutil.which("openssl")
    if found is not None:
        return found
    message = "openssl is missing: apt-get install -y openssl"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
