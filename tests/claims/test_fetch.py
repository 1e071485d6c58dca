"""The guarded fetcher against real servers on 127.0.0.1 (allowed) and 127.0.0.2 (forbidden)."""

import asyncio
import hashlib
import socket
import ssl
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import httpx
import pytest

from claims.fetch import USER_AGENT, FetchPolicy, FetchResult, Resolver, fetch, parse_allow_list
from claims.rules import RuleSpec, assess
from tests.claims import payloads
from tests.claims.evidence_server import SLOW_SECONDS, TLS_NAME, EvidenceServer

ALLOW_LOOPBACK_1 = parse_allow_list("127.0.0.1/32")
POLICY = FetchPolicy(
    allow=ALLOW_LOOPBACK_1, timeout=2.5
)  # generous: a loaded CI machine is slow; /slow sleeps 5 s
NOTHING_ALLOWED = FetchPolicy(
    allow=(), timeout=2.5
)  # generous: a loaded CI machine is slow; /slow sleeps 5 s
NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)
PUBLIC_IP = "93.184.215.14"


def run_fetch(
    url: str,
    policy: FetchPolicy = POLICY,
    *,
    client: httpx.AsyncClient | None = None,
    resolver: Resolver | None = None,
) -> FetchResult:
    return asyncio.run(fetch(url, policy, client=client, clock=lambda: NOW, resolver=resolver))


def never_connect() -> httpx.AsyncClient:
    """A client whose transport fails the test if the fetcher ever tries to connect."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"connected to {request.url}")

    return httpx.AsyncClient(transport=httpx.MockTransport(refuse))


def fake_resolver(*answers: Sequence[str]) -> tuple[Resolver, list[str]]:
    """A resolver giving `answers` in turn (the last one repeats), and the hosts it was asked."""
    asked: list[str] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        asked.append(host)
        return answers[min(len(asked), len(answers)) - 1]

    return resolve, asked


def recording_client(
    responses: dict[str, httpx.Response],
) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client answering by path, keeping every request it was sent."""
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        given = responses[request.url.path]
        # As a network answer: a raw stream, not content already read.
        stream = httpx.ByteStream(given.content)
        return httpx.Response(given.status_code, headers=given.headers, stream=stream)

    return httpx.AsyncClient(transport=httpx.MockTransport(answer)), seen


# --- the allowed server ---------------------------------------------------------------------


def test_success_keeps_status_type_hash_and_time(server: EvidenceServer) -> None:
    url = server.url("/appstore/v2.json")
    result = run_fetch(url)
    assert result.error is None and result.ok
    assert (result.url, result.final_url, result.status) == (url, url, 200)
    assert result.content_type == "application/json"
    assert result.body == payloads.APPSTORE_V2
    assert result.sha256 == hashlib.sha256(payloads.APPSTORE_V2).hexdigest()
    assert result.fetched_at == NOW
    assert result.public_address is False  # 127.0.0.1 is reached through the allow list only
    assert server.hits == ["/appstore/v2.json"]
    headers = server.headers[0]
    assert headers["user-agent"] == USER_AGENT
    assert headers["host"] == f"127.0.0.1:{server.port}"


def test_fetched_at_is_aware_utc(server: EvidenceServer) -> None:
    paris = timezone(timedelta(hours=1))
    moment = datetime(2026, 11, 18, 13, 0, tzinfo=paris)
    result = asyncio.run(fetch(server.url("/hf/models.json"), POLICY, clock=lambda: moment))
    assert result.fetched_at == NOW and result.fetched_at.tzinfo == UTC
    default = asyncio.run(fetch(server.url("/hf/models.json"), POLICY))
    assert default.fetched_at.tzinfo == UTC


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_keep_status_and_body(server: EvidenceServer, status: int) -> None:
    result = run_fetch(server.url(f"/error/{status}"))
    assert result.status == status
    assert result.error == f"HTTP {status}"
    assert result.body == b'{"error":"unavailable"}'


def test_not_found_is_an_error(server: EvidenceServer) -> None:
    result = run_fetch(server.url("/missing"))
    assert (result.status, result.error) == (404, "HTTP 404")


def test_slow_server_times_out(server: EvidenceServer) -> None:
    started = time.monotonic()
    result = run_fetch(server.url("/slow"))
    assert time.monotonic() - started < SLOW_SECONDS
    assert result.status is None
    assert result.error is not None and "timed out" in result.error
    assert result.body == b""


def test_oversize_body_is_capped_with_an_error(server: EvidenceServer) -> None:
    policy = FetchPolicy(allow=ALLOW_LOOPBACK_1, timeout=2.0)
    result = run_fetch(server.url("/oversize"), policy)
    assert result.status == 200
    assert result.error == f"body exceeds {policy.max_bytes} bytes"
    assert len(result.body) == policy.max_bytes
    assert result.sha256 == hashlib.sha256(result.body).hexdigest()


