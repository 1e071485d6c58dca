"""The real service under concurrent clients, and `verify` catching tampering."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy.exc import DatabaseError

from tests.e2e.conftest import Service
from tests.factories import rewrite_behind_the_app

CLAIM = {
    "slug": "concurrent",
    "title": "Concurrent",
    "resolution_criteria": "x",
    "closes_at": "2030-01-01T00:00:00Z",
}


def test_concurrent_submissions_are_all_stored_once(service: Service, tmp_path: Path) -> None:
    editor = service.token("eddie", "editor")
    tokens = [service.direct_token(f"f{index}") for index in range(8)]
    created = httpx.post(
        f"{service.url}/api/v1/claims", json=CLAIM, headers={"Authorization": f"Bearer {editor}"}
    )
    assert created.status_code == 201, created.text

    http = httpx.Client(timeout=30)

    def submit(index: int) -> tuple[int, int | None]:
        token = tokens[index % len(tokens)]
        response = http.post(
            f"{service.url}/api/v1/claims/concurrent/forecasts",
            json={"probability": round(0.01 + (index % 97) / 100, 3)},
            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"k-{index}"},
        )
        return response.status_code, response.json().get("ledger_seq")

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(submit, range(400)))
    assert {status for status, _ in results} == {201}
    seqs = [seq for _, seq in results]
    assert len(set(seqs)) == 400
    with ThreadPoolExecutor(max_workers=16) as pool:  # retries replay, nothing doubles
        replays = list(pool.map(submit, range(0, 400, 7)))
    assert [seq for _, seq in replays] == seqs[::7]
    http.close()
    assert service.scalar("SELECT count(*) FROM forecasts") == 400
    head = httpx.get(f"{service.url}/api/v1/ledger/head").json()
    assert head["seq"] == 401
    verified = service.cli("verify", "--expect-head", head["hash"])
    assert verified.returncode == 0 and "OK" in verified.stdout
    unknown = service.cli("verify", "--expect-head", "f" * 64, check=False)
    assert unknown.returncode == 1 and "seq 402" not in unknown.stdout + unknown.stderr
    assert f"FAILED: the expected head {'f' * 64} is not in the chain" in unknown.stdout
    export = tmp_path / "ledger.jsonl"
    service.cli("export", "--file", str(export))
    assert (
        service.cli("verify", "--file", str(export), "--expect-head", head["hash"]).returncode == 0
    )


def test_verify_fails_and_names_a_tampered_row(service: Service, tmp_path: Path) -> None:
    editor = service.token("eddie", "editor")
    alice = service.token("alice")
    httpx.post(
        f"{service.url}/api/v1/claims", json=CLAIM, headers={"Authorization": f"Bearer {editor}"}
    )
    for probability in (0.3, 0.4, 0.5):
        response = httpx.post(
            f"{service.url}/api/v1/claims/concurrent/forecasts",
            json={"probability": probability},
            headers={"Authorization": f"Bearer {alice}"},
        )
        assert response.status_code == 201
    service.cli("user", "revoke", "alice")
    revoked = httpx.post(
        f"{service.url}/api/v1/claims/concurrent/forecasts",
        json={"probability": 0.6},
        headers={"Authorization": f"Bearer {alice}"},
    )
    assert revoked.status_code == 401  # even while the server's token cache still holds it
    with pytest.raises(DatabaseError, match="append-only"):
        service.scalar("UPDATE forecasts SET probability = 0.9 WHERE ledger_seq = 3")
    rewrite_behind_the_app(
        service.database_url,
        "forecasts",
        "UPDATE forecasts SET probability = 0.9 WHERE ledger_seq = 3",
    )
    result = service.cli("verify", check=False)
    assert result.returncode != 0
    assert "seq 3" in result.stdout
