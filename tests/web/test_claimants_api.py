"""Claimants through the HTTP interface: adding and amending, sources that cite them, the
worked example's figures, the sorted list and `GET /claims?claimant=`."""

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from claims.clock import stamp
from forecasts.archive.verify import verify_database
from tests import claimant_example as example
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim, make_claimant
from web.db import Database

API = "/api/v1"


def _entries(db: Database, kind: str) -> list[dict[str, Any]]:
    with db.read_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT payload FROM ledger_entries WHERE kind = :k ORDER BY seq"), {"k": kind}
        )
        return [json.loads(payload) for (payload,) in rows]


def test_editors_add_and_amend_claimants_in_the_ledger(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    body = {"slug": "ana", "name": "Ana Lyst", "kind": "person", "url": "https://ana.example/"}
    assert client.post(f"{API}/claimants", json=body).status_code == 401
    assert client.post(f"{API}/claimants", json=body, headers=auth(tokens.alice)).status_code == 403
    created = client.post(f"{API}/claimants", json=body, headers=auth(tokens.editor))
    assert created.status_code == 201, created.text
    assert created.json()["claims"] == [] and created.json()["yield"] is None
    again = client.post(f"{API}/claimants", json=body, headers=auth(tokens.editor))
    assert again.status_code == 409
    (added,) = _entries(db, "claimant_added")
    assert added == {
        "claimant": "ana",
        "name": "Ana Lyst",
        "kind": "person",
        "url": "https://ana.example/",
        "description": "",
    }
    patch = {"description": "Writes a newsletter.", "kind": "publication"}
    amended = client.patch(f"{API}/claimants/ana", json=patch, headers=auth(tokens.editor))
    assert amended.status_code == 200 and amended.json()["kind"] == "publication"
    same = client.patch(f"{API}/claimants/ana", json=patch, headers=auth(tokens.editor))
    assert same.status_code == 200
    (entry,) = _entries(db, "claimant_amended")  # the no-op PATCH appended nothing
    assert entry["description"] == "Writes a newsletter." and entry["name"] == "Ana Lyst"
    missing = client.patch(f"{API}/claimants/nobody", json=patch, headers=auth(tokens.editor))
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "Bad Slug", "name": "x", "kind": "person"}, "slug"),
        ({"slug": "ok", "name": "", "kind": "person"}, "name"),
        ({"slug": "ok", "name": "x" * 301, "kind": "person"}, "name"),
        ({"slug": "ok", "name": "x", "kind": "company"}, "kind"),
        ({"slug": "ok", "name": "x", "kind": "person", "url": "ftp://x.example"}, "url"),
        ({"slug": "ok", "name": "x", "kind": "person", "description": "x" * 20_001}, "description"),
    ],
)
def test_a_bad_claimant_is_422_naming_the_field(
    client: TestClient, tokens: Tokens, body: dict[str, Any], field: str
) -> None:
    response = client.post(f"{API}/claimants", json=body, headers=auth(tokens.editor))
    assert response.status_code == 422 and field in str(response.json()["detail"][0]["loc"])


@pytest.mark.parametrize(
    ("patch", "field"),
    [({"slug": "other"}, "slug"), ({"name": None}, "name"), ({"kind": None}, "kind")],
)
def test_a_patch_cannot_move_the_slug_or_blank_a_name(
    client: TestClient, tokens: Tokens, patch: dict[str, Any], field: str
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    response = client.patch(f"{API}/claimants/ana", json=patch, headers=auth(tokens.editor))
    assert response.status_code == 422 and field in str(response.json()["detail"][0]["loc"])


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ({"claimant": "nobody", "stance": "asserts"}, "claimant"),
        ({"claimant": "ana"}, "stance"),
        ({"claimant": "ana", "stance": "maybe"}, "stance"),
        ({"claimant": "ana", "stance": "asserts", "option": "A"}, "option"),
        ({"claimant": "ana", "stance": "asserts", "stated_probability": 0.4}, "stated_probability"),
        ({"claimant": "ana", "stance": "denies", "stated_probability": 0.6}, "stated_probability"),
        (
            {"claimant": "ana", "stance": "asserts", "stated_probability": "0.7"},
            "stated_probability",
        ),
        ({"claimant": "ana", "stance": "asserts", "stated_probability": 1.5}, "stated_probability"),
        ({"stance": "asserts"}, "stance"),
    ],
)
def test_a_source_breaking_the_rules_is_422_naming_the_field(
    client: TestClient, tokens: Tokens, source: dict[str, Any], field: str
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    body = {
        "slug": "cited",
        "title": "A cited claim",
        "resolution_criteria": "Yes if so.",
        "closes_at": "2026-02-01T00:00:00Z",
        "source": source,
    }
    response = client.post(f"{API}/claims", json=body, headers=auth(tokens.editor))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:3] == ["body", "source", field]