def test_malformed_body_fetches_but_does_not_parse(server: EvidenceServer) -> None:
    result = run_fetch(server.url("/malformed.json"))
    assert result.ok and result.body == payloads.MALFORMED_JSON
    rule = RuleSpec(url=result.url, format="json", expression="`true`")
    verdict = assess(rule, result.body, result.content_type)
    assert verdict.decision is None
    assert verdict.error is not None and "cannot parse json" in verdict.error


@pytest.mark.parametrize("path", ["/redirect/ok", "/redirect/twice"])
def test_redirects_are_followed(server: EvidenceServer, path: str) -> None:
    result = run_fetch(server.url(path))
    assert result.ok and result.status == 200
    assert result.final_url == server.url("/appstore/v2.json")
    assert result.body == payloads.APPSTORE_V2
    assert server.hits[0] == path and server.hits[-1] == "/appstore/v2.json"


def test_redirect_loop_is_refused(server: EvidenceServer) -> None:
    result = run_fetch(server.url("/redirect/loop-a"))
    assert result.error is not None and "redirect loop" in result.error
    assert server.hits == ["/redirect/loop-a", "/redirect/loop-b"]


def test_too_many_redirects_are_refused(server: EvidenceServer) -> None:
    result = run_fetch(server.url("/redirect/chain-1"))
    assert result.error == "more than 3 redirects"
    assert len(server.hits) == 4


def test_redirect_to_a_forbidden_address_never_reaches_it(
    server: EvidenceServer, forbidden_server: EvidenceServer
) -> None:
    result = run_fetch(server.url("/redirect/away"))
    assert result.error is not None and result.error.startswith("refused")
    assert "127.0.0.2" in result.error
    assert result.final_url == forbidden_server.url("/appstore/v2.json")
    assert server.hits == ["/redirect/away"]
    assert forbidden_server.hits == []


def test_mapped_ipv6_spelling_of_an_allowed_address_connects_to_it(
    server: EvidenceServer,
) -> None:
    result = run_fetch(f"http://[::ffff:127.0.0.1]:{server.port}/hf/models.json")
    assert result.ok and result.body == payloads.HF_MODELS
    assert server.headers[0]["host"] == f"[::ffff:127.0.0.1]:{server.port}"


def test_proxy_variables_are_ignored(
    server: EvidenceServer, forbidden_server: EvidenceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, forbidden_server.base_url)
    assert run_fetch(server.url("/appstore/v2.json")).ok
    assert forbidden_server.hits == []


def test_https_to_a_pinned_address_verifies_the_name(
    tls_server: EvidenceServer, certificate: Path
) -> None:
    trusting = ssl.create_default_context(cafile=str(certificate))
    resolve, asked = fake_resolver(["127.0.0.1"])
    url = f"https://{TLS_NAME}:{tls_server.port}/lmarena/rows.json"
    client = httpx.AsyncClient(verify=trusting, trust_env=False)
    result = run_fetch(url, POLICY, client=client, resolver=resolve)
    assert result.ok and result.body == payloads.LMARENA_ROWS
    assert asked == [TLS_NAME]
    assert tls_server.headers[-1]["host"] == f"{TLS_NAME}:{tls_server.port}"
    # The same server under another name fails verification: SNI is not a formality.
    resolve, _ = fake_resolver(["127.0.0.1"])
    client = httpx.AsyncClient(verify=trusting, trust_env=False)
    other = f"https://other.test:{tls_server.port}/lmarena/rows.json"
    refused = run_fetch(other, POLICY, client=client, resolver=resolve)
    assert refused.error is not None and "CERTIFICATE_VERIFY_FAILED" in refused.error


# --- refusals before any connection ---------------------------------------------------------

REFUSED_HOSTS = [
    "127.0.0.1",
    "localhost",
    "127.0.0.2",
    "2130706433",
    "0x7f000001",
    "127.1",
    "0177.0.0.1",
    "127.0.0.1.",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::127.0.0.1]",
    "[64:ff9b::7f00:1]",
    "[2002:7f00:1::]",
    "169.254.169.254",
    "[fe80::1]",
    "0.0.0.0",
    "[::]",
    "10.0.0.1",
    "192.168.1.1",
    "172.16.0.1",
    "100.64.0.1",
    "224.0.0.1",
]


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_non_public_hosts_are_refused_without_connecting(
    server: EvidenceServer, forbidden_server: EvidenceServer, host: str
) -> None:
    started = time.monotonic()
    result = run_fetch(
        f"http://{host}:{server.port}/appstore/v2.json", NOTHING_ALLOWED, client=never_connect()
    )
    assert time.monotonic() - started < 2.0  # no connection attempt, no timeout wait
    assert result.error is not None and result.error.startswith("refused"), result.error
    assert result.status is None and result.body == b""
    assert server.hits == [] and forbidden_server.hits == []


