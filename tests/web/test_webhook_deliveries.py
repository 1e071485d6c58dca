"""Deliveries to a real receiver on 127.0.0.1 that checks signatures (SPEC §9)."""

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from claims.clock import parse_stamp
from claims.fetch import FetchPolicy
from forecasts.ledger.chain import canonical
from forecasts.notify.events import EventName
from forecasts.notify.worker import DeliveryPolicy, DeliveryWorker
from tests.claims.evidence_server import EvidenceServer
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, auth, make_claim
from tests.forecasts.notify.receiver import Receiver
from tests.web.test_resolution_api import SLUG, early_claim, tick
from web.db import Database
from web.settings import Settings

API = "/api/v1"
HOOKS = f"{API}/me/webhooks"
DAYS = timedelta(days=1)
ALLOW = FetchPolicy(allow=(__import__("ipaddress").ip_network("127.0.0.1/32"),))


@pytest.fixture(scope="module")
def _receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(_receiver: Receiver, clock: FakeClock) -> Receiver:
    _receiver.clock = lambda: clock.now.timestamp()
    return _receiver


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url, rate_limit=0, fetch_allow="127.0.0.1/32", challenge_window=3600
    )


def hook(
    client: TestClient, receiver: Receiver, token: str, path: str, events: list[str] | None = None
) -> dict[str, Any]:
    body = {"url": receiver.url(path), "events": events or list(EventName)}
    made = client.post(HOOKS, json=body, headers=auth(token))
    assert made.status_code == 201, made.text
    receiver.secrets[path] = made.json()["secret"]
    return dict(made.json())


def post(client: TestClient, token: str, path: str, body: Any = None) -> Any:
    response = client.post(f"{API}{path}", json=body, headers=auth(token))
    assert response.status_code in (200, 201), response.text
    return response.json()


def worker(db: Database, clock: FakeClock, policy: DeliveryPolicy | None = None) -> DeliveryWorker:
    return DeliveryWorker(db.write_engine, clock, policy or DeliveryPolicy(fetch=ALLOW))


def deliver(db: Database, clock: FakeClock) -> int:
    return asyncio.run(worker(db, clock).run_once())


def log(client: TestClient, token: str, webhook: dict[str, Any], **query: str) -> Any:
    path = f"{HOOKS}/{webhook['id']}/deliveries"
    answer = client.get(path, params=query, headers=auth(token))
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


_CLAIM_DATA = {"claim", "url", "ledger_seq"}
_MORE_DATA = {
    "claim.proposed": {"proposal"},
    "claim.resolved": {"outcome", "previous"},
    "claim.annulled": {"outcome", "previous"},
}
_DATA_FIELDS = {
    "crowd.moved": {"claim", "kind", "crowd", "previous", "change", "forecasters", "at"},
    "forecast.scored": {"claim", "outcome", "closed_at", "score", "ledger_seq"},
}


