"""Claimants' pages show the worked example's figures, void claims apart, and claims link
their claimant."""

import re
from datetime import timedelta

from fastapi.testclient import TestClient

from tests import claimant_example as example
from tests.conftest import Tokens
from tests.factories import T0, FakeClock, make_claim, make_claimant
from web.db import Database


def _figure(html: str, name: str) -> str:
    match = re.search(rf'<dd id="{name}">([^<]*)</dd>', html)
    assert match is not None, name
    return match.group(1)


def test_the_worked_example_on_the_pages(
    client: TestClient, clock: FakeClock, tokens: Tokens, db: Database
) -> None:
    example.build(client, clock, tokens)
    table = client.get("/claimants")
    assert table.status_code == 200
    row = re.search(r'<a href="/claimants/analyst">Analyst</a></td>(.*?)</tr>', table.text, re.S)
    assert row is not None
    cells = re.findall(r"<td>([^<]*)</td>", row.group(1))
    assert cells == ["person", "4 resolved, 1 open, 1 void", "75%", "1.94"]
    assert "a 1-unit bet on their word" in table.text  # the one-line explanation
    page = client.get("/claimants/analyst").text
    assert _figure(page, "claims-resolved") == "4"
    assert _figure(page, "hit-rate") == "75.0%"
    assert _figure(page, "mean-consensus") == "35.0%"
    assert _figure(page, "yield") == "1.944"  # 35/18
    assert _figure(page, "brier") == "0.0975"
    claims, void = page.split('id="h-void"')
    assert 'href="/claims/voided"' in void and 'href="/claims/voided"' not in claims
    assert "Crowd on their side over the claim's life (consensus): 40.0%" in claims
    assert (
        "I say it denies." in claims and 'href="https://example.org/analyst/predictions"' in claims
    )
    assert claims.count('class="said"') == 4  # beside each binary claim's crowd (not voided)
    claim_page = client.get("/claims/denied").text
    assert '<a href="/claimants/analyst" class="claimant">Analyst</a> says it will not happen' in (
        claim_page
    )
    assert client.get("/claimants/nobody").status_code == 404


def test_a_numeric_claims_outcome_is_written_as_its_page_writes_it(
    client: TestClient, clock: FakeClock, tokens: Tokens
) -> None:
    make_claimant(client, tokens.editor, slug="ana")
    window = {"opens_at": T0, "closes_at": T0 + timedelta(days=1)}
    number = {"kind": "numeric", "range_min": 0, "range_max": 10_000_000, "unit": "USD"}
    cited = {"claimant": "ana", "quote": "About two million."}
    make_claim(client, tokens.editor, slug="n", source=cited, **number, **window)
    make_claim(
        client, tokens.editor, slug="b", source={"claimant": "ana", "stance": "asserts"}, **window
    )
    clock.advance(days=2)
    example.resolve(client, tokens, "n", 2_100_000)
    example.resolve(client, tokens, "b", "yes")
    page = client.get("/claimants/ana")
    assert page.status_code == 200, page.text
    assert "resolved: 2.1M USD" in page.text and "resolved: yes" in page.text