@pytest.mark.parametrize(
    "host", ["127.0.0.2", "2130706433", "0x7f000001", "127.1", "[::ffff:127.0.0.2]", "[::1]"]
)
def test_only_the_allowed_address_passes_the_allow_list(
    server: EvidenceServer, forbidden_server: EvidenceServer, host: str
) -> None:
    result = run_fetch(f"http://{host}:{server.port}/", POLICY, client=never_connect())
    assert result.error is not None and result.error.startswith("refused"), result.error
    assert server.hits == [] and forbidden_server.hits == []


@pytest.mark.parametrize(
    "url",
    [
        "ftp://127.0.0.1/file",
        "file:///etc/passwd",
        "gopher://127.0.0.1:70/",
        "http://user:secret@127.0.0.1/",
        "http:///no-host",
    ],
)
def test_other_schemes_and_odd_urls_are_refused(url: str) -> None:
    result = run_fetch(url, POLICY, client=never_connect())
    assert result.error is not None and result.error.startswith("refused"), result.error


def test_unparseable_url_is_an_error_not_an_exception() -> None:
    result = run_fetch("http://[::1/", POLICY, client=never_connect())
    assert result.error is not None and result.status is None


# --- public hosts, with DNS and the network faked -------------------------------------------


def test_public_https_is_pinned_to_the_vetted_address() -> None:
    resolve, asked = fake_resolver([PUBLIC_IP], ["127.0.0.1"])  # a second answer would rebind
    client, seen = recording_client({"/v1/models": httpx.Response(200, json={"data": []})})
    result = run_fetch(
        "https://example.org/v1/models", NOTHING_ALLOWED, client=client, resolver=resolve
    )
    assert result.ok and result.body == b'{"data":[]}'
    assert result.public_address is True
    assert asked == ["example.org"]
    (request,) = seen
    assert request.url.host == PUBLIC_IP
    assert request.headers["host"] == "example.org"
    assert request.extensions["sni_hostname"] == "example.org"
    assert request.headers["user-agent"] == USER_AGENT


def test_every_hop_is_resolved_and_vetted_again() -> None:
    resolve, asked = fake_resolver([PUBLIC_IP], ["10.0.0.7"])
    redirect = httpx.Response(302, headers={"Location": "https://internal.example.org/x"})
    client, seen = recording_client({"/start": redirect})
    result = run_fetch(
        "https://example.org/start", NOTHING_ALLOWED, client=client, resolver=resolve
    )
    assert result.error is not None and "10.0.0.7 is not a public address" in result.error
    # Everyone else reads the refusal without the address the name resolved to.
    assert result.public_error == "refused: 'internal.example.org' -> not a public address"
    assert asked == ["example.org", "internal.example.org"]
    assert len(seen) == 1


@pytest.mark.parametrize(
    ("url", "answer", "reason"),
    [
        ("http://example.org/", [PUBLIC_IP], "plain http"),
        ("https://example.org:8443/", [PUBLIC_IP], "port 8443"),
        ("https://example.org/", [PUBLIC_IP, "127.0.0.1"], "127.0.0.1 is not a public"),
        ("https://example.org/", ["::ffff:10.0.0.1"], "10.0.0.1 is not a public"),
        ("https://example.org/", ["64:ff9b::a00:1"], "is not a public"),
        ("https://example.org/", ["fd00::1"], "is not a public"),
        ("https://example.org/", [], "no addresses"),
    ],
)
def test_public_names_are_refused_when_any_answer_is_not_fine(
    url: str, answer: list[str], reason: str
) -> None:
    resolve, _ = fake_resolver(answer)
    result = run_fetch(url, NOTHING_ALLOWED, client=never_connect(), resolver=resolve)
    assert result.error is not None and reason in result.error, result.error
    public = result.public_error
    assert public is not None and not any(address in public for address in answer), public
    if "not a public" in reason:
        assert public == "refused: 'example.org' -> not a public address"


def test_resolution_failure_is_an_error() -> None:
    async def broken(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = run_fetch(
        "https://nowhere.invalid/", NOTHING_ALLOWED, client=never_connect(), resolver=broken
    )
    assert result.error is not None and result.error.startswith("cannot resolve")


# --- allow list -----------------------------------------------------------------------------


def test_parse_allow_list() -> None:
    assert parse_allow_list("") == ()
    assert parse_allow_list(" , ") == ()
    networks = parse_allow_list("127.0.0.1/32, 10.0.0.0/8,::1")
    assert [str(network) for network in networks] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]


@pytest.mark.parametrize("text", ["nonsense", "10.0.0.1/8", "127.0.0.1/33", "localhost"])
def test_parse_allow_list_rejects_bad_entries(text: str) -> None:
    with pytest.raises(ValueError, match="allow list"):
        parse_allow_list(text)
