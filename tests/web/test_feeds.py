"""The Atom feeds of SPEC §9: valid Atom 1.0, stable ids, conditional GET, nothing hidden."""

import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import feedparser
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from forecasts.archive.restore import restore_ledger
from tests.conftest import Tokens, fresh_database
from tests.factories import T0, FakeClock, make_claim, make_claimant
from tests.forecasts.archive.test_restore import _empty_dir, _export, _populate
from web.app import create_app
from web.db import Database
from web.settings import Settings

SCHEMA = etree.RelaxNG(etree.parse(Path(__file__).parent.parent / "data" / "atom-rfc4287.rng"))
NS = {"a": "http://www.w3.org/2005/Atom"}
FEEDS = (
    "/feeds/claims.atom",
    "/feeds/claims.atom?tag=retitled",
    "/feeds/resolutions.atom",
    "/claims/stays-open/feed.atom",
    "/claims/resolved-then-re-resolved/feed.atom",
    "/claimants/pundit/feed.atom",
)


def _entry_id(entry_hash: str) -> str:
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'forecast-ledger:' + entry_hash)}"


def _ledger(client: TestClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = client.get("/api/v1/ledger?limit=500").json()["items"]
    return items


def _valid(body: bytes) -> Any:
    """The document, after checking it with feedparser and against RFC 4287's schema (and the
    schema's two Schematron rules, which RELAX NG leaves out)."""
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    root = etree.fromstring(body)
    assert SCHEMA.validate(root), SCHEMA.error_log
    assert root.xpath("a:author", namespaces=NS) or not root.xpath(
        "a:entry[not(a:author)]", namespaces=NS
    )
    for entry in root.xpath("a:entry", namespaces=NS):
        assert entry.xpath("a:link[@rel='alternate'] or a:content", namespaces=NS)
    return parsed


@pytest.fixture
def populated(client: TestClient, clock: FakeClock, tokens: Tokens, db: Database) -> TestClient:
    _populate(client, clock, tokens, db)
    return client


def test_every_feed_is_valid_atom(populated: TestClient) -> None:
    for path in FEEDS:
        response = populated.get(path)
        assert response.status_code == 200, path
        assert response.headers["content-type"] == "application/atom+xml; charset=utf-8"
        parsed = _valid(response.content)
        assert parsed.entries, path
        for entry in parsed.entries:
            assert entry.published == entry.updated
            assert entry.summary and entry.title
            assert entry.link.endswith("/claims/" + entry.link.rsplit("/", 1)[1])


def test_entries_are_ledger_entries_with_stable_ids(populated: TestClient) -> None:
    by_id = {_entry_id(e["hash"]): e for e in _ledger(populated)}
    published = feedparser.parse(populated.get("/feeds/claims.atom").content).entries
    assert {by_id[e.id]["kind"] for e in published} == {"claim_published"}
    assert {by_id[e.id]["payload"]["claim"] for e in published} == {
        "stays-open",
        "resolved-then-re-resolved",
        "annulled-one",
        "closed-early",
        "history",
        "from-before",
    }
    settled = feedparser.parse(populated.get("/feeds/resolutions.atom").content).entries
    kinds = [by_id[e.id]["kind"] for e in settled]
    assert sorted(kinds) == sorted(["resolution_finalised"] * 3 + ["re_resolved", "annulled"]), (
        kinds
    )
    assert [by_id[e.id]["seq"] for e in settled] == sorted(
        (by_id[e.id]["seq"] for e in settled), reverse=True
    )  # newest first
    re_resolved = next(e for e in settled if by_id[e.id]["kind"] == "re_resolved")
    assert "no" in re_resolved.title and "misread the chart" in re_resolved.summary


def test_tags_filter_and_become_categories(populated: TestClient) -> None:
    entries = feedparser.parse(populated.get("/feeds/claims.atom?tag=retitled").content).entries
    assert [e.title for e in entries] == ["New claim: Stays open, retitled"]
    assert [t.term for t in entries[0].tags] == ["retitled"]
    assert feedparser.parse(populated.get("/feeds/claims.atom?tag=nothing").content).entries == []


def test_a_claim_feed_has_no_forecasts_and_a_draft_none_at_all(populated: TestClient) -> None:
    ledger = _ledger(populated)
    body = populated.get("/claims/resolved-then-re-resolved/feed.atom").content
    shown = {x.id for x in feedparser.parse(body).entries}
    entries = [e for e in ledger if _entry_id(e["hash"]) in shown]
    assert len(entries) == len(shown)
    assert {e["kind"] for e in entries} == {
        "claim_published",
        "claim_closed",
        "resolution_finalised",
        "re_resolved",
        "source_amended",
    }
    assert {e["claim_id"] if "claim_id" in e else e["payload"]["claim"] for e in entries} == {
        "resolved-then-re-resolved"
    }
    for path in FEEDS:
        text = populated.get(path).text
        assert "because" not in text and "alice" not in text and "bob" not in text
        assert "a-draft" not in text
    assert populated.get("/claims/a-draft/feed.atom").status_code == 404
    assert populated.get("/claims/no-such-claim/feed.atom").status_code == 404


def test_at_most_the_newest_fifty(client: TestClient, tokens: Tokens) -> None:
    for n in range(52):
        make_claim(client, tokens.editor, slug=f"claim-{n}")
    entries = feedparser.parse(client.get("/feeds/claims.atom").content).entries
    assert len(entries) == 50
    assert entries[0].link.endswith("/claims/claim-51")
    assert entries[-1].link.endswith("/claims/claim-2")


def test_links_use_the_public_url(settings: Settings, clock: FakeClock, tokens: Tokens) -> None:
    public = settings.model_copy(update={"public_url": "https://ledger.example"})
    app = create_app(public, clock=clock, migrate=False)
    with TestClient(app, base_url="https://ledger.example") as site:
        make_claim(site, tokens.editor, slug="a-claim", title="Less <b> & more ]]>")
        response = site.get("/feeds/claims.atom")
    parsed = _valid(response.content)
    assert parsed.entries[0].link == "https://ledger.example/claims/a-claim"
    # escaped by the serializer, read back as written
    assert parsed.entries[0].title == "New claim: Less <b> & more ]]>"
    assert parsed.feed.links[0].href == "https://ledger.example/feeds/claims.atom"


def test_conditional_get(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    make_claim(client, tokens.editor, slug="first")
    first = client.get("/feeds/claims.atom")
    etag, modified = first.headers["etag"], first.headers["last-modified"]
    again = client.get("/feeds/claims.atom", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag
    since = client.get("/feeds/claims.atom", headers={"If-Modified-Since": modified})
    assert since.status_code == 304
    other = client.get("/feeds/claims.atom", headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200
    clock.advance(minutes=5)
    make_claim(client, tokens.editor, slug="second")
    changed = client.get("/feeds/claims.atom", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    later = client.get("/feeds/claims.atom", headers={"If-Modified-Since": modified})
    assert later.status_code == 200
    assert later.headers["last-modified"] != modified


def test_ids_survive_export_and_restore(
    populated: TestClient,
    db: Database,
    settings: Settings,
    tmp_path: Path,
    migrated_template: str,
) -> None:
    before = {path: populated.get(path).content for path in FEEDS}
    exported = _export(db)
    with fresh_database(_empty_dir(tmp_path), migrated_template) as url:
        fresh = Database(url)
        try:
            with fresh.writing() as session:
                restore_ledger(session, exported, now=T0 + timedelta(days=20))
        finally:
            fresh.dispose()
        restored = settings.model_copy(update={"database_url": url})
        with TestClient(create_app(restored, migrate=False)) as other:
            for path, body in before.items():
                old = [(e.id, e.updated) for e in feedparser.parse(body).entries]
                new = [(e.id, e.updated) for e in feedparser.parse(other.get(path).content).entries]
                assert new == old, path


def test_a_claimant_feed_has_the_public_entries_of_its_claims(populated: TestClient) -> None:
    by_id = {_entry_id(e["hash"]): e for e in _ledger(populated)}
    cited = {
        c["slug"]
        for c in populated.get("/api/v1/claims?limit=500").json()["items"]
        if (c.get("source") or {}).get("claimant") == "pundit"
    }
    assert cited
    entries = feedparser.parse(populated.get("/claimants/pundit/feed.atom").content).entries
    assert {e.link.rsplit("/", 1)[1] for e in entries} == cited
    assert not {by_id[e.id]["kind"] for e in entries} & {
        "forecast_submitted",
        "forecast_withdrawn",
        "forecast_imported",
    }
    assert populated.get("/claimants/nobody/feed.atom").status_code == 404


def test_characters_xml_cannot_hold_leave_every_feed_readable(
    client: TestClient, tokens: Tokens
) -> None:
    """A title with a C0 control or U+FFFE is kept as typed, but no feed may carry it: one
    such claim made all three feeds showing it unparseable."""
    make_claimant(client, tokens.editor, slug="odd")
    source = {"claimant": "odd", "stance": "asserts"}
    make_claim(client, tokens.editor, slug="odd-title", title="Bell\x07 and \ufffe", source=source)
    for path in ("/feeds/claims.atom", "/claims/odd-title/feed.atom", "/claimants/odd/feed.atom"):
        feed = _valid(client.get(path).content)
        assert "Bell\ufffd and \ufffd" in feed.entries[0].title, path
