"""Email in a real browser: an address confirmed from the account page, and a password
reset end to end (SPEC §9), with the mail caught by a real SMTP server on 127.0.0.1."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from claims.clock import utc_now
from forecasts.notify.email.worker import run_email
from tests.browser.conftest import Site, _serve_site, sign_in
from tests.conftest import fresh_database
from tests.smtp_server import SmtpServer, running_smtp
from tests.web.pages.conftest import PASSWORD

NEW_PASSWORD = "a long new passphrase"


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpServer]:
    with running_smtp() as server:
        yield server


@pytest.fixture(scope="module")
def mail_site(
    tmp_path_factory: pytest.TempPathFactory, migrated_template: str, mail: SmtpServer
) -> Iterator[Site]:
    with fresh_database(tmp_path_factory.mktemp("mail"), migrated_template) as database_url:
        yield from _serve_site(database_url, smtp_url=mail.url)


def _delivered_link(site: Site, mail: SmtpServer, kind: str) -> str:
    """Run the scheduler's email job once and return the link of the one email it sent."""
    mailer = site.settings.mailer()
    assert mailer is not None
    run_email(site.db.write_engine, utc_now, mailer)
    [message] = mail.mailbox.take()
    found = re.search(rf"{re.escape(site.url)}/{kind}/[A-Za-z0-9_-]+", message.get_content())
    assert found is not None, message.get_content()
    return found.group(0)


def test_a_password_reset_end_to_end(
    page: Page, browser: Browser, mail_site: Site, mail: SmtpServer
) -> None:
    sign_in(page, mail_site, "maria")
    page.goto(mail_site.at("/account"))
    page.get_by_label("Address").fill("maria@example.org")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Send a confirmation link").click()
    expect(page.get_by_text("A confirmation link is on its way")).to_be_visible()
    page.goto(_delivered_link(mail_site, mail, "confirm"))
    page.get_by_role("button", name="Confirm your address").click()
    expect(page.get_by_text("maria@example.org is confirmed.")).to_be_visible()

    other = browser.new_context()  # somebody who forgot: not signed in anywhere
    try:
        forgot = other.new_page()
        forgot.goto(mail_site.at("/signin"))
        forgot.get_by_role("link", name="Forgot your password?").click()
        forgot.get_by_label("Handle").fill("maria")
        forgot.get_by_role("button", name="Email me a link").click()
        expect(forgot.get_by_text("a link to set a new password is on its way")).to_be_visible()
        forgot.goto(_delivered_link(mail_site, mail, "reset"))
        forgot.get_by_label("New password (at least 10 characters)").fill(NEW_PASSWORD)
        forgot.get_by_label("New password again").fill(NEW_PASSWORD)
        forgot.get_by_role("button", name="Set password").click()
        expect(forgot).to_have_url(mail_site.at("/signin"))
        expect(forgot.get_by_text("Your password is set")).to_be_visible()
        forgot.get_by_label("Handle").fill("maria")
        forgot.get_by_label("Password").fill(NEW_PASSWORD)
        forgot.get_by_role("button", name="Sign in").click()
        expect(forgot).to_have_url(mail_site.at("/"))
    finally:
        other.close()
    page.goto(mail_site.at("/account"))  # the first browser's session has ended
    expect(page).to_have_url(re.compile(r"/signin\?next=/account$"))
