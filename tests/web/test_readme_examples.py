"""The README's walk through the API, run as written against the demo, and its settings table
read against the settings: a new user's first commands must do what the text says."""

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from pydantic_core import PydanticUndefined

from tests.factories import FakeClock, run_cli
from tests.web.docs_examples import HOST, code_block, commands, section, send
from web.app import create_app
from web.db import Database
from web.demo import seed_demo
from web.settings import Settings


def test_the_walk_through_the_api_runs_as_written_on_the_demo(
    database_url: str, db: Database
) -> None:
    now = datetime.now(UTC)  # the README's dates are real ones: they must lie ahead
    seed_demo(db, now=now)
    names: dict[str, str] = {"API": f"{HOST}/api/v1"}
    requests = []
    for words in commands(code_block("README.md", "A walk through the API")):
        assignment = re.fullmatch(
            r"(\w+)=\$\(\.venv/bin/forecast-ledger (.*) \| tail -n 1\)", " ".join(words)
        )
        if words[0] == "curl":
            requests.append(words)
        elif assignment:  # EDITOR=$(.venv/bin/forecast-ledger user add ... | tail -n 1)
            code, output = run_cli(database_url, *assignment.group(2).split())
            assert code == 0, output
            names[assignment.group(1)] = output.strip().splitlines()[-1]
        else:
            assert words[0] == "export" or "=" in words[0], words
    assert len(requests) >= 15
    settings = Settings(database_url=database_url, rate_limit=0)
    app = create_app(settings, clock=FakeClock(now=now + timedelta(seconds=5)), migrate=False)
    answers: list[tuple[str, Any]] = []
    with TestClient(app, base_url=HOST) as client:
        for words in requests:
            response = send(client, words, names)
            assert response.status_code < 400, (
                f"{' '.join(words)}\n-> {response.status_code} {response.text}"
            )
            answers.append(
                (
                    f"{response.request.method} {response.request.url.raw_path.decode()}",
                    response.json(),
                )
            )
    # what the comments promise: odds 1:3 are a probability of 0.25, yours is shown with the
    # crowd, the numeric claim takes quantiles, the claimant's claim is listed under it
    forecasts = [answer for asked, answer in answers if asked.endswith("/forecasts")]
    assert [f.get("probability") for f in forecasts] == [0.22, 0.25, None]
    assert len(forecasts[2]["cdf"]) == 201  # the quantiles, read as a distribution
    answer = dict(answers)
    mine = answer["GET /api/v1/claims/capcut-top-grossing-2027"]
    assert mine["my_forecast"]["probability"] == 0.25 and mine["crowd_probability"] == 0.25
    cited = answer["GET /api/v1/claims?claimant=ana-lyst"]["items"]
    assert [c["slug"] for c in cited] == ["capcut-top-grossing-2027"]
    scores = answer["GET /api/v1/claims/gemini-omni-announced-at-io-2026/scores"]["items"]
    assert {"@crowd", "ana"} <= {row["handle"] for row in scores}
    assert all(row["brier"] is not None for row in scores)


def test_the_verify_and_export_commands_run_as_written(
    database_url: str, db: Database, tmp_path: Path
) -> None:
    seed_demo(db, now=datetime.now(UTC))
    code, output = run_cli(database_url, "verify")
    head = re.search(r"head ([0-9a-f]{64})", output)
    assert code == 0 and head is not None, output
    block = code_block("README.md", "A walk through the API", occurrence=1)
    ran = []
    for words in commands(block.replace("<published head hash>", head.group(1))):
        assert words[0] == ".venv/bin/forecast-ledger", words
        args = [str(tmp_path / w) if w.endswith(".jsonl") else w for w in words[1:]]
        code, output = run_cli(database_url, *args)
        assert code == 0 and "FAILED" not in output, f"{' '.join(words)}\n{output}"
        ran.append(args[0])
    assert ran == ["verify", "export", "verify"]
    assert (tmp_path / "ledger.jsonl").stat().st_size > 0


def test_the_settings_table_names_every_setting_with_its_default() -> None:
    rows = re.findall(
        r"^\| `FORECAST_LEDGER_(\w+)` \| (.*?) \|", section("README.md", "Settings"), re.M
    )
    documented = {name.lower(): default.strip("`") for name, default in rows}
    fields = Settings.model_fields
    assert set(documented) == set(fields)
    for name, info in fields.items():
        default = info.default
        assert default is not PydanticUndefined, name
        if isinstance(default, bool):
            assert documented[name] == str(default).lower(), name
        elif isinstance(default, int | float):
            assert float(documented[name]) == default, name
        elif default == "":  # empty, or what the process chooses when unset
            assert documented[name] in ("empty", "random per process") or "<" in documented[name]
        else:
            assert documented[name] == default, name
