"""Email over real TLS: a STARTTLS and an smtps aiosmtpd server on 127.0.0.1 presenting
certificates of a throwaway private CA, trusted through FORECAST_LEDGER_SMTP_CA_FILE."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from forecasts.notify.email.worker import run_email
from tests.factories import FakeClock, queue_confirmation, the_email
from tests.smtp_server import (
    PASSWORD,
    USER,
    Certificates,
    certificates,
    mailer_for,
    running_smtp,
)
from web.db import Database
from web.settings import Settings

__all__ = ["certificates"]


def queue(db: Database, clock: FakeClock) -> None:
    queue_confirmation(db, handle="maria", now=clock())


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_tls_delivers_with_the_private_ca_and_logs_in_only_over_tls(
    db: Database, clock: FakeClock, settings: Settings, certificates: Certificates, security: str
) -> None:
    scheme = "smtps" if security == "tls" else "smtp"
    with running_smtp(security, certificates.loopback, auth=True) as server:
        mailer = mailer_for(settings, server.url_as(scheme, login=True), certificates.ca)
        queue(db, clock)
        assert run_email(db.write_engine, clock, mailer) == 1
        [message] = server.mailbox.take()
    assert message["To"] == "maria@example.org" and "/confirm/" in message.get_content()
    assert server.mailbox.encrypted == [True] and server.mailbox.helo == ["testserver"]
    assert server.mailbox.logins == [(USER, True)]
    assert the_email(db).status == "sent"


def _assert_retried_without_sending(
    db: Database, caplog: pytest.LogCaptureFixture, reason: str
) -> None:
    queued = the_email(db)
    assert queued.status == "pending" and queued.attempts == 1
    assert reason in (queued.last_error or "")
    assert f"email {queued.id}: retry: " in caplog.text and reason in caplog.text
    assert PASSWORD not in caplog.text and "/confirm/" not in caplog.text


@pytest.mark.parametrize("security", ["starttls", "tls"])
@pytest.mark.parametrize(
    ("trusted", "pair", "reason"),
    [
        (False, "loopback", "unable to get local issuer certificate"),  # no CA given
        (True, "elsewhere", "IP address mismatch"),  # the CA's, for another name
    ],
)
def test_an_unverified_server_gets_no_password_and_the_email_is_retried(
    db: Database,
    clock: FakeClock,
    settings: Settings,
    certificates: Certificates,
    caplog: pytest.LogCaptureFixture,
    security: str,
    trusted: bool,
    pair: str,
    reason: str,
) -> None:
    caplog.set_level("INFO")
    scheme = "smtps" if security == "tls" else "smtp"
    with running_smtp(security, getattr(certificates, pair), auth=True) as server:
        url = server.url_as(scheme, login=True)
        mailer = mailer_for(settings, url, certificates.ca if trusted else None)
        queue(db, clock)
        assert run_email(db.write_engine, clock, mailer) == 0
    assert server.mailbox.messages == [] and server.mailbox.logins == []
    _assert_retried_without_sending(db, caplog, reason)


def test_a_server_without_starttls_is_refused_unless_the_url_says_tls_none(
    db: Database, clock: FakeClock, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO")
    with running_smtp("none", auth=True) as server:  # offers AUTH in plain text, no STARTTLS
        queue(db, clock)
        mailer = mailer_for(settings, server.url_as("smtp", login=True))
        assert run_email(db.write_engine, clock, mailer) == 0
        assert server.mailbox.messages == [] and server.mailbox.logins == []
        _assert_retried_without_sending(db, caplog, "STARTTLS extension not supported")
    with running_smtp("none") as plain:
        clock.advance(minutes=2)
        assert run_email(db.write_engine, clock, mailer_for(settings, plain.url)) == 1
        assert len(plain.mailbox.take()) == 1 and plain.mailbox.encrypted == [False]


def test_a_password_with_tls_none_is_refused_at_start() -> None:
    with pytest.raises(ValidationError) as error:
        Settings(smtp_url=f"smtp://{USER}:{PASSWORD}@relay.example?tls=none")
    assert "need TLS" in str(error.value) and PASSWORD not in str(error.value)


def test_the_ca_file_must_be_a_readable_pem_bundle(
    tmp_path: Path, certificates: Certificates
) -> None:
    not_pem = tmp_path / "ca.pem"
    not_pem.write_text("not a certificate\n")
    for bad in (tmp_path / "missing.pem", not_pem):
        with pytest.raises(ValidationError) as error:
            Settings(smtp_ca_file=str(bad))
        assert "smtp_ca_file" in str(error.value) and "PEM" in str(error.value)
    assert Settings(smtp_ca_file=str(certificates.ca)).smtp_ca_file == str(certificates.ca)


def test_a_refused_login_drops_the_email_and_logs_why(
    db: Database,
    clock: FakeClock,
    settings: Settings,
    certificates: Certificates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """SPEC §9: a 5xx drops the message, a 535 to AUTH too; the log line says why, without
    the password, and the login was tried only over TLS."""
    caplog.set_level("INFO")
    with running_smtp("starttls", certificates.loopback, auth=True) as server:
        wrong = f"smtp://{USER}:not-{PASSWORD}@127.0.0.1:{server.port}"
        queue(db, clock)
        assert run_email(db.write_engine, clock, mailer_for(settings, wrong, certificates.ca)) == 0
        # smtplib tries each mechanism offered (PLAIN, then LOGIN), each over TLS
        assert set(server.mailbox.logins) == {(USER, True)} and server.mailbox.messages == []
    dropped = the_email(db)
    assert dropped.status == "dropped" and dropped.attempts == 1
    assert (dropped.last_error or "").startswith("535")
    assert f"email {dropped.id}: dropped: 535" in caplog.text
    assert PASSWORD not in caplog.text and "/confirm/" not in caplog.text


def test_smtps_to_a_starttls_port_is_retried_with_the_reason(
    db: Database,
    clock: FakeClock,
    settings: Settings,
    certificates: Certificates,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A common slip: smtps:// with port 587. The server's plain greeting is no TLS."""
    caplog.set_level("INFO")
    with running_smtp("starttls", certificates.loopback, auth=True) as server:
        queue(db, clock)
        mailer = mailer_for(settings, server.url_as("smtps", login=True), certificates.ca)
        assert run_email(db.write_engine, clock, mailer) == 0
    assert server.mailbox.logins == []
    _assert_retried_without_sending(db, caplog, "WRONG_VERSION_NUMBER")


def test_missing_openssl_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.factories as factories

    monkeypatch.setattr(factories.shutil, "which", lambda _name: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception):
        factories.openssl()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception):
        factories.openssl()
