"""docs/notifications.md as a receiver reads it: its curl commands register a webhook, and its
`verify` snippet, run as written, accepts a real delivery and refuses a forged or stale one."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import Tokens
from tests.factories import FakeClock, make_claim
from tests.forecasts.notify.receiver import Receiver
from tests.web.docs_examples import HOST, code_block, commands, send
from tests.web.test_webhook_deliveries import _receiver, deliver, receiver, settings
from web.db import Database

__all__ = ["_receiver", "receiver", "settings"]
DOC = "docs/notifications.md"


@pytest.fixture
def clock() -> FakeClock:
    # the snippet checks `t` against time.time(): deliveries are stamped with the real time
    return FakeClock(now=datetime.now(UTC))


def test_the_registration_commands_run_as_written(
    client: TestClient, receiver: Receiver, tokens: Tokens, db: Database, clock: FakeClock
) -> None:
    names = {"API": f"{HOST}/api/v1", "ME": tokens.alice}
    answers = []
    for words in commands(code_block(DOC, "Registering a webhook")):
        # the example's host cannot be resolved here: the receiver on 127.0.0.1 stands in
        words = [
            w.replace("https://hooks.example.org/ledger", receiver.url("/ok/doc")) for w in words
        ]
        response = send(client, words, names)
        assert response.status_code < 400, f"{' '.join(words)}\n-> {response.text}"
        answers.append(response.json())
    made, listed, log = answers
    assert made["secret"].startswith("whsec_") and made["id"] == 1  # the id the example uses
    assert "secret" not in listed["items"][0] and log["items"] == []


def _snippet() -> Any:
    namespace: dict[str, Any] = {}
    exec(code_block(DOC, "Verifying a signature (for receivers)", "python"), namespace)
    return namespace["verify"]


def test_the_verify_snippet_accepts_a_delivery_and_refuses_forgeries(
    client: TestClient, receiver: Receiver, tokens: Tokens, db: Database, clock: FakeClock
) -> None:
    verify = _snippet()
    body = {"url": receiver.url("/ok/snippet"), "events": ["claim.published"]}
    secret = client.post(
        "/api/v1/me/webhooks", json=body, headers={"Authorization": f"Bearer {tokens.alice}"}
    ).json()["secret"]
    make_claim(client, tokens.editor, slug="signed", closes_at=clock.now + timedelta(days=30))
    assert deliver(db, clock) == 1
    (got,) = receiver.wait_for(1, path="/ok/snippet")
    header = got.headers["forecast-ledger-signature"]
    assert verify(secret, header, got.body) is True
    assert got.json["id"] == got.headers["forecast-ledger-delivery"]
    assert set(got.json) == {"id", "event", "created_at", "data"}
    assert verify(secret, header, got.body + b" ") is False
    assert verify("whsec_" + "0" * 64, header, got.body) is False
    t = header.split(",")[0].removeprefix("t=")
    assert abs(int(t) - time.time()) < 60
    stale = header.replace(f"t={t}", f"t={int(t) - 301}")
    assert verify(secret, stale, got.body) is False
    assert verify(secret, "v1=abc,t=1", got.body) is False
