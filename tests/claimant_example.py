"""SPEC §8's worked example: one claimant, six claims, every figure computed by hand.

All claims open at T0 and close at T0 + 10 days (Tc, 8 days of crowd at most):
- `asserted` (asserts, stated 0.8): alice 0.6 from day 2, bob 0.2 from day 6. Two standing:
  weights exp(1 - sqrt 2) = 0.661 (alice, older) and 1 (bob); the median is bob's 0.2. The
  crowd is 0.6 for 4 days, 0.2 for 4: consensus 0.4. Resolves yes: o = 1, o / c = 2.5,
  Brier (0.8 - 1)^2 = 0.04.
- `denied` (denies, stated 0.3): alice 0.7 from day 5: crowd of yes 0.7, of the claimant's
  side 0.3 for 5 days: consensus 0.3. Resolves no: o = 1, o / c = 10/3, Brier (0.3 - 0)^2.
- `chosen` (multiple choice A/B/C, asserts B, stated 0.5): alice (0.2, 0.5, 0.3) from day 2,
  bob (0.6, 0.2, 0.2) from day 6. Alone, alice's p[B] = 0.5; together each option's weighted
  median is bob's (weight 1 of 1.661 passes half): (0.6, 0.2, 0.2), sum 1, p[B] = 0.2.
  Consensus (0.5 * 4 + 0.2 * 4) / 8 = 0.35. Resolves A: o = 0, o / c = 0, Brier 0.5^2.
- `voided` (asserts): alice 0.9, then annulled: listed apart, never counted.
- `unforecast` (asserts, stated 0.9): nobody forecast, so no crowd and no consensus.
  Resolves yes: o = 1, Brier (0.9 - 1)^2 = 0.01.
- `pending` (asserts): still open.

Figures: 4 resolved; hit rate 3/4; mean consensus (0.4 + 0.3 + 0.35) / 3 = 0.35; yield
(2.5 + 10/3 + 0) / 3 = 35/18; Brier (0.04 + 0.09 + 0.25 + 0.01) / 4 = 0.0975; 1 open, 1 void.
"""

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim, make_claimant

CLAIMANT = "analyst"
CLOSES = T0 + timedelta(days=10)
EXPECTED = {
    "claims_resolved": 4,
    "claims_open": 1,
    "claims_void": 1,
    "hit_rate": 0.75,
    "mean_consensus": 0.35,
    "yield": 35 / 18,
    "brier": 0.0975,
}
# claim -> (hit, consensus) as the claimant's page lists them
EXPECTED_CLAIMS: dict[str, tuple[bool | None, float | None]] = {
    "asserted": (True, 0.4),
    "denied": (True, 0.3),
    "chosen": (False, 0.35),
    "unforecast": (True, None),
    "voided": (None, None),
    "pending": (None, None),
}


def _cite(stance: str, stated: float | None = None, **more: Any) -> dict[str, Any]:
    source = {
        "claimant": CLAIMANT,
        "stance": stance,
        "url": "https://example.org/analyst/predictions",
        "quote": f"I say it {stance}.",
        "published_at": "2025-12-01T00:00:00Z",
        **more,
    }
    if stated is not None:
        source["stated_probability"] = stated
    return source


def _forecast(client: TestClient, token: str, slug: str, p: float) -> None:
    response = client.post(
        f"/api/v1/claims/{slug}/forecasts", json={"probability": p}, headers=auth(token)
    )
    assert response.status_code == 201, response.text


def _choose(client: TestClient, token: str, values: tuple[float, float, float]) -> None:
    body = {"probabilities": dict(zip(("A", "B", "C"), values, strict=True))}
    response = client.post("/api/v1/claims/chosen/forecasts", json=body, headers=auth(token))
    assert response.status_code == 201, response.text


def resolve(client: TestClient, tokens: Tokens, slug: str, outcome: str | float) -> None:
    response = client.post(
        f"/api/v1/claims/{slug}/resolution", json={"outcome": outcome}, headers=auth(tokens.editor)
    )
    assert response.status_code == 200, response.text


def build(client: TestClient, clock: FakeClock, tokens: Tokens) -> None:
    """The claimant and its six claims, resolved as the module's docstring says."""
    clock.set(T0 - timedelta(days=1))
    make_claimant(client, tokens.editor, slug=CLAIMANT, url="https://example.org/analyst")
    window = {"opens_at": T0, "closes_at": CLOSES}
    for slug, source in (
        ("asserted", _cite("asserts", 0.8)),
        ("denied", _cite("denies", 0.3)),
        ("voided", _cite("asserts")),
        ("unforecast", _cite("asserts", 0.9)),
        ("pending", _cite("asserts")),
    ):
        make_claim(client, tokens.editor, slug=slug, source=source, **window)
    choice = {"kind": "multiple_choice", "options": ["A", "B", "C"]}
    chosen = _cite("asserts", 0.5, option="B")
    make_claim(client, tokens.editor, slug="chosen", source=chosen, **choice, **window)
    pending = {"closes_at": "2026-03-01T00:00:00Z", "resolves_at": "2026-03-01T00:00:00Z"}
    extended = client.patch("/api/v1/claims/pending", json=pending, headers=auth(tokens.editor))
    assert extended.status_code == 200, extended.text
    clock.set(T0 + timedelta(days=2))
    _forecast(client, tokens.alice, "asserted", 0.6)
    _forecast(client, tokens.alice, "voided", 0.9)
    _choose(client, tokens.alice, (0.2, 0.5, 0.3))
    clock.set(T0 + timedelta(days=5))
    _forecast(client, tokens.alice, "denied", 0.7)
    clock.set(T0 + timedelta(days=6))
    _forecast(client, tokens.bob, "asserted", 0.2)
    _choose(client, tokens.bob, (0.6, 0.2, 0.2))
    clock.set(CLOSES + timedelta(days=1))
    resolve(client, tokens, "asserted", "yes")
    resolve(client, tokens, "denied", "no")
    resolve(client, tokens, "voided", "annulled")
    resolve(client, tokens, "unforecast", "yes")
    resolve(client, tokens, "chosen", "A")
