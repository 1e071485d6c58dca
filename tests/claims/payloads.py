"""Realistic evidence payloads, shaped after EVIDENCE.md (values invented), as served bytes."""

import json
from typing import Any


def _json(value: Any) -> bytes:
    return json.dumps(value).encode()


def _app(app_id: str, name: str, artist: str, genre_id: str, genre: str) -> dict[str, Any]:
    return {
        "id": app_id,
        "name": name,
        "artistName": artist,
        "genres": [{"genreId": genre_id, "name": genre}],
    }


APPSTORE_V2 = _json(
    {
        "feed": {
            "title": "Top Free Apps",
            "country": "us",
            "updated": "Mon, 16 Nov 2026 18:04:11 +0000",
            "results": [
                _app("6448311069", "ChatGPT", "OpenAI", "6007", "Productivity"),
                _app("6477489729", "Google Gemini", "Google", "6007", "Productivity"),
                _app("1500855883", "CapCut - Video Editor", "Bytedance", "6008", "Photo & Video"),
                _app("389801252", "Instagram", "Instagram, Inc.", "6005", "Social Networking"),
                _app("835599320", "TikTok", "TikTok Ltd.", "6016", "Entertainment"),
                _app("6740021349", "Sora by OpenAI", "OpenAI", "6008", "Photo & Video"),
            ],
        }
    }
)


def _legacy_entry(name: str, app_id: str, bundle: str) -> dict[str, Any]:
    return {
        "im:name": {"label": name},
        "id": {
            "label": f"https://apps.apple.com/us/app/id{app_id}",
            "attributes": {"im:id": app_id, "im:bundleId": bundle},
        },
        "category": {
            "attributes": {
                "im:id": "6008",
                "term": "Photo & Video",
                "label": "Photo & Video",
            }
        },
    }


APPSTORE_LEGACY = _json(
    {
        "feed": {
            "author": {"name": {"label": "iTunes Store"}},
            "entry": [
                _legacy_entry("CapCut - Video Editor", "1500855883", "com.lemon.lvoverseas"),
                _legacy_entry("YouTube", "544007664", "com.google.ios.youtube"),
                _legacy_entry("Picsart AI Photo Editor", "587366035", "com.picsart.studio"),
                _legacy_entry("VSCO: Photo & Video Editor", "588013838", "co.visualsupply.cam"),
                _legacy_entry("Lightroom Photo & Video Editor", "878783582", "com.adobe.lrmobile"),
                _legacy_entry("Sora by OpenAI", "6740021349", "com.openai.sora"),
            ],
            "updated": {"label": "2026-11-16T10:04:11-07:00"},
        }
    }
)

HF_MODELS = _json(
    [
        {
            "_id": "67bd5f2a9e0f2f6c1a2b3c4d",
            "id": "Wan-AI/Wan2.1-T2V-14B",
            "downloads": 1234567,
            "downloadsAllTime": 5400000,
            "likes": 900,
            "pipeline_tag": "text-to-video",
            "createdAt": "2025-02-25T08:00:00.000Z",
        },
        {
            "_id": "66a1b2c3d4e5f60718293a4b",
            "id": "Lightricks/LTX-Video",
            "downloads": 412345,
            "downloadsAllTime": 2100000,
            "likes": 1500,
            "pipeline_tag": "text-to-video",
            "createdAt": "2024-10-31T12:00:00.000Z",
        },
        {
            "_id": "65f0a1b2c3d4e5f607182930",
            "id": "tencent/HunyuanVideo",
            "downloads": 98765,
            "downloadsAllTime": 800000,
            "likes": 1800,
            "pipeline_tag": "text-to-video",
            "createdAt": "2024-12-03T09:30:00.000Z",
        },
    ]
)


def _arena_row(index: int, name: str, org: str, rating: float, rank: int) -> dict[str, Any]:
    return {
        "row_idx": index,
        "row": {
            "model_name": name,
            "organization": org,
            "rating": rating,
            "rating_lower": rating - 6.0,
            "rating_upper": rating + 6.0,
            "vote_count": 25000 - 1000 * index,
            "rank": rank,
            "category": "overall",
            "leaderboard_publish_date": "2026-11-18",
        },
        "truncated_cells": [],
    }


LMARENA_ROWS = _json(
    {
        "features": [{"feature_idx": 0, "name": "model_name", "type": {"dtype": "string"}}],
        "rows": [
            _arena_row(0, "gemini-3-pro", "Google", 1501.2, 1),
            _arena_row(1, "grok-4.1-thinking", "xAI", 1483.0, 2),
            _arena_row(2, "claude-opus-4.5", "Anthropic", 1470.4, 3),
            {
                "row_idx": 3,
                "row": {
                    "model_name": "gemini-3-pro",
                    "organization": "Google",
                    "rating": 1490.0,
                    "rank": 1,
                    "category": "coding",
                    "leaderboard_publish_date": "2026-11-18",
                },
                "truncated_cells": [],
            },
        ],
        "num_rows_total": 9120,
        "num_rows_per_page": 100,
        "partial": False,
    }
)