def test_every_event_reaches_a_webhook_signed(
    client: TestClient,
    tokens: Tokens,
    receiver: Receiver,
    server: EvidenceServer,
    clock: FakeClock,
) -> None:
    path = f"/ok/all-{id(clock)}"
    hook(client, receiver, tokens.alice, path)
    make_claim(client, tokens.editor, slug="a", closes_at=T0 + 2 * DAYS)
    post(client, tokens.alice, "/claims/a/forecasts", {"probability": 0.3})
    post(client, tokens.bob, "/claims/a/forecasts", {"probability": 0.4})
    tick(client)  # the crowd's first value is its baseline
    post(client, tokens.alice, "/claims/a/forecasts", {"probability": 0.9})
    post(client, tokens.bob, "/claims/a/forecasts", {"probability": 0.9})
    tick(client)  # crowd.moved
    clock.set(T0 + 1.5 * DAYS)
    tick(client)  # closing_soon
    clock.set(T0 + 3 * DAYS)
    tick(client)  # closed
    post(client, tokens.editor, "/claims/a/resolution", {"outcome": "yes"})
    post(client, tokens.editor, "/claims/a/resolution", {"outcome": "annulled"})
    early_claim(client, tokens, server)  # closes at T0 + 10 days; proposes yes at once
    tick(client)
    post(client, tokens.editor, f"/claims/{SLUG}/reopen", {"note": "cached"})
    tick(client)
    got = receiver.on(path)
    names = [r.json["event"] for r in got]
    assert set(names) == set(EventName), names
    for received in got:
        body = received.json
        assert received.verified, received.headers
        assert received.body == canonical(body) and set(body) == {
            "id",
            "event",
            "created_at",
            "data",
        }
        assert received.headers["content-type"] == "application/json"
        assert received.headers["forecast-ledger-event"] == body["event"]
        assert received.headers["forecast-ledger-delivery"] == body["id"]
        claim = body["data"]["claim"]
        if body["event"] in ("forecast.scored", "crowd.moved"):
            assert isinstance(claim, str)  # by slug, beside its own fields (SPEC §9)
            if body["event"] == "crowd.moved":  # sent while open: nobody's forecast
                assert b"alice" not in received.body and b"bob" not in received.body
            continue
        assert claim["my_forecast"] is None
        if claim["status"] in ("open", "upcoming"):  # nothing names who forecast what
            assert b"alice" not in received.body and b"bob" not in received.body
    for received in got:  # each event's `data` holds exactly the fields SPEC §9 lists
        name, data = received.json["event"], received.json["data"]
        assert set(data) == _DATA_FIELDS.get(name, _CLAIM_DATA | _MORE_DATA.get(name, set()))
        if name.startswith("claim."):
            numbered = name != "claim.closing_soon"  # a scheduler's notice: no ledger entry
            assert isinstance(data["ledger_seq"], int) is numbered, name
    proposed = next(r.json["data"] for r in got if r.json["event"] == "claim.proposed")
    assert proposed["proposal"]["outcome"] == "yes"
    in_order = sorted(got, key=lambda r: str(r.json["created_at"]))  # no order is promised
    scored = [r.json["data"] for r in in_order if r.json["event"] == "forecast.scored"]
    assert [s["score"] and s["score"]["handle"] for s in scored] == ["alice", None]
    moved = next(r.json["data"] for r in got if r.json["event"] == "crowd.moved")
    assert moved["change"] >= 0.1 and moved["forecasters"] == 2 and moved["kind"] == "binary"
    assert len({r.json["id"] for r in got}) == len(got)  # one delivery per event


