"""The desk adds and edits claimants and links a free-text claimant to its namesake."""

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient

from tests.factories import make_free_text_claim
from tests.web.pages.conftest import csrf_of, sign_in
from web.db import Database


def test_editors_add_edit_and_link_claimants_from_the_desk(site: TestClient, db: Database) -> None:
    sign_in(site, "maria")
    make_free_text_claim(db, slug="old-call", claimant="Ana Lyst", closes_at=_later())
    page = site.get("/desk/claimants").text
    assert "“Ana Lyst”" in page and "add a claimant named exactly so" in page
    form = {
        "csrf_token": csrf_of(page),
        "slug": "ana",
        "name": "Ana Lyst",
        "kind": "person",
        "url": "",
        "description": "",
    }
    bad = site.post("/desk/claimants", data=form | {"kind": "company"})
    assert bad.status_code == 422 and "Kind:" in bad.text
    added = site.post("/desk/claimants", data=form)
    assert added.status_code == 200 and "<h1>Ana Lyst</h1>" in added.text
    taken = site.post("/desk/claimants", data=form)
    assert taken.status_code == 409 and "already exists" in taken.text
    edit = site.get("/desk/claimants/ana").text
    edited = site.post(
        "/desk/claimants/ana",
        data=form | {"csrf_token": csrf_of(edit), "description": "Writes a newsletter."},
    )
    assert edited.status_code == 200 and "Writes a newsletter." in edited.text
    page = site.get("/desk/claimants").text
    assert "Link to ana" in page
    linked = site.post(
        "/desk/claims/old-call/link",
        data={"csrf_token": csrf_of(page), "claimant": "ana", "stance": "denies"},
    )
    assert linked.status_code == 200 and 'href="/claimants/ana"' in linked.text
    assert "says it will not happen" in linked.text
    record = site.get("/api/v1/claimants/ana").json()
    assert [claim["claim"] for claim in record["claims"]] == ["old-call"]
    assert "None: every cited claimant is linked." in site.get("/desk/claimants").text


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(days=3)
