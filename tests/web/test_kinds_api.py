"""Claims that are numbers, dates or choices through the API (SPEC §7): create, check,
forecast in each body shape, withdraw, read crowd and market, and hide what is hidden."""

from datetime import timedelta
from itertools import pairwise
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import T0, auth, claim_body
from tests.web.kinds import (
    DATE_MAX,
    DATE_MIN,
    KIND_FIELDS,
    OPTIONS,
    forecast_body,
    make_kind_claim,
    post_forecast,
    unix,
)

KINDS = list(KIND_FIELDS)
T_PAST, T_CLOSED = T0 - timedelta(days=30), T0 - timedelta(days=1)


def _create(client: TestClient, tokens: Tokens, **fields: Any) -> Any:
    body = claim_body(slug="bad-claim", **fields)
    return client.post("/api/v1/claims", json=body, headers=auth(tokens.editor))


def _loc(reply: Any) -> list[Any]:
    assert reply.status_code == 422, reply.text
    return list(reply.json()["detail"][0]["loc"])


@pytest.mark.parametrize("kind", KINDS)
def test_a_claim_of_each_kind_shows_its_fields(
    client: TestClient, tokens: Tokens, kind: str
) -> None:
    claim = make_kind_claim(client, tokens.editor, kind)
    assert claim["kind"] == kind and claim["outcome"] is None
    if kind == "multiple_choice":
        assert claim["options"] == OPTIONS
        assert claim["market"] == {label: pytest.approx(1 / 3) for label in OPTIONS}
    else:  # the reference distribution: 0.05 beyond each open bound, the rest spread evenly
        prior = claim["market"]["cdf"]
        top = 1.0 if kind == "date" else 0.95  # the date claim's upper bound is closed
        assert len(prior) == 201 and (prior[0], prior[200]) == (0.05, top)
        steps = [b - a for a, b in pairwise(prior)]
        assert steps == pytest.approx([(top - 0.05) / 200] * 200, abs=1e-10)
    if kind == "date":
        assert (claim["range_min"], claim["range_max"]) == (
            "2026-06-01T00:00:00.000000Z",
            "2028-06-01T00:00:00.000000Z",
        )
        assert claim["open_upper_bound"] is False
    assert claim["crowd"] is None and claim["market_probability"] is None


def test_binary_claims_keep_their_shape(client: TestClient, tokens: Tokens) -> None:
    reply = client.post("/api/v1/claims", json=claim_body(), headers=auth(tokens.editor))
    assert reply.json()["kind"] == "binary" and reply.json()["market_probability"] == 0.5


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"kind": "multiple_choice"}, ["body", "options"]),
        ({"kind": "multiple_choice", "options": ["a"]}, ["body", "options"]),
        ({"kind": "multiple_choice", "options": ["Å", "A\u030a"]}, ["body", "options", 1]),
        ({"kind": "multiple_choice", "options": ["a", ""]}, ["body", "options", 1]),
        ({"kind": "multiple_choice", "options": ["a", "x" * 81]}, ["body", "options", 1]),
        ({"kind": "multiple_choice", "options": ["a", "annulled"]}, ["body", "options", 1]),
        ({"kind": "multiple_choice", "options": [str(k) for k in range(21)]}, ["body", "options"]),
        ({"kind": "multiple_choice", "options": ["a", "b"], "unit": "x"}, ["body", "unit"]),
        ({"kind": "numeric", "range_min": 5, "range_max": 5}, ["body", "range_max"]),
        ({"kind": "numeric", "range_max": 5}, ["body", "range_min"]),
        ({"kind": "numeric", "range_min": -1e308, "range_max": 1e308}, ["body", "range_max"]),
        (  # the ratio overflows (tests/web/test_kind_edges.py has the other degenerate ranges)
            {"kind": "numeric", "range_min": 1e-300, "range_max": 1e300, "log_scale": True},
            ["body", "range_max"],
        ),
        ({"kind": "numeric", "range_min": DATE_MIN, "range_max": 5}, ["body", "range_min"]),
        (
            {"kind": "numeric", "range_min": 0, "range_max": 5, "log_scale": True},
            ["body", "log_scale"],
        ),
        (
            {"kind": "date", "range_min": DATE_MIN, "range_max": DATE_MAX, "log_scale": True},
            ["body", "log_scale"],
        ),
        ({"kind": "date", "range_min": 1, "range_max": DATE_MAX}, ["body", "range_min"]),
        ({"kind": "binary", "options": ["a", "b"]}, ["body", "options"]),
        ({"range_min": 1}, ["body", "range_min"]),
        (
            {
                "kind": "numeric",
                "range_min": 1,
                "range_max": 2,
                "rules": [
                    {
                        "url": "http://x.test/",
                        "format": "json",
                        "expression": "a",
                        "yes_early": True,
                    }
                ],
            },
            ["body", "rules", 0, "yes_early"],
        ),
    ],
)
def test_bad_combinations_are_422s_naming_the_field(
    client: TestClient, tokens: Tokens, fields: dict[str, Any], loc: list[Any]
) -> None:
    assert _loc(_create(client, tokens, **fields)) == loc