def test_source_changes_are_recorded_and_fixed_after_the_close(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    make_claimant(client, tokens.editor, slug="bo")
    cited = {"claimant": "ana", "stance": "asserts", "quote": "It will."}
    make_claim(client, tokens.editor, slug="c", closes_at=T0 + timedelta(days=2), source=cited)
    url = f"{API}/claims/c"
    moved = {"claimant": "bo", "stance": "denies", "stated_probability": 0.1}
    assert client.patch(url, json={"source": moved}, headers=auth(tokens.editor)).status_code == 200
    assert _entries(db, "source_amended")[-1] == {"claim": "c", "source": moved}
    assert client.patch(url, json={"source": moved}, headers=auth(tokens.editor)).status_code == 200
    assert len(_entries(db, "source_amended")) == 1  # the same source again: nothing new
    clock.set(T0 + timedelta(days=3))
    again = client.patch(url, json={"source": cited}, headers=auth(tokens.editor))
    assert again.status_code == 409, again.text
    dropped = client.patch(url, json={"source": None}, headers=auth(tokens.editor))
    assert dropped.status_code == 409
    corrected = {**moved, "url": "https://example.org/said", "quote": "Fixed typo."}
    fixed = client.patch(url, json={"source": corrected}, headers=auth(tokens.editor))
    assert fixed.status_code == 200 and fixed.json()["source"]["quote"] == "Fixed typo."
    assert _entries(db, "source_amended")[-1]["source"]["url"] == "https://example.org/said"
    listed = client.get(f"{API}/claims", params={"claimant": "bo"}).json()["items"]
    assert [claim["slug"] for claim in listed] == ["c"]
    assert client.get(f"{API}/claims", params={"claimant": "ana"}).json()["items"] == []
    assert client.get(f"{API}/claims", params={"claimant": "nobody"}).status_code == 404


def test_the_worked_example_through_the_api(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    example.build(client, clock, tokens)
    body = client.get(f"{API}/claimants/{example.CLAIMANT}").json()
    for name, value in example.EXPECTED.items():
        assert body[name] == pytest.approx(value, abs=1e-9), name
    claims = {claim["claim"]: claim for claim in body["claims"]}
    assert set(claims) == set(example.EXPECTED_CLAIMS)
    for slug, (hit, consensus) in example.EXPECTED_CLAIMS.items():
        assert claims[slug]["hit"] is hit, slug
        assert claims[slug]["consensus"] == pytest.approx(consensus, abs=1e-9), slug
    assert claims["denied"]["crowd"] == pytest.approx(0.3)  # 1 - the crowd's 0.7 of yes
    assert claims["chosen"]["crowd"] == pytest.approx(0.2) and claims["chosen"]["option"] == "B"
    assert claims["voided"]["status"] == "annulled" and claims["pending"]["status"] == "open"
    assert claims["asserted"]["quote"] == "I say it asserts." and claims["asserted"]["url"]
    resolves = [claim["claim"] for claim in body["claims"]]
    assert resolves[0] == "pending"  # newest resolves_at first
    listed = client.get(f"{API}/claimants").json()
    assert listed["items"][0]["slug"] == example.CLAIMANT
    assert listed["items"][0]["yield"] == pytest.approx(35 / 18)
    assert "claims" not in listed["items"][0]
    with db.reading() as session:
        assert verify_database(session).problems == []


def test_the_list_sorts_descending_with_nulls_last_and_ties_by_slug(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    example.build(client, clock, tokens)
    for slug in ("zed", "bea", "amy"):
        make_claimant(client, tokens.editor, slug=slug)
    make_claim(
        client,
        tokens.editor,
        slug="bea-1",
        source={"claimant": "bea", "stance": "asserts"},
        opens_at=clock.now,
        closes_at=clock.now + timedelta(days=1),
    )
    clock.advance(days=2)
    example.resolve(client, tokens, "bea-1", "no")

    def slugs(**params: Any) -> list[str]:
        response = client.get(f"{API}/claimants", params=params)
        assert response.status_code == 200, response.text
        return [row["slug"] for row in response.json()["items"]]

    assert slugs() == ["analyst", "bea", "amy", "zed"]
    assert slugs(metric="hit_rate") == ["analyst", "bea", "amy", "zed"]  # 0.75, 0, null, null
    assert slugs(metric="yield") == ["analyst", "amy", "bea", "zed"]  # bea has no crowd: null
    assert slugs(min_claims=1) == ["analyst", "bea"]
    assert slugs(min_claims=2) == ["analyst"]
    first = client.get(f"{API}/claimants", params={"limit": 2}).json()
    rest = client.get(f"{API}/claimants", params={"limit": 2, "cursor": first["next_cursor"]})
    assert [row["slug"] for row in rest.json()["items"]] == ["amy", "zed"]
    assert rest.json()["next_cursor"] is None
    bad = client.get(f"{API}/claimants", params={"metric": "brier"})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["query", "metric"]


@pytest.mark.parametrize(
    ("kind", "source", "field"),
    [
        ({"kind": "multiple_choice", "options": ["A", "B"]}, {"stance": "asserts"}, "option"),
        (
            {"kind": "multiple_choice", "options": ["A", "B"]},
            {"stance": "asserts", "option": "Z"},
            "option",
        ),
        ({"kind": "numeric", "range_min": 0, "range_max": 10}, {"stance": "asserts"}, "stance"),
        (
            {"kind": "numeric", "range_min": 0, "range_max": 10},
            {"stated_probability": 0.5},
            "stated_probability",
        ),
    ],
)
def test_a_source_fits_the_claims_kind(
    client: TestClient,
    tokens: Tokens,
    kind: dict[str, Any],
    source: dict[str, Any],
    field: str,
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    body = {
        "slug": "kinded",
        "title": "A claim of another kind",
        "resolution_criteria": "As the criteria say.",
        "closes_at": "2026-02-01T00:00:00Z",
        "source": {"claimant": "ana", **source},
        **kind,
    }
    response = client.post(f"{API}/claims", json=body, headers=auth(tokens.editor))
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["loc"][:3] == ["body", "source", field]
    numeric = {**body, "source": {"claimant": "ana", "quote": "About 5."}}
    if kind["kind"] == "numeric":  # a numeric claim may name its claimant, no side
        assert (
            client.post(f"{API}/claims", json=numeric, headers=auth(tokens.editor)).status_code
            == 201
        )


def test_options_cannot_drop_the_option_the_source_cites(
    client: TestClient, tokens: Tokens
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    source = {"claimant": "ana", "stance": "asserts", "option": "B"}
    choice = {"kind": "multiple_choice", "options": ["A", "B"]}
    make_claim(client, tokens.editor, slug="mc", source=source, **choice)
    url, headers = f"{API}/claims/mc", auth(tokens.editor)
    dropped = client.patch(url, json={"options": ["A", "C"]}, headers=headers)
    assert dropped.status_code == 422, dropped.text
    assert dropped.json()["detail"][0]["loc"] == ["body", "source", "option"]
    kept = client.patch(url, json={"options": ["A", "B", "C"]}, headers=headers)
    assert kept.status_code == 200, kept.text


def test_a_numeric_or_date_claim_is_listed_with_its_outcome_but_never_counted(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    """They take no stance (SPEC §8): their outcome shows as the API shows it, no hit."""
    make_claimant(client, tokens.editor, slug="ana")
    window = {"opens_at": T0, "closes_at": T0 + timedelta(days=1)}
    cited = {"claimant": "ana", "quote": "About five."}
    number = {"kind": "numeric", "range_min": 0, "range_max": 10}
    make_claim(client, tokens.editor, slug="n", source=cited, **number, **window)
    when = {
        "kind": "date",
        "range_min": "2026-06-01T00:00:00Z",
        "range_max": "2027-06-01T00:00:00Z",
    }
    make_claim(client, tokens.editor, slug="d", source=cited, **when, **window)
    clock.advance(days=2)
    example.resolve(client, tokens, "n", 5.5)
    example.resolve(client, tokens, "d", "2026-09-01T00:00:00Z")
    body = client.get(f"{API}/claimants/ana").json()
    listed = {claim["claim"]: claim for claim in body["claims"]}
    assert listed["n"]["outcome"] == 5.5 and listed["d"]["outcome"] == "2026-09-01T00:00:00.000000Z"
    assert {claim["hit"] for claim in listed.values()} == {None}
    assert body["claims_resolved"] == 0 and body["hit_rate"] is None


def test_dropping_the_source_records_a_null_and_leaves_the_record(
    client: TestClient, tokens: Tokens, db: Database
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    cited = {"claimant": "ana", "stance": "asserts"}
    make_claim(client, tokens.editor, slug="c", closes_at=T0 + timedelta(days=2), source=cited)
    dropped = client.patch(f"{API}/claims/c", json={"source": None}, headers=auth(tokens.editor))
    assert dropped.status_code == 200 and dropped.json()["source"] is None
    assert _entries(db, "source_amended") == [{"claim": "c", "source": None}]
    assert client.get(f"{API}/claimants/ana").json()["claims"] == []


def test_an_import_into_a_resolved_claim_moves_the_consensus(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    """Imported forecasts count in the crowd (SPEC §8), from the import's transaction on."""
    make_claimant(client, tokens.editor, slug="ana")
    cited = {"claimant": "ana", "stance": "denies"}
    make_claim(
        client, tokens.editor, slug="c", opens_at=T0, closes_at=T0 + timedelta(days=4), source=cited
    )
    clock.set(T0 + timedelta(days=5))
    example.resolve(client, tokens, "c", "no")
    [before] = client.get(f"{API}/claimants/ana").json()["claims"]
    assert before["consensus"] is None and before["hit"] is True
    row = {
        "claim": "c",
        "handle": "bob",
        "probability": 0.2,
        "created_at": stamp(T0 + timedelta(days=2)),
    }
    imported = client.post(f"{API}/import/forecasts", json=[row], headers=auth(tokens.admin))
    assert imported.status_code == 201, imported.text
    body = client.get(f"{API}/claimants/ana").json()
    assert body["claims"][0]["consensus"] == pytest.approx(0.8)  # 1 - the crowd's 0.2 of yes
    assert body["mean_consensus"] == pytest.approx(0.8) and body["yield"] == pytest.approx(1.25)


def test_a_cited_option_is_matched_after_nfc_like_every_label(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    choice = {"kind": "multiple_choice", "options": ["Å", "B"]}
    cited = {"claimant": "ana", "stance": "asserts", "option": "A\u030a"}  # Å decomposed
    window = {"opens_at": T0, "closes_at": T0 + timedelta(days=1)}
    made = make_claim(client, tokens.editor, slug="mc", source=cited, **choice, **window)
    assert made["source"]["option"] == "Å"
    clock.advance(days=2)
    example.resolve(client, tokens, "mc", "A\u030a")
    [listed] = client.get(f"{API}/claimants/ana").json()["claims"]
    assert listed["hit"] is True and listed["outcome"] == "Å"


def test_the_cited_option_is_a_label_after_nfc_as_options_are(
    client: TestClient, tokens: Tokens, clock: FakeClock
) -> None:
    """Options, forecasts and outcomes compare labels after NFC; the source's option did
    not, so "A" + combining ring was refused for the option "Å" (and after the close, a
    PATCH resending it as typed would have been a change)."""
    make_claimant(client, tokens.editor, slug="ana")
    source = {"claimant": "ana", "stance": "asserts", "option": "A\u030a"}
    choice = {"kind": "multiple_choice", "options": ["\u00c5", "B"]}
    made = make_claim(
        client, tokens.editor, slug="mc", closes_at=T0 + timedelta(days=1), source=source, **choice
    )
    assert made["source"]["option"] == "\u00c5"
    clock.advance(days=2)
    again = {"source": {**source, "quote": "Said on the radio."}}
    patched = client.patch(f"{API}/claims/mc", json=again, headers=auth(tokens.editor))
    assert patched.status_code == 200, patched.text
    assert patched.json()["source"]["option"] == "\u00c5"