def test_failures_back_off_then_fail_and_a_webhook_failing_72_hours_is_disabled(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    path = f"/fail/{id(clock)}"
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    make_claim(client, tokens.editor, slug="f1")
    for n in range(1, 11):
        assert deliver(db, clock) == 1
        assert deliver(db, clock) == 0  # nothing due before the backoff has passed
        [row] = log(client, tokens.alice, webhook)
        if n < 10:
            assert row["status"] == "pending"
            # due 2^(n-1) minutes after the attempt ended (the fake clock: within a second)
            tried = parse_stamp(row["attempts"][-1]["at"])
            wait = parse_stamp(row["next_attempt_at"]) - tried - timedelta(minutes=2 ** (n - 1))
            assert timedelta(0) <= wait < timedelta(seconds=1), (n, wait)
            clock.advance(minutes=2 ** (n - 1))
    assert row["status"] == "failed" and len(row["attempts"]) == 10
    assert all(a["response_status"] == 500 and a["error"] == "HTTP 500" for a in row["attempts"])
    assert len(receiver.on(path)) == 10 and len({r.json["id"] for r in receiver.on(path)}) == 1
    assert log(client, tokens.alice, webhook, status="failed") == [row]
    assert log(client, tokens.alice, webhook, status="delivered") == []
    state = client.get(f"{HOOKS}/{webhook['id']}", headers=auth(tokens.alice)).json()
    assert state["failing_since"] == row["attempts"][0]["at"] and state["active"]
    clock.advance(hours=72)
    make_claim(client, tokens.editor, slug="f2")
    deliver(db, clock)
    state = client.get(f"{HOOKS}/{webhook['id']}", headers=auth(tokens.alice)).json()
    assert not state["active"] and state["disabled_reason"] == "failing"
    redo = f"{HOOKS}/{webhook['id']}/deliveries/{row['id']}/redeliver"
    assert client.post(redo, headers=auth(tokens.alice)).status_code == 409  # disabled
    make_claim(client, tokens.editor, slug="f3")  # not sent to a disabled webhook
    on = {"active": True}
    client.patch(f"{HOOKS}/{webhook['id']}", json=on, headers=auth(tokens.alice))
    receiver.answer[path] = "ok"
    assert deliver(db, clock) == 0  # missed events are not replayed
    assert client.post(redo, headers=auth(tokens.alice)).status_code == 202
    assert client.post(redo, headers=auth(tokens.alice)).status_code == 409  # pending
    assert deliver(db, clock) == 1
    assert receiver.on(path)[-1].json["id"] == row["id"]  # the same id and body
    assert receiver.on(path)[-1].body == receiver.on(path)[0].body
    [again] = [d for d in log(client, tokens.alice, webhook) if d["id"] == row["id"]]
    assert again["status"] == "delivered" and len(again["attempts"]) == 11
    other = client.post(redo, headers=auth(tokens.bob))
    assert other.status_code == 404


def test_redirects_fail_and_are_not_followed(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    path = f"/moved/{id(clock)}"
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    make_claim(client, tokens.editor, slug="r")
    deliver(db, clock)
    [row] = log(client, tokens.alice, webhook)
    assert row["attempts"][0]["response_status"] == 302 and row["status"] == "pending"
    assert receiver.on("/ok/elsewhere") == []


def test_at_most_64_kib_of_an_answer_is_read(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    """A 2xx succeeds once its status is in; the sender stops reading after 64 KiB rather
    than wait out the 10 s for a body that never ends."""
    path = f"/flood/{id(clock)}"
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    make_claim(client, tokens.editor, slug="big-answer")
    assert deliver(db, clock) == 1
    [row] = log(client, tokens.alice, webhook)
    [attempt] = row["attempts"]
    assert row["status"] == "delivered" and attempt["response_status"] == 200
    assert attempt["error"] is None and attempt["duration_ms"] < 5000  # not the 10 s cut-off


def test_the_address_guard_runs_at_every_attempt(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    path = f"/ok/guarded-{id(clock)}"
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    make_claim(client, tokens.editor, slug="g")
    asyncio.run(worker(db, clock, DeliveryPolicy()).run_once())  # loopback no longer allowed
    [row] = log(client, tokens.alice, webhook)
    assert (
        "refused" in row["attempts"][0]["error"] and row["attempts"][0]["response_status"] is None
    )
    assert receiver.on(path) == []


@pytest.mark.parametrize("how", ["hang", "fail"])
def test_a_hanging_or_failing_receiver_slows_no_other_webhook(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock, how: str
) -> None:
    bad, good = f"/{how}/{id(clock)}", f"/ok/beside-{how}-{id(clock)}"
    hook(client, receiver, tokens.alice, bad, ["claim.published"])
    hook(client, receiver, tokens.bob, good, ["claim.published"])
    for n in range(6):
        make_claim(client, tokens.editor, slug=f"s{n}")
    stop = threading.Event()
    running = threading.Thread(target=lambda: asyncio.run(worker(db, clock).run(stop)), daemon=True)
    running.start()
    try:
        receiver.wait_for(6, path=good, timeout=20)
        if how == "hang":  # the bad one's four attempts are still waiting for an answer
            assert len(receiver.on(bad)) == 4
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            statuses = _statuses(db)
            if statuses.get(good) == ["delivered"] * 6:
                break
            time.sleep(0.05)
        assert statuses[good] == ["delivered"] * 6
        if how == "hang":
            assert _attempts_of(db, bad) == 0  # none of its attempts has ended yet
    finally:
        stop.set()
        running.join(30)


def _statuses(db: Database) -> dict[str, list[str]]:
    from sqlalchemy import text

    with db.read_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT w.url, d.status FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id")
        )
        found: dict[str, list[str]] = {}
        for url, status in rows:
            found.setdefault("/" + url.split("/", 3)[3], []).append(status)
        return found


def _attempts_of(db: Database, path: str) -> int:
    from sqlalchemy import text

    with db.read_engine.connect() as conn:
        query = (
            "SELECT count(*) FROM delivery_attempts a JOIN deliveries d ON d.id = a.delivery_id "
            "JOIN webhooks w ON w.id = d.webhook_id WHERE w.url LIKE :tail"
        )
        return int(conn.execute(text(query), {"tail": f"%{path}"}).scalar() or 0)


def test_an_event_goes_to_webhooks_subscribed_when_it_is_written(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    path = f"/ok/late-{id(clock)}"
    make_claim(client, tokens.editor, slug="before")
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    make_claim(client, tokens.editor, slug="after")
    deliver(db, clock)
    assert [r.json["data"]["claim"]["slug"] for r in receiver.on(path)] == ["after"]
    assert json.loads(receiver.on(path)[0].body)["data"]["ledger_seq"] > 0
    assert len(log(client, tokens.alice, webhook)) == 1


def test_two_workers_send_each_attempt_once_and_at_most_four_to_a_webhook(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    paths = [f"/slow/pair-{n}-{id(clock)}" for n in range(3)]
    for path in paths:
        hook(client, receiver, tokens.alice, path, ["claim.published"])
    for n in range(12):
        make_claim(client, tokens.editor, slug=f"p{n}")
    stop = threading.Event()
    workers = [
        threading.Thread(target=lambda: asyncio.run(worker(db, clock).run(stop)), daemon=True)
        for _ in range(2)
    ]
    for running in workers:
        running.start()
    try:
        got = [receiver.wait_for(12, path=path, timeout=30) for path in paths]
    finally:
        stop.set()
        for running in workers:
            running.join(30)
    for path, requests in zip(paths, got, strict=True):
        ids = [r.json["id"] for r in requests]
        assert len(ids) == len(set(ids)) == 12  # nothing sent twice
        assert receiver.most_open[path] <= 4
    assert max(receiver.most_open[path] for path in paths) == 4  # four at once, not more
    assert set(_statuses(db)[paths[0]]) == {"delivered"}


def test_sixty_redeliveries_an_hour_and_a_log_of_thirty_days(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    from forecasts.notify.deliveries import prune_deliveries

    path = f"/ok/many-{id(clock)}"
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    for n in range(61):
        make_claim(client, tokens.editor, slug=f"many-{n}")
    assert deliver(db, clock) == 61
    rows = log(client, tokens.alice, webhook, limit="100")
    assert len(rows) == 61 and {r["status"] for r in rows} == {"delivered"}
    base = f"{HOOKS}/{webhook['id']}/deliveries"
    answers = [
        client.post(f"{base}/{row['id']}/redeliver", headers=auth(tokens.alice)).status_code
        for row in rows
    ]
    assert answers == [202] * 60 + [429]
    assert client.post(f"{base}/nope/redeliver", headers=auth(tokens.alice)).status_code == 404
    first = log(client, tokens.alice, webhook, limit="2")
    assert [r["created_at"] for r in first] == sorted(
        (r["created_at"] for r in first), reverse=True
    )
    assert deliver(db, clock) == 60
    clock.advance(days=31)
    assert log(client, tokens.alice, webhook) == []  # kept 30 days
    # and not redelivered either, though the prune job has not run yet (it was a 202)
    gone = client.post(f"{base}/{rows[0]['id']}/redeliver", headers=auth(tokens.alice))
    assert gone.status_code == 404, gone.text
    assert prune_deliveries(db.write_engine, clock()) == 61


def test_redeliveries_at_once_stay_within_sixty_an_hour(
    client: TestClient, db: Database, tokens: Tokens, receiver: Receiver, clock: FakeClock
) -> None:
    """On PostgreSQL redeliveries at once each counted the same hour's requests and all got
    past the limit; the account's row is now locked while counting."""
    path = f"/ok/at-once-{id(clock)}"
    webhook = hook(client, receiver, tokens.alice, path, ["claim.published"])
    for n in range(66):
        make_claim(client, tokens.editor, slug=f"at-once-{n}")
    assert deliver(db, clock) == 66
    base = f"{HOOKS}/{webhook['id']}/deliveries"
    rows = log(client, tokens.alice, webhook, limit="100")
    for row in rows[:58]:
        answer = client.post(f"{base}/{row['id']}/redeliver", headers=auth(tokens.alice))
        assert answer.status_code == 202, answer.text
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(
            pool.map(
                lambda row: client.post(
                    f"{base}/{row['id']}/redeliver", headers=auth(tokens.alice)
                ),
                rows[58:],
            )
        )
    assert sorted(a.status_code for a in answers) == [202, 202] + [429] * 6


def test_a_database_error_does_not_end_deliveries(
    client: TestClient,
    db: Database,
    tokens: Tokens,
    receiver: Receiver,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The outbox's table gone for a moment (as in a restart of the database): the worker
    logs each failed turn and delivers once it is back, instead of its thread ending."""
    from sqlalchemy import text

    path = f"/ok/after-an-error-{id(clock)}"
    hook(client, receiver, tokens.alice, path, ["claim.published"])
    make_claim(client, tokens.editor, slug="after-an-error")
    with db.write_engine.begin() as conn:
        conn.execute(text("ALTER TABLE deliveries RENAME TO deliveries_away"))
    stop = threading.Event()
    running = threading.Thread(target=lambda: asyncio.run(worker(db, clock).run(stop)), daemon=True)
    running.start()
    try:
        deadline = time.monotonic() + 20
        while "could not claim deliveries" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "could not claim deliveries" in caplog.text
        with db.write_engine.begin() as conn:
            conn.execute(text("ALTER TABLE deliveries_away RENAME TO deliveries"))
        receiver.wait_for(1, path=path, timeout=20)
        assert running.is_alive()
    finally:
        stop.set()
        running.join(30)
