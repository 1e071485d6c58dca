"""The index page reads its claims in a few queries for the whole page, not a few per claim."""

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from tests.factories import make_domain_claim, make_domain_forecaster
from web.db import Database


def _statements_for_index(client: TestClient) -> int:
    """How many SQL statements the app sends to answer `GET /`."""
    sent: list[str] = []
    engine = client.app.state.ctx.db.read_engine  # type: ignore[attr-defined]

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get("/")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text[:500]
    return len(sent)


def _add_claims(db: Database, first: int, last: int) -> None:
    for n in range(first, last):
        slug = f"claim-{n}"
        make_domain_claim(db, slug=slug)
        make_domain_forecaster(db, slug=slug, handle=f"forecaster{n}")


def test_index_statements_do_not_grow_with_the_claims(client: TestClient, db: Database) -> None:
    _add_claims(db, 0, 3)
    with_three = _statements_for_index(client)
    assert 'href="/claims/claim-2"' in client.get("/").text
    _add_claims(db, 3, 10)
    with_ten = _statements_for_index(client)
    assert 'href="/claims/claim-9"' in client.get("/").text
    assert with_ten == with_three, (with_three, with_ten)
