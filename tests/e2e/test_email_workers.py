"""Two `forecast-ledger tick` processes at once, one database, a STARTTLS server with a
private CA and a login (FORECAST_LEDGER_SMTP_URL, FORECAST_LEDGER_SMTP_CA_FILE): every due
email arrives once, over TLS, and the password went only over TLS."""

import os
import subprocess

import pytest

from claims.clock import utc_now
from tests.e2e.conftest import BIN
from tests.factories import queue_confirmation
from tests.forecasts.notify.test_email_workers import recipients, statuses, waiting_items
from tests.smtp_server import USER, Certificates, certificates, running_smtp
from web.db import Database

__all__ = ["certificates"]


@pytest.mark.slow
def test_two_ticks_at_once_send_every_email_once_over_tls(
    database_url: str, certificates: Certificates
) -> None:
    db = Database(database_url)
    try:
        streamed = [f"s{n}" for n in range(10)]
        waiting_items(db, streamed, utc_now)
        confirming = [f"c{n}" for n in range(10)]
        for handle in confirming:
            queue_confirmation(db, handle=handle, now=utc_now())
        with running_smtp("starttls", certificates.loopback, auth=True) as server:
            env = {
                **os.environ,
                "FORECAST_LEDGER_DATABASE_URL": database_url,
                "FORECAST_LEDGER_PUBLIC_URL": "https://ledger.example",
                "FORECAST_LEDGER_SMTP_URL": server.url_as("smtp", login=True),
                "FORECAST_LEDGER_SMTP_CA_FILE": str(certificates.ca),
            }
            command = [str(BIN / "forecast-ledger"), "tick"]
            ticks = [
                subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                for _ in range(2)
            ]
            for tick in ticks:
                _, err = tick.communicate(timeout=120)
                assert tick.returncode == 0, err.decode()
        assert recipients(server) == {f"{h}@example.org": 1 for h in streamed + confirming}
        assert set(server.mailbox.encrypted) == {True}
        assert server.mailbox.logins and set(server.mailbox.logins) == {(USER, True)}
        assert statuses(db) == {"sent": len(streamed) * 2 + len(confirming)}
    finally:
        db.dispose()