def test_labels_are_kept_nfc(client: TestClient, tokens: Tokens) -> None:
    reply = _create(client, tokens, kind="multiple_choice", options=["A\u030a", "B"])
    assert reply.status_code == 201 and reply.json()["options"] == ["Å", "B"]


@pytest.mark.parametrize(
    ("kind", "shape"),
    [("multiple_choice", ""), ("numeric", "cdf"), ("numeric", "q"), ("date", "cdf"), ("date", "q")],
)
def test_forecast_withdraw_and_read_back(
    client: TestClient, tokens: Tokens, kind: str, shape: str
) -> None:
    slug = make_kind_claim(client, tokens.editor, kind)["slug"]
    body = forecast_body(kind, shape)
    reply = post_forecast(client, tokens.alice, slug, body)
    assert reply.status_code == 201, reply.text
    stored = reply.json()
    mine = client.get(f"/api/v1/claims/{slug}", headers=auth(tokens.alice)).json()
    assert mine["my_forecast"] == {**stored, **{k: None for k in _other_fields(stored)}}
    assert mine["forecasters"] == 1
    if kind == "multiple_choice":
        assert stored["probabilities"] == pytest.approx(body["probabilities"])
        assert mine["crowd"] == pytest.approx(body["probabilities"])
        assert mine["market"] == pytest.approx(body["probabilities"])
    else:
        assert len(stored["cdf"]) == 201
        assert mine["crowd"]["cdf"] == stored["cdf"] == mine["market"]["cdf"]
        assert set(mine["crowd"]["quantiles"]) == {"0.1", "0.25", "0.5", "0.75", "0.9"}
    if shape == "q":
        given = [[q, unix(x) if kind == "date" else x] for q, x in body["quantiles"]]
        kept = [[q, unix(x) if kind == "date" else x] for q, x in stored["quantiles"]]
        assert kept == given
        median = mine["crowd"]["quantiles"]["0.5"]
        if kind == "numeric":
            assert 2_100_000 < median < 20_000_000  # 0.5 of the stored CDF lies above 0.5's x
        else:
            assert unix("2027-01-01T00:00:00Z") < unix(median) < unix("2027-09-01T00:00:00Z")
    bob_sees = client.get(f"/api/v1/claims/{slug}/forecasts", headers=auth(tokens.bob)).json()
    assert bob_sees["items"] == []  # nothing hidden leaks
    reply = client.post(f"/api/v1/claims/{slug}/withdraw", headers=auth(tokens.alice))
    assert reply.status_code == 201 and "withdrawn_at" in reply.json()
    after = client.get(f"/api/v1/claims/{slug}", headers=auth(tokens.alice)).json()
    assert after["my_forecast"] is None and after["crowd"] is None and after["forecasters"] == 0
    assert after["market"] == mine["market"]  # withdrawals do not move the market


def _other_fields(view: dict[str, Any]) -> set[str]:
    return {"probability", "probabilities", "cdf", "quantiles"} - set(view)


