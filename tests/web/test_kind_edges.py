"""Claims of other kinds at the edges of floating point (SPEC §7): ranges too wide or too
narrow for 200 bins, quantiles the scale cannot place. Each was a 500 or a Python message."""

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, claim_body, make_claim
from tests.web.kinds import DATE_MIN, make_kind_claim, post_forecast

T_CLOSE = T0 + timedelta(days=1)


@pytest.mark.parametrize(
    "fields",
    [
        {"range_min": -1e308, "range_max": 1e308},  # max - min overflows
        {"range_min": 0, "range_max": 5e-324},  # a bin narrower than the smallest float
        {"range_min": 1, "range_max": 1.0000000000000002},  # the bins' ends coincide
        {"range_min": 5e-324, "range_max": 1e308, "log_scale": True},  # max / min overflows
    ],
)
def test_a_range_that_cannot_hold_200_bins_is_a_422(
    client: TestClient, tokens: Tokens, fields: dict[str, Any]
) -> None:
    body = claim_body(slug="degenerate", kind="numeric", **fields)
    refused = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "range_max"]
    assert client.get("/claims/degenerate").status_code == 404  # nothing was made


def test_a_patch_to_such_a_range_is_a_422_and_wide_ranges_still_work(
    client: TestClient, tokens: Tokens
) -> None:
    make_claim(client, tokens.editor, slug="wide", kind="numeric", range_min=0, range_max=1e300)
    patch = {"range_min": -1e308, "range_max": 1e308}
    refused = client.patch("/api/v1/claims/wide", json=patch, headers=auth(tokens.editor))
    assert refused.status_code == 422 and "range_max" in refused.text
    assert client.get("/claims/wide").status_code == 200  # its page draws the axis
    made = post_forecast(client, tokens.alice, "wide", {"quantiles": [[0.2, 1e299], [0.8, 9e299]]})
    assert made.status_code == 201, made.text


@pytest.mark.parametrize(
    ("fields", "quantiles"),
    [
        # on a log scale from 1e5, 5e-324 / 1e5 underflows to 0: was "math domain error"
        ({"range_min": 1e5, "range_max": 1e8, "log_scale": True}, [[0.5, 5e-324], [0.6, 1e-323]]),
        # distinct numbers, one point of the scale: a division by zero (a 500)
        ({"range_min": 0, "range_max": 1e300}, [[0.5, 0.5], [0.6, 0.5000000000000001]]),
    ],
)
def test_quantiles_the_scale_cannot_place_are_a_422_in_plain_words(
    client: TestClient, tokens: Tokens, fields: dict[str, Any], quantiles: list[list[float]]
) -> None:
    make_claim(client, tokens.editor, slug="far-out", kind="numeric", **fields)
    refused = post_forecast(client, tokens.alice, "far-out", {"quantiles": quantiles})
    assert refused.status_code == 422, refused.text
    [detail] = refused.json()["detail"]
    assert detail["loc"] == ["body", "quantiles"]
    assert "distinct points of the claim's scale" in detail["msg"]


LAST_MICROSECOND = "9999-12-31T23:59:59.999999Z"  # as Unix seconds, a double rounds it to 10000


def test_a_time_at_the_end_of_year_9999_is_a_422_naming_the_field(
    client: TestClient, tokens: Tokens, clock: FakeClock
) -> None:
    body = claim_body(slug="far", kind="date", range_min=DATE_MIN, range_max=LAST_MICROSECOND)
    refused = client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "range_max"]
    claim = make_kind_claim(client, tokens.editor, "date", open_upper_bound=True, closes_at=T_CLOSE)
    slug = claim["slug"]
    quantiles = {"quantiles": [[0.2, "2027-01-01T00:00:00Z"], [0.8, LAST_MICROSECOND]]}
    refused = post_forecast(client, tokens.alice, slug, quantiles)
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == [
        "body",
        "quantiles",
    ]
    clock.set(T_CLOSE + timedelta(days=1))
    path = f"/api/v1/claims/{slug}/resolution"
    refused = client.post(path, json={"outcome": LAST_MICROSECOND}, headers=auth(tokens.editor))
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"][0]["loc"] == ["body", "outcome"]
    almost = "9999-12-31T23:59:59.9999Z"  # a double still tells it from the year 10000
    settled = client.post(path, json={"outcome": almost}, headers=auth(tokens.editor))
    assert settled.status_code == 200 and settled.json()["outcome"].startswith("9999-12-31T23:59")
