"""Claims of each kind (SPEC §7) for the API tests: bodies and forecasts."""

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient

from tests.factories import auth, make_claim

OPTIONS = ["Sora", "Veo", "Another product"]
DATE_MIN, DATE_MAX = "2026-06-01T00:00:00Z", "2028-06-01T00:00:00Z"
KIND_FIELDS: dict[str, dict[str, Any]] = {
    "multiple_choice": {"kind": "multiple_choice", "options": OPTIONS},
    "numeric": {
        "kind": "numeric",
        "range_min": 100_000.0,
        "range_max": 100_000_000.0,
        "log_scale": True,
        "unit": "USD",
    },
    "date": {
        "kind": "date",
        "range_min": DATE_MIN,
        "range_max": DATE_MAX,
        "open_upper_bound": False,
    },
}


def make_kind_claim(client: TestClient, editor: str, kind: str, **extra: Any) -> dict[str, Any]:
    fields = {"slug": f"a-{kind.replace('_', '-')}-claim", **KIND_FIELDS[kind], **extra}
    return make_claim(client, editor, **fields)


def uniform_cdf(low: float = 0.001, high: float = 0.999) -> list[float]:
    return [round(low + (high - low) * i / 200, 10) for i in range(201)]


def unix(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).timestamp()


def forecast_body(kind: str, shape: str = "") -> dict[str, Any]:
    """A valid forecast of each kind: MC probabilities, or a CDF, or quantiles."""
    if kind == "multiple_choice":
        return {"probabilities": {"Sora": 0.2, "Veo": 0.5, "Another product": 0.3}}
    if shape == "cdf":
        return {"cdf": uniform_cdf(0.001, 1.0 if kind == "date" else 0.999)}
    if kind == "numeric":
        return {"quantiles": [[0.1, 500_000], [0.5, 2_100_000], [0.9, 20_000_000]]}
    return {"quantiles": [[0.25, "2027-01-01T00:00:00Z"], [0.75, "2027-09-01T00:00:00Z"]]}


def post_forecast(client: TestClient, token: str, slug: str, body: dict[str, Any]) -> Any:
    return client.post(f"/api/v1/claims/{slug}/forecasts", json=body, headers=auth(token))
