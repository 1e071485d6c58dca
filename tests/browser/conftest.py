"""A real browser (Debian's chromium, driven by Playwright) against the app served by uvicorn.

The app runs in a thread on 127.0.0.1 over a copy of the migrated database, seeded with the
demo. Chromium is never downloaded: without /usr/bin/chromium the tests skip, except in CI
(CI=true), where a missing browser is a failure.
"""

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    Playwright,
    expect,
    sync_playwright,
)

from tests.claims.conftest import _servers, server
from tests.conftest import fresh_database
from tests.e2e.conftest import free_port
from tests.factories import make_domain_claim
from tests.web.pages.conftest import PASSWORD, seed
from web.app import create_app
from web.db import Database
from web.settings import Settings

__all__ = ["_servers", "server"]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LONE_SLUG = "lone-browser-claim"
SCREENSHOTS = Path(
    os.environ.get("FORECAST_LEDGER_SCREENSHOTS", Path(__file__).parents[2] / "screenshots")
)


@dataclass
class Site:
    url: str
    db: Database
    settings: Settings

    def at(self, path: str) -> str:
        return self.url + path


def _chromium() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = f"{CHROMIUM} is missing: apt-get install -y chromium"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, migrated_template: str) -> Iterator[Site]:
    with fresh_database(tmp_path_factory.mktemp("browser"), migrated_template) as database_url:
        yield from _serve_site(database_url)


def _serve_site(database_url: str, smtp_url: str = "") -> Iterator[Site]:
    """The site; with `smtp_url`, email is on (and the public URL is the site's address)."""
    db = Database(database_url)
    now = datetime.now(UTC)
    seed(db, now)
    make_domain_claim(db, slug=LONE_SLUG, now=now, closes_at=now + timedelta(days=30))
    port = free_port()
    settings = Settings(
        database_url=database_url,
        rate_limit=0,
        secret_key="browser-tests",
        fetch_allow="127.0.0.1/32",
        smtp_url=smtp_url,
        public_url=f"http://127.0.0.1:{port}" if smtp_url else "",
    )
    app = create_app(settings, migrate=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.02)
    try:
        yield Site(f"http://127.0.0.1:{port}", db, settings)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        db.dispose()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    _chromium()
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=_chromium(), args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    made = browser.new_context(viewport={"width": 1280, "height": 900})
    made.set_default_timeout(10_000)
    yield made
    made.close()


@pytest.fixture
def dialogs() -> list[str]:
    return []


@pytest.fixture
def page(context: BrowserContext, dialogs: list[str]) -> Page:
    """A page that records (and dismisses) every dialog a script might open."""
    opened = context.new_page()
    opened.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    return opened


def _credentials(page: Page, site: Site, path: str, handle: str, button: str) -> None:
    page.goto(site.at(path))
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name=button).click()
    expect(page).to_have_url(site.at("/"))


def sign_up(page: Page, site: Site, handle: str) -> None:
    _credentials(page, site, "/signup", handle, "Create account")


def sign_in(page: Page, site: Site, handle: str) -> None:
    _credentials(page, site, "/signin", handle, "Sign in")


def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
