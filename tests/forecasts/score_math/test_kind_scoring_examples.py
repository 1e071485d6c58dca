"""Every figure of SPEC §7's worked examples, through the production score_batch."""

import hashlib
import re
from dataclasses import fields
from typing import Any

import numpy as np
import pytest

from forecasts.score_math.kind_scoring import mc_crowd_after_each, numeric_crowd_after_each
from forecasts.score_math.scoring import CROWD_HANDLE, ScoreRow
from tests.oracles.kinds_examples import EXAMPLES as EXAMPLES_FILE
from tests.oracles.kinds_examples import (
    events_of,
    example_window,
    load,
    parse_time,
    score_example,
)
from tests.oracles.scoring import assert_example_rows
from tests.oracles.scoring_naive import score_kind_claim_naive

TOLERANCE = 1e-9
SCORE_FIELDS = [f.name for f in fields(ScoreRow) if f.name != "handle"]
EXAMPLES = [pytest.param(example, id=example["name"]) for example in load()]


def test_the_copies_are_the_ones_tests_data_readme_names() -> None:
    """tests/data holds the spec's examples byte for byte; its README lists their sha256
    (compare them with the spec's): an edit of a copy shows here."""
    data = EXAMPLES_FILE.parent
    listed = re.findall(
        r"^\s+([0-9a-f]{64})  tests/data/(\S+)$", (data / "README.md").read_text(), re.M
    )
    assert {name for _, name in listed} == {path.name for path in data.glob("*.json")}
    for digest, name in listed:
        assert hashlib.sha256((data / name).read_bytes()).hexdigest() == digest, name


def test_the_examples_cover_every_kind() -> None:
    kinds = {param.values[0]["kind"] for param in EXAMPLES}  # type: ignore[index]
    assert kinds == {"multiple_choice", "numeric", "date"}


@pytest.mark.parametrize("example", EXAMPLES)
def test_scores_match_the_worked_example(example: dict[str, Any]) -> None:
    rows, columns, _ = score_example(example)
    assert_example_rows(example["name"], rows, example["scores"])
    pits = dict(zip([row.handle for row in rows], columns.pit, strict=True))
    if example["kind"] == "multiple_choice":
        assert set(pits.values()) == {None}
        assert set(columns.probability_at_close) == {None}
    else:
        want_pit = example["pit_at_close"]
        assert {h for h, v in pits.items() if v is not None} == set(want_pit)
        for handle, want in want_pit.items():
            assert pits[handle] == pytest.approx(want, abs=TOLERANCE, rel=0), handle


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_examples_hours_are_their_times(example: dict[str, Any]) -> None:
    """`hour` and `after_hour` restate the times (hours after opens_at): they must agree."""
    opens_at = parse_time(example["opens_at"])
    for event in example["events"]:
        assert (parse_time(event["at"]) - opens_at).total_seconds() / 3600 == event["hour"]
    hours = [event["hour"] for event in example["events"]]
    assert [c["after_hour"] for c in example["crowd_after_each_event"]] == hours[
        : len(example["crowd_after_each_event"])
    ]


@pytest.mark.parametrize("example", EXAMPLES)
def test_crowd_after_each_event_matches(example: dict[str, Any]) -> None:
    events = [e for e in events_of(example)]
    handles = sorted({e.handle for e in events})
    owners = np.array([handles.index(e.handle) for e in events], dtype=np.int64)
    multiple = example["kind"] == "multiple_choice"
    width = len(example["options"]) if multiple else 201
    values = np.array([e.distribution or [np.nan] * width for e in events])
    crowd = (
        mc_crowd_after_each(owners, values)
        if multiple
        else numeric_crowd_after_each(owners, values)
    )
    expected = example["crowd_after_each_event"]
    for row, want in zip(crowd, expected, strict=False):  # the list stops at the close
        if multiple:
            got = dict(zip(example["options"], row.tolist(), strict=True))
            assert got == pytest.approx(want["crowd_probabilities"], abs=TOLERANCE, rel=0)
        else:
            for i, value in want["crowd_cdf_at"].items():
                assert row[int(i)] == pytest.approx(value, abs=TOLERANCE, rel=0)
    assert CROWD_HANDLE in example["scores"]


@pytest.mark.parametrize("example", EXAMPLES)
def test_the_naive_oracle_gives_every_figure_too(example: dict[str, Any]) -> None:
    events = [(e.handle, e.at, e.seq, e.distribution) for e in events_of(example)]
    rows = score_kind_claim_naive(events, **example_window(example))
    assert_example_rows(example["name"], rows, example["scores"])
