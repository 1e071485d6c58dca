"""Content encodings against a real server: decoded under the cap, stacked and unknown refused."""

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from claims.fetch import FetchPolicy
from tests.claims.evidence_server import ENCODED, EvidenceServer, gzip_of_zeros
from tests.claims.test_fetch import ALLOW_LOOPBACK_1, POLICY, run_fetch

ROOT = Path(__file__).resolve().parents[2]
PEAK_MIB = 300  # the bound for a process fetching a bomb

# Fetch one URL in a fresh interpreter and print its peak RSS (MiB) and the fetch's error.
# The peak is the new image's own (VmHWM): getrusage's ru_maxrss also counts the image the
# process replaced at exec, i.e. the test process it was spawned from, however large.
_MEASURE = """
import asyncio, sys
from claims.fetch import FetchPolicy, fetch, parse_allow_list
policy = FetchPolicy(allow=parse_allow_list("127.0.0.1/32"), timeout=60)
result = asyncio.run(fetch(sys.argv[1], policy))
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(int(status["VmHWM"].split()[0]) // 1024, len(result.body))
print(result.error)
"""


@pytest.mark.parametrize(
    "path", ["/encoded/gzip", "/encoded/deflate", "/encoded/raw-deflate", "/encoded/identity"]
)
def test_one_encoding_is_decoded(server: EvidenceServer, path: str) -> None:
    result = run_fetch(server.url(path))
    assert result.ok, result.error
    assert result.body == ENCODED
    assert result.sha256 == hashlib.sha256(ENCODED).hexdigest()
    assert server.headers[0]["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/encoded/gzip-gzip", "refused: stacked Content-Encoding 'gzip, gzip'"),
        ("/encoded/br", "refused: Content-Encoding 'br' is not accepted"),
        ("/encoded/corrupt", "cannot decode gzip body: Error -3"),
    ],
)
def test_stacked_unknown_and_corrupt_encodings_are_fetch_errors(
    server: EvidenceServer, path: str, error: str
) -> None:
    result = run_fetch(server.url(path))
    assert result.error is not None and result.error.startswith(error), result.error
    assert result.status == 200 and result.body == b""
    assert not result.ok


def test_a_gzip_bomb_decodes_no_more_than_the_cap(server: EvidenceServer) -> None:
    gzip_of_zeros()  # built before the clock starts
    policy = FetchPolicy(allow=ALLOW_LOOPBACK_1, timeout=POLICY.timeout, max_bytes=100_000)
    result = run_fetch(server.url("/bomb/gzip"), policy)
    assert result.error == "body exceeds 100000 bytes"
    assert result.body == bytes(100_000)


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/bomb/gzip-gzip", "refused: stacked Content-Encoding 'gzip, gzip'"),
        ("/bomb/gzip", "body exceeds 2000000 bytes"),
    ],
)
def test_a_bomb_keeps_the_fetching_process_small(
    server: EvidenceServer, path: str, error: str
) -> None:
    gzip_of_zeros()  # the server answers at once
    command = [sys.executable, "-c", _MEASURE, server.url(path)]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    figures, reported = done.stdout.splitlines()
    peak_mib, kept = map(int, figures.split())
    assert reported == error
    assert kept <= 2_000_000
    assert peak_mib < PEAK_MIB, f"peak RSS {peak_mib} MiB fetching {path}"
