"""Atom 1.0 documents (RFC 4287) for the feeds of SPEC §9, and their conditional GET.

Built with xml.etree, never from string templates, so every text is escaped by the
serializer. The ETag is a digest of the document; Last-Modified is its newest entry.
"""

import hashlib
import re
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime

from fastapi import Request, Response

from claims.clock import as_utc, stamp
from forecasts.notify.feeds import FeedEntry, entry_uuid

ATOM_NS = "http://www.w3.org/2005/Atom"
MEDIA_TYPE = "application/atom+xml; charset=utf-8"
# an empty feed still needs an `updated`: the epoch, so that it never looks newer than it is
EMPTY_UPDATED = datetime(1970, 1, 1, tzinfo=UTC)
ET.register_namespace("", ATOM_NS)


@dataclass(frozen=True)
class FeedMeta:
    """What names a feed: its path (also its identity), title and the page it stands for."""

    path: str
    title: str
    page: str


# What XML 1.0 cannot hold even escaped (C0 controls but tab, LF and CR; U+FFFE, U+FFFF).
# Titles and names may contain them; one of them made every feed showing it unreadable.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def _xml_text(text: str) -> str:
    return _NOT_XML.sub("\ufffd", text)


def _el(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
    clean = {key: _xml_text(value) for key, value in attrs.items()}
    element = ET.SubElement(parent, f"{{{ATOM_NS}}}{name}", clean)
    element.text = None if text is None else _xml_text(text)
    return element


def feed_uuid(path: str) -> str:
    """A feed's own id, stable like its entries': from its path and query."""
    return f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, 'forecast-ledger:feed:' + path)}"


def atom_document(
    meta: FeedMeta,
    entries: Sequence[FeedEntry],
    *,
    base_url: str,
    words: Callable[[FeedEntry], tuple[str, str]],
) -> bytes:
    """The feed as UTF-8 XML; `words` gives each entry's title and summary."""
    feed = ET.Element(f"{{{ATOM_NS}}}feed")
    _el(feed, "id", feed_uuid(meta.path))
    _el(feed, "title", meta.title)
    _el(feed, "updated", stamp(last_modified(entries)))
    _el(feed, "link", rel="self", href=base_url + meta.path, type="application/atom+xml")
    _el(feed, "link", rel="alternate", href=base_url + meta.page, type="text/html")
    author = _el(feed, "author")
    _el(author, "name", "Forecast Ledger")
    for item in entries:
        title, summary = words(item)
        entry = _el(feed, "entry")
        _el(entry, "id", entry_uuid(item.hash))
        _el(entry, "title", title, type="text")
        _el(entry, "link", rel="alternate", href=f"{base_url}/claims/{item.slug}", type="text/html")
        _el(entry, "published", stamp(item.at))
        _el(entry, "updated", stamp(item.at))  # a ledger entry never changes
        for tag in item.tags:
            _el(entry, "category", term=tag)
        _el(entry, "summary", summary, type="text")
    document: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return document


def last_modified(entries: Sequence[FeedEntry]) -> datetime:
    return max((as_utc(e.at) for e in entries), default=EMPTY_UPDATED)


def atom_response(request: Request, body: bytes, modified: datetime) -> Response:
    """200 with the document, or 304 when the client's copy is current (RFC 9110 §13)."""
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    headers = {"ETag": etag, "Last-Modified": format_datetime(modified, usegmt=True)}
    if _not_modified(request, etag, modified):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=MEDIA_TYPE, headers=headers)


def _not_modified(request: Request, etag: str, modified: datetime) -> bool:
    match = request.headers.get("if-none-match")
    if match is not None:  # it wins over If-Modified-Since when both are sent
        tags = {tag.strip().removeprefix("W/") for tag in match.split(",")}
        return "*" in tags or etag in tags
    since = request.headers.get("if-modified-since")
    if since is None:
        return False
    try:
        moment = parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False  # a date we cannot read is ignored, as RFC 9110 says
    if moment.tzinfo is None:
        return False
    return modified.replace(microsecond=0) <= moment