@pytest.mark.parametrize(
    ("kind", "body", "field"),
    [
        ("multiple_choice", {"probability": 0.5}, "probability"),
        ("multiple_choice", {"cdf": [0.5] * 201}, "cdf"),
        ("numeric", {"probabilities": {"a": 0.5}}, "probabilities"),
        ("numeric", {"odds": "1:1"}, "probability"),
        ("date", {"probability": 0.5}, "probability"),
        ("binary", {"probabilities": {"a": 0.5, "b": 0.5}}, "probabilities"),
        ("binary", {"quantiles": [[0.1, 1], [0.9, 2]]}, "quantiles"),
        ("multiple_choice", {"probabilities": {"Sora": 0.5, "Veo": 0.5}}, "probabilities"),
        (
            "multiple_choice",
            {"probabilities": {"Sora": 0.5, "Veo": 0.4, "Another product": 0.3}},
            "probabilities",
        ),
        ("numeric", {"cdf": [0.5] * 201}, "cdf"),
        ("numeric", {"cdf": [0.5] * 20}, "cdf"),
        ("numeric", {"quantiles": [[0.5, 1_000_000]]}, "quantiles"),
        ("numeric", {"quantiles": [[0.5, 1_000_000], [0.4, 2_000_000]]}, "quantiles"),
        ("numeric", {"quantiles": [[0.1, -5], [0.9, 2_000_000]]}, "quantiles"),
        ("date", {"quantiles": [[0.1, 5], [0.9, 6]]}, "quantiles"),
        ("date", {"quantiles": [[0.1, DATE_MIN], [0.9, "2029-01-01T00:00:00Z"]]}, "quantiles"),
        ("date", {"cdf": [0.001 + 0.998 * i / 200 for i in range(201)]}, "cdf"),
    ],
)
def test_a_body_of_another_shape_is_a_422_naming_the_field(
    client: TestClient, tokens: Tokens, kind: str, body: dict[str, Any], field: str
) -> None:
    if kind == "binary":
        slug = client.post("/api/v1/claims", json=claim_body(), headers=auth(tokens.editor))
        slug = slug.json()["slug"]
    else:
        slug = make_kind_claim(client, tokens.editor, kind)["slug"]
    reply = post_forecast(client, tokens.alice, slug, body)
    assert _loc(reply)[:2] == ["body", field]


def test_options_change_before_the_first_forecast_only(client: TestClient, tokens: Tokens) -> None:
    slug = make_kind_claim(client, tokens.editor, "multiple_choice")["slug"]
    url = f"/api/v1/claims/{slug}"
    reply = client.patch(url, json={"options": ["Sora", "Veo"]}, headers=auth(tokens.editor))
    assert reply.status_code == 200 and reply.json()["options"] == ["Sora", "Veo"]
    body = {"probabilities": {"Sora": 0.4, "Veo": 0.6}}
    assert post_forecast(client, tokens.alice, slug, body).status_code == 201
    reply = client.patch(url, json={"options": ["Sora", "Kling"]}, headers=auth(tokens.editor))
    assert reply.status_code == 409
    reply = client.patch(url, json={"kind": "binary"}, headers=auth(tokens.editor))
    assert _loc(reply) == ["body", "kind"]
    entries = client.get("/api/v1/ledger").json()["items"]
    amended = [e for e in entries if e["kind"] == "outcome_space_amended"]
    assert [e["payload"]["options"] for e in amended] == [["Sora", "Veo"]]


def test_another_users_distribution_never_shows_while_open(
    client: TestClient, tokens: Tokens
) -> None:
    slug = make_kind_claim(client, tokens.editor, "numeric")["slug"]
    assert post_forecast(client, tokens.alice, slug, forecast_body("numeric")).status_code == 201
    for token in (tokens.bob, tokens.admin, None):
        headers = auth(token) if token else {}
        claim = client.get(f"/api/v1/claims/{slug}", headers=headers).json()
        assert claim["my_forecast"] is None
        listed = client.get(f"/api/v1/claims/{slug}/forecasts", headers=headers).json()
        assert listed["items"] == []
    ledger = client.get("/api/v1/ledger").json()["items"]
    assert all("cdf" not in str(entry["payload"]) for entry in ledger)


@pytest.mark.parametrize(
    ("kind", "outcome"),
    [
        ("multiple_choice", "Kling"),
        ("multiple_choice", "yes"),
        ("multiple_choice", 1),
        ("numeric", "yes"),
        ("numeric", "1000000"),
        ("date", "2029-01-01T00:00:00Z"),  # beyond the closed upper bound
        ("date", "2027-01-01T00:00:00"),  # no zone
        ("date", 1_800_000_000),
    ],
)
def test_an_outcome_not_of_the_claims_kind_is_a_422(
    client: TestClient, tokens: Tokens, clock: Any, kind: str, outcome: Any
) -> None:
    slug = make_kind_claim(client, tokens.editor, kind)["slug"]
    clock.advance(days=40)
    url = f"/api/v1/claims/{slug}/resolution"
    reply = client.post(url, json={"outcome": outcome}, headers=auth(tokens.editor))
    assert _loc(reply) == ["body", "outcome"]
    assert client.get(f"/api/v1/claims/{slug}").json()["status"] == "closed"


