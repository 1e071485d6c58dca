"""FORECAST_LEDGER_SMTP_URL: the three forms of SPEC §9 and what is refused."""

import pytest
from pydantic import ValidationError

from forecasts.notify.email.smtp import SmtpTarget, parse_smtp_url
from web.settings import Settings


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("smtp://mail.example.org", SmtpTarget("mail.example.org", 587, "starttls")),
        ("smtp://127.0.0.1:2525?tls=none", SmtpTarget("127.0.0.1", 2525, "none")),
        ("smtp://relay?tls=none", SmtpTarget("relay", 25, "none")),
        (
            "smtps://u%40x:p%3Ass@mail.example.org",
            SmtpTarget("mail.example.org", 465, "tls", "u@x", "p:ss"),
        ),
        (
            "smtp://ana:secret@mail.example.org:1587",
            SmtpTarget("mail.example.org", 1587, "starttls", "ana", "secret"),
        ),
    ],
)
def test_the_forms_of_the_url(url: str, target: SmtpTarget) -> None:
    assert parse_smtp_url(url) == target


@pytest.mark.parametrize(
    "url",
    [
        "http://mail.example.org",
        "smtp://",
        "smtp://mail.example.org?tls=maybe",
        "smtps://mail.example.org?tls=none",
        "smtp://mail.example.org/path",
        "smtp://mail.example.org:99999",
        "smtp://mail.example.org?other=1",
    ],
)
def test_bad_urls_are_refused_without_echoing_a_password(url: str) -> None:
    with pytest.raises(ValueError):
        parse_smtp_url(url)
    with pytest.raises(ValidationError) as error:
        Settings(smtp_url=url.replace("mail.", "ana:hunter2@mail."))
    assert "hunter2" not in str(error.value).split("input_value")[0]


def test_email_is_on_only_with_both_urls() -> None:
    assert not Settings(smtp_url="smtp://relay?tls=none").email_on
    assert not Settings(public_url="https://ledger.example").email_on
    both = Settings(smtp_url="smtp://relay?tls=none", public_url="https://ledger.example")
    mailer = both.mailer()
    assert mailer is not None and mailer.sender == "forecast-ledger@ledger.example"
