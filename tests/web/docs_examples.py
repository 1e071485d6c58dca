"""Reading the examples of README.md and docs/*.md, so tests can run them as written."""

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

from fastapi.testclient import TestClient
from httpx import Response

ROOT = Path(__file__).parents[2]
HOST = "http://127.0.0.1:8000"  # where the README's commands reach the demo


@dataclass
class Curl:
    method: str = "GET"
    url: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


def section(document: str, heading: str) -> str:
    """The text of `document`'s section under `## heading`."""
    text = (ROOT / document).read_text(encoding="utf-8")
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else None]


def code_block(document: str, heading: str, language: str = "sh", occurrence: int = 0) -> str:
    """The ```language block under `heading` (the first, or the one `occurrence` counts)."""
    found = re.findall(rf"```{language}\n(.*?)```", section(document, heading), re.S)
    assert len(found) > occurrence, f"no {language} block {occurrence} under {heading}"
    return str(found[occurrence])


def commands(block: str) -> list[list[str]]:
    """Each command of a shell block as words: continued lines and open quotes joined,
    comments dropped, `a; b` split."""
    found: list[list[str]] = []
    pending = ""
    for line in block.splitlines():
        pending += line + "\n"
        if line.endswith("\\"):
            continue
        try:
            words = shlex.split(pending.replace("\\\n", " "), comments=True)
        except ValueError:
            continue  # a quote still open: the next line belongs to this command
        pending = ""
        current: list[str] = []
        for word in words:
            current.append(word.removesuffix(";"))
            if word.endswith(";"):
                found.append(current)
                current = []
        if current:
            found.append(current)
    return found


def curl(words: list[str]) -> Curl:
    request = Curl()
    options = iter(words[1:])
    for word in options:
        if word == "-X":
            request.method = next(options)
        elif word == "-H":
            name, _, value = next(options).partition(": ")
            request.headers[name] = value
        elif word == "-d":
            request.body = next(options)
            request.method = "POST" if request.method == "GET" else request.method
        elif word != "-s":
            assert not word.startswith("-"), f"an option the test does not know: {word}"
            request.url = word
    assert request.url.startswith(HOST), request.url
    return request


def send(client: TestClient, words: list[str], names: dict[str, str]) -> Response:
    """Run a curl command through `client`, with `$NAME`s replaced by `names`."""
    for name, value in names.items():
        words = [word.replace(f"${name}", value) for word in words]
    request = curl(words)
    return client.request(
        request.method, request.url, headers=request.headers, content=request.body
    )
