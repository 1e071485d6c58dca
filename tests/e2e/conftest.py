"""Real processes: the forecast-ledger command and a uvicorn server on 127.0.0.1."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.claims.evidence_server import EvidenceServer
from tests.factories import make_account
from web.db import Database

BIN = Path(sys.executable).parent


def run_command(
    *args: str,
    database_url: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = False,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """`forecast-ledger ARGS` as a process: on `database_url` (with this environment), or
    with `env` as its whole environment."""
    if env is None:
        env = {**os.environ, "FORECAST_LEDGER_DATABASE_URL": database_url or ""}
    return subprocess.run(
        [str(BIN / "forecast-ledger"), *args],
        env=env,
        text=True,
        capture_output=True,
        check=check,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def evidence() -> Iterator[EvidenceServer]:
    """A real evidence server on 127.0.0.1 for a module's processes to fetch from."""
    server = EvidenceServer("127.0.0.1")
    server.start()
    yield server
    server.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Service:
    url: str
    env: dict[str, str]
    database_url: str

    def scalar(self, sql: str) -> object:
        """One value straight from the database (not through the app)."""
        db = Database(self.database_url)
        try:
            with db.read_engine.connect() as conn:
                return conn.exec_driver_sql(sql).scalar()
        finally:
            db.dispose()

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return run_command(*args, env=self.env, check=check)

    def token(self, handle: str, role: str = "forecaster") -> str:
        return self.cli("user", "add", handle, "--role", role).stdout.strip().splitlines()[-1]

    def direct_token(self, handle: str) -> str:
        """An account made in-process (each CLI start costs about a second)."""
        db = Database(self.env["FORECAST_LEDGER_DATABASE_URL"])
        try:
            return make_account(db, handle=handle)
        finally:
            db.dispose()


def start_server(
    env: dict[str, str], log: Path, *extra: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `forecast-ledger serve` on a free loopback port and wait until it answers."""
    port = free_port()
    with log.open("ab") as sink:
        process = subprocess.Popen(
            [str(BIN / "forecast-ledger"), "serve", "--port", str(port), *extra],
            env=env,
            stdout=sink,
            stderr=sink,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            time.sleep(0.1)
        if process.poll() is not None:
            raise RuntimeError(log.read_text())
    process.kill()
    raise RuntimeError("server did not start")


@pytest.fixture
def service(tmp_path: Path, database_url: str) -> Iterator[Service]:
    env = {
        **os.environ,
        "FORECAST_LEDGER_DATABASE_URL": database_url,
        "FORECAST_LEDGER_RATE_LIMIT": "0",
    }
    process, url = start_server(env, tmp_path / "serve.log", "--no-scheduler")
    try:
        yield Service(url, env, database_url)
    finally:
        process.terminate()
        process.wait(timeout=10)