OPENAI_RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>OpenAI News</title>
    <link>https://openai.com/news</link>
    <description>The OpenAI blog</description>
    <language>en-us</language>
    <lastBuildDate>Tue, 17 Nov 2026 17:00:00 GMT</lastBuildDate>
    <item>
      <title>Introducing native video in ChatGPT</title>
      <link>https://openai.com/index/native-video-in-chatgpt/</link>
      <guid isPermaLink="false">native-video-in-chatgpt</guid>
      <category>Product</category>
      <description>ChatGPT can now create and edit video in conversation.</description>
      <pubDate>Tue, 17 Nov 2026 17:00:00 GMT</pubDate>
    </item>
    <item>
      <title>Sora 2 system card</title>
      <link>https://openai.com/index/sora-2-system-card/</link>
      <guid isPermaLink="false">sora-2-system-card</guid>
      <category>Safety</category>
      <description>How we evaluated Sora 2 before release.</description>
      <pubDate>Tue, 30 Sep 2025 16:00:00 GMT</pubDate>
    </item>
  </channel>
</rss>
"""

DEEPMIND_ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>Google DeepMind Blog</title>
  <link href="https://deepmind.google/discover/blog/" rel="alternate"/>
  <id>https://deepmind.google/blog/</id>
  <updated>2026-05-20T17:45:00Z</updated>
  <entry>
    <title>Gemini Omni: one model for text, images, audio and video</title>
    <link href="https://deepmind.google/discover/blog/gemini-omni/" rel="alternate"/>
    <id>https://deepmind.google/discover/blog/gemini-omni/</id>
    <published>2026-05-20T17:45:00Z</published>
    <updated>2026-05-20T17:45:00Z</updated>
    <summary>Announced at I/O \u2014 Gemini Omni generates video natively.</summary>
    <category term="Gemini"/>
  </entry>
  <entry>
    <title>Veo 3 arrives in the Gemini app</title>
    <link href="https://deepmind.google/discover/blog/veo-3/" rel="alternate"/>
    <id>https://deepmind.google/discover/blog/veo-3/</id>
    <published>2025-05-20T16:00:00Z</published>
    <updated>2025-05-21T09:00:00Z</updated>
    <summary>Video generation with sound.</summary>
    <category term="Veo"/>
  </entry>
</feed>
""".encode()

WIKIMEDIA_PAGEVIEWS = _json(
    {
        "items": [
            {
                "project": "en.wikipedia",
                "article": "Sora_(text-to-video_model)",
                "granularity": "daily",
                "timestamp": f"202611{day:02d}00",
                "access": "all-access",
                "agent": "user",
                "views": views,
            }
            for day, views in ((1, 18342), (2, 17001), (3, 20457))
        ]
    }
)

DOWNLOADS_CSV = (
    "\ufeffdate,package,downloads\r\n"
    "2026-10-01,openai,5301234\r\n"
    "2026-10-02,openai,5412345\r\n"
    '2026-10-03,"openai, inc",17\r\n'
).encode()

LEADERBOARD_HTML = b"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Top apps</title></head>
<body>
  <h1>Top grossing: Photo &amp; Video</h1>
  <table id="chart">
    <thead><tr><th>Rank</th><th>App</th></tr></thead>
    <tbody>
      <tr><td class="rank">1</td><td class="app"><a href="/app/capcut">CapCut</a></td></tr>
      <tr><td class="rank">2</td>
          <td class="app"><a href="/app/picsart">Picsart   AI
            Photo Editor</a></td></tr>
      <tr><td class="rank">3</td><td class="app"><a href="/app/vsco">VSCO</a></td></tr>
    </tbody>
  </table>
</body></html>
"""

STATUS_TEXT = b"""status: operational
version: 2.8.0
version: 2.9.0-beta
"""

MALFORMED_JSON = b'{"feed": {"results": [{"name": "ChatGPT",]}'

CONTENT = {
    "/appstore/v2.json": (APPSTORE_V2, "application/json"),
    "/appstore/legacy.json": (APPSTORE_LEGACY, "text/javascript; charset=utf-8"),
    "/hf/models.json": (HF_MODELS, "application/json; charset=utf-8"),
    "/lmarena/rows.json": (LMARENA_ROWS, "application/json"),
    "/openai/rss.xml": (OPENAI_RSS, "application/rss+xml; charset=utf-8"),
    "/deepmind/atom.xml": (DEEPMIND_ATOM, "application/atom+xml"),
    "/wikimedia/pageviews.json": (WIKIMEDIA_PAGEVIEWS, "application/json; charset=utf-8"),
    "/downloads.csv": (DOWNLOADS_CSV, "text/csv; charset=utf-8"),
    "/chart.html": (LEADERBOARD_HTML, "text/html; charset=utf-8"),
    "/status.txt": (STATUS_TEXT, "text/plain; charset=utf-8"),
    "/malformed.json": (MALFORMED_JSON, "application/json"),
}
