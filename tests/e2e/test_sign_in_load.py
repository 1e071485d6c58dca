"""A burst of sign-ins at a real `serve` process: the excess is refused quickly (429 with
Retry-After) and an unrelated request stays fast while the rest are hashed (issue #18)."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from forecasts.accounts.service import create_account
from tests.e2e.conftest import Service
from tests.factories import T0
from tests.web.pages.conftest import PASSWORD, csrf_of
from web.db import Database

BURST = 20
SLOW = 2.0  # seconds: generous; 30 sign-ins at once made this request take 8 s before


def test_a_burst_of_sign_ins_is_bounded_and_others_stay_fast(service: Service) -> None:
    db = Database(service.database_url)
    with db.writing() as session:
        create_account(session, "maria", role="forecaster", now=T0, password=PASSWORD)
    db.dispose()
    browsers = [httpx.Client(base_url=service.url, timeout=60) for _ in range(BURST)]
    tokens = [csrf_of(browser.get("/signin").text) for browser in browsers]
    start, done = threading.Barrier(BURST + 1), threading.Event()

    def sign_in(k: int) -> httpx.Response:
        start.wait(10)
        form = {"handle": "maria", "password": PASSWORD, "csrf_token": tokens[k]}
        return browsers[k].post("/signin", data=form)

    def probe() -> list[float]:
        start.wait(10)
        took = []
        with httpx.Client(base_url=service.url, timeout=60) as reader:
            while not done.is_set():
                began = time.perf_counter()
                assert reader.get("/api/v1/ledger/head").status_code == 200
                took.append(time.perf_counter() - began)
                time.sleep(0.02)
        return took

    with ThreadPoolExecutor(BURST + 1) as pool:
        probing = pool.submit(probe)
        answers = list(pool.map(sign_in, range(BURST)))
        done.set()
        took = probing.result(60)
    for browser in browsers:
        browser.close()
    statuses = [answer.status_code for answer in answers]
    refused = [answer for answer in answers if answer.status_code == 429]
    print(f"sign-ins {sorted(statuses)}; /ledger/head slowest {max(took):.3f} s of {len(took)}")
    assert statuses.count(303) >= 1 and set(statuses) <= {303, 429}
    assert len(refused) >= BURST - 10  # ten a minute from one address
    assert all(1 <= int(answer.headers["Retry-After"]) <= 61 for answer in refused)
    assert max(took) < SLOW
