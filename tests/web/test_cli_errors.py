"""Bad arguments and bad settings: one line naming them and what they accept, exit status 2."""

import os

import pytest

from tests.e2e.conftest import run_command

CASES = [
    (
        {"FORECAST_LEDGER_FETCH_ALLOW": "notacidr"},
        ["tick"],
        "FORECAST_LEDGER_FETCH_ALLOW='notacidr' is not accepted: it takes comma-separated CIDRs",
    ),
    (
        {"FORECAST_LEDGER_CHALLENGE_WINDOW": "abc"},
        ["migrate"],
        "FORECAST_LEDGER_CHALLENGE_WINDOW='abc' is not accepted: it takes a number of seconds",
    ),
    (
        {"FORECAST_LEDGER_LOG_FORMAT": "xml"},
        ["serve"],
        "FORECAST_LEDGER_LOG_FORMAT='xml' is not accepted: it takes text or json",
    ),
    (
        {"FORECAST_LEDGER_PUBLIC_URL": "https://ledger.example.org/path"},
        ["migrate"],
        "FORECAST_LEDGER_PUBLIC_URL is not accepted: it takes scheme://host[:port], or empty "
        "(must be scheme://host[:port]",
    ),
    (
        {"FORECAST_LEDGER_SMTP_URL": "smtp://ana:hunter2@mail.example.org/x"},
        ["migrate"],
        "FORECAST_LEDGER_SMTP_URL is not accepted: it takes smtp://",  # never the password
    ),
    (
        {"FORECAST_LEDGER_SMTP_URL": "smtp://ana:hunter2@mail.example.org?tls=none"},
        ["migrate"],
        "FORECAST_LEDGER_SMTP_URL is not accepted: it takes smtp://[user:password@]host[:port]"
        "[?tls=none], smtps://…, or empty (a user and password need TLS",
    ),
    (
        {"FORECAST_LEDGER_SMTP_CA_FILE": "no-such-ca.pem"},
        ["migrate"],
        "FORECAST_LEDGER_SMTP_CA_FILE='no-such-ca.pem' is not accepted: it takes the path of a "
        "readable PEM file of CA certificates, or empty (must be a readable PEM file",
    ),
    (
        {},
        ["user", "role", "carol", "superuser"],
        "forecast-ledger user role: Invalid value for 'role': 'superuser' is not one of "
        "'forecaster', 'editor', 'admin'.",
    ),
    ({}, ["serve", "--port", "abc"], "forecast-ledger serve: Invalid value for '--port'"),
    ({}, ["user", "add", "Not_A_Handle"], "Invalid value for 'handle': handles are lowercase"),
]


@pytest.mark.parametrize(("env", "args", "expected"), CASES)
def test_one_line_and_exit_status_2(
    database_url: str, env: dict[str, str], args: list[str], expected: str
) -> None:
    done = run_command(
        *args, env={**os.environ, "FORECAST_LEDGER_DATABASE_URL": database_url, **env}
    )
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    assert expected in lines[0]
    assert "Traceback" not in done.stderr + done.stdout and done.stdout == ""