def test_a_value_on_a_closed_bound_is_an_outcome(
    client: TestClient, tokens: Tokens, clock: Any
) -> None:
    slug = make_kind_claim(client, tokens.editor, "date")["slug"]
    clock.advance(days=40)
    url = f"/api/v1/claims/{slug}/resolution"
    reply = client.post(url, json={"outcome": DATE_MAX}, headers=auth(tokens.editor))
    assert reply.status_code == 200 and reply.json()["outcome"] == "2028-06-01T00:00:00.000000Z"


@pytest.mark.parametrize("kind", ["multiple_choice", "numeric", "date"])
def test_history_follows_every_forecast_and_withdrawal(
    client: TestClient, tokens: Tokens, clock: Any, kind: str
) -> None:
    slug = make_kind_claim(client, tokens.editor, kind)["slug"]
    url = f"/api/v1/claims/{slug}/history"
    assert client.get(url).json()["items"] == []
    assert post_forecast(client, tokens.alice, slug, forecast_body(kind)).status_code == 201
    first = client.get(url).json()["items"]  # cached now, then extended
    clock.advance(hours=1)
    assert post_forecast(client, tokens.bob, slug, forecast_body(kind, "cdf")).status_code == 201
    clock.advance(hours=1)
    assert (
        client.post(f"/api/v1/claims/{slug}/withdraw", headers=auth(tokens.alice)).status_code
        == 201
    )
    points = client.get(url).json()["items"]
    assert len(points) == 3 and points[0] == first[0]
    live = client.get(f"/api/v1/claims/{slug}").json()
    if kind == "multiple_choice":
        assert points[-1]["crowd"] == pytest.approx(live["crowd"])
        assert set(points[0]["market"]) == set(OPTIONS)
    else:
        assert points[-1]["crowd"] == {"quantiles": live["crowd"]["quantiles"]}
        assert points[-1]["market"] == {"quantiles": live["market"]["quantiles"]}
        assert "cdf" not in points[0]["crowd"]


def test_both_lanes_store_distributions_and_keys_replay_them(
    client: TestClient, tokens: Tokens
) -> None:
    slug = make_kind_claim(client, tokens.editor, "numeric")["slug"]
    body = forecast_body("numeric", "cdf")
    first = post_forecast(client, tokens.bob, slug, body)  # FastAPI's lane (caches the token)
    second = post_forecast(client, tokens.bob, slug, forecast_body("numeric"))  # the fast lane
    assert first.status_code == second.status_code == 201
    assert set(first.json()) == {*set(second.json()) - {"quantiles"}}
    keyed = {**auth(tokens.bob), "Idempotency-Key": "cdf-1"}
    url = f"/api/v1/claims/{slug}/forecasts"
    original = client.post(url, json=body, headers=keyed)
    replayed = client.post(url, json=body, headers=keyed)
    assert original.status_code == replayed.status_code == 201
    assert replayed.content == original.content
    changed = {"cdf": [*body["cdf"][:-1], 0.998]}
    assert client.post(url, json=changed, headers=keyed).status_code == 409
    mine = client.get(f"/api/v1/claims/{slug}/forecasts", headers=auth(tokens.bob)).json()
    assert [len(item["cdf"]) for item in mine["items"]] == [201, 201, 201]


def test_imports_take_each_kinds_shape_and_name_bad_fields(
    client: TestClient, tokens: Tokens
) -> None:
    slug = make_kind_claim(client, tokens.editor, "numeric", opens_at=T_PAST, closes_at=T_CLOSED)[
        "slug"
    ]
    row = {"claim": slug, "handle": "alice", "created_at": "2025-12-20T00:00:00Z"}
    url = "/api/v1/import/forecasts"
    good = [{**row, **forecast_body("numeric")}]
    bad = [good[0], {**row, "probability": 0.4}]
    reply = client.post(url, json=bad, headers=auth(tokens.admin))
    assert _loc(reply) == ["body", 1, "probability"]
    with_rationale = [{**good[0], "rationale": "no"}]
    assert client.post(url, json=with_rationale, headers=auth(tokens.admin)).status_code == 422
    assert client.post(url, json=good, headers=auth(tokens.admin)).status_code == 201
    listed = client.get(f"/api/v1/claims/{slug}/forecasts").json()["items"]  # closed: public
    assert [item["handle"] for item in listed] == ["alice"] and len(listed[0]["cdf"]) == 201
    assert listed[0]["quantiles"] == [[0.1, 500000.0], [0.5, 2100000.0], [0.9, 20000000.0]]
