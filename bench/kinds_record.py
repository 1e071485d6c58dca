"""The bench record's claims of other kinds (SPEC §7): numeric and multiple choice.

Added to `bench/scoring.py`'s synthetic record with raw sqlite3 inserts, like the binary part:
1,000 resolved numeric claims with 100 forecasts each (201-value CDFs, packed as stored) and
1,000 resolved multiple-choice claims of four options with 100 each, at `--scale 1`; plus one
closed, unresolved numeric claim on which 1,000 forecasters stand.
"""

import json
import sqlite3
from pathlib import Path

import numpy as np

from forecasts.score_math.distributions import GRID

BIG_NUMERIC_SLUG = "bench-big-numeric-claim"
OPTIONS = ["Product A", "Product B", "Product C", "Another product"]
_PER_CLAIM = 100
_RANGE = (0.0, 100.0)


def _text(moment: np.ndarray) -> np.ndarray:
    return np.char.replace(np.datetime_as_string(moment, unit="us"), "T", " ")


def _cdfs(rng: np.random.Generator, centres: np.ndarray) -> list[bytes]:
    """Logistic CDFs around each centre (both bounds open), rounded and packed as stored."""
    width = rng.uniform(0.04, 0.3, len(centres))[:, None]
    centre = (centres + rng.normal(0, 0.1, len(centres)))[:, None]
    logistic = 1 / (1 + np.exp(-(GRID[None, :] - centre) / width))
    cdf = np.round(0.001 + 0.998 * (0.98 * logistic + 0.02 * GRID[None, :]), 10)
    return [row.astype("<f8").tobytes() for row in cdf]


def _choices(rng: np.random.Generator, count: int) -> list[bytes]:
    raw = rng.dirichlet(np.ones(len(OPTIONS)), count).clip(0.01, None)
    return [row.astype("<f8").tobytes() for row in raw / raw.sum(axis=1, keepdims=True)]


def add_kinds(
    path: Path, scale: float, accounts: int, window_us: int, seed: int = 11
) -> dict[str, int]:
    """Insert the claims of other kinds and their forecasts after what the file holds."""
    rng = np.random.default_rng(seed)
    conn = sqlite3.connect(path)
    first_claim = int(conn.execute("SELECT MAX(id) FROM claims").fetchone()[0]) + 1
    first_seq = int(conn.execute("SELECT MAX(ledger_seq) FROM forecasts").fetchone()[0]) + 1
    n = max(2, int(1000 * scale))
    epoch = np.datetime64("2024-01-01T00:00:00", "us")
    opens = epoch + rng.integers(0, 600, 2 * n) * np.timedelta64(1, "D")
    closes = opens + np.timedelta64(window_us, "us")
    value = rng.uniform(-10.0, 110.0, n)  # some outcomes beyond the (open) range
    label = rng.integers(0, len(OPTIONS), n)
    now_text = "2026-01-01 00:00:00.000000"
    rows = []
    for i, (o, c) in enumerate(zip(_text(opens), _text(closes), strict=True)):
        numeric = i < n
        rows.append(
            (
                first_claim + i,
                f"bench-{'numeric' if numeric else 'choice'}-{i}",
                "resolved",
                o,
                c,
                c,
                None if numeric else OPTIONS[label[i - n]],
                float(value[i]) if numeric else None,
                "numeric" if numeric else "multiple_choice",
                None if numeric else json.dumps(OPTIONS),
                _RANGE[0] if numeric else None,
                _RANGE[1] if numeric else None,
            )
        )
    big_open = np.datetime64("2025-11-01T00:00:00", "us")
    big_close = big_open + np.timedelta64(window_us, "us")
    big_id = first_claim + 2 * n
    times = _text(np.array([big_open, big_close, big_close]))
    rows.append(
        (big_id, BIG_NUMERIC_SLUG, "published", *times, None, None, "numeric", None, *_RANGE)
    )
    conn.executemany(
        "INSERT INTO claims (id, slug, title, description, resolution_criteria, fine_print, "
        "rules, state, opens_at, closes_at, resolves_at, outcome, outcome_value, kind, options, "
        "range_min, range_max, version, created_at, updated_at) VALUES (?, ?, 'Synthetic claim', "
        "'', 'Synthetic.', '', '[]', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        ((*row, now_text, now_text) for row in rows),
    )
    claim = np.repeat(np.arange(2 * n), _PER_CLAIM)
    at = opens[claim] + rng.integers(0, window_us, claim.size).astype("timedelta64[us]")
    who = rng.integers(1, accounts + 1, claim.size)
    numeric = claim < n
    centres = np.clip(value[np.minimum(claim, n - 1)] / 100, 0, 1)
    packed = np.empty(claim.size, dtype=object)
    packed[numeric] = _cdfs(rng, centres[numeric])
    packed[~numeric] = _choices(rng, int((~numeric).sum()))
    packed[rng.random(claim.size) < 0.03] = None  # withdrawals
    big_who = np.concatenate([np.arange(1, 1001), rng.integers(1, 1001, 200)])
    big_at = big_open + rng.integers(0, window_us, big_who.size).astype("timedelta64[us]")
    claim_ids = np.concatenate([first_claim + claim, np.full(big_who.size, big_id)])
    at = np.concatenate([at, big_at])
    who = np.concatenate([who, big_who])
    packed = np.concatenate(
        [packed, np.array(_cdfs(rng, rng.uniform(0.2, 0.8, big_who.size)), dtype=object)]
    )
    order = np.argsort(at, kind="stable")
    at_text = _text(at[order])
    conn.executemany(
        "INSERT INTO forecasts (id, claim_id, account_id, probability, distribution, created_at, "
        "ledger_seq, imported) VALUES (?, ?, ?, NULL, ?, ?, ?, 0)",
        (
            (first_seq + k, int(claim_ids[i]), int(who[i]), packed[i], at_text[k], first_seq + k)
            for k, i in enumerate(order.tolist())
        ),
    )
    conn.commit()
    conn.close()
    return {"numeric_claims": n, "choice_claims": n, "kind_forecasts": int(claim_ids.size)}
