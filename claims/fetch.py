"""The guarded evidence fetcher (SPEC §5): GET one URL without letting it reach inside.

Every hop is vetted before any connection: http(s) only, no credentials, no numeric host
spellings other than a canonical IP, and every address the host resolves to must be allowed:
in the operator's allow list, or public (global, not multicast, not an IPv6 block that embeds
IPv4) and then only over https on an allowed port. The request goes to the vetted address
itself (Host header and TLS SNI carry the name), so a second DNS answer cannot swap it.
Redirects are followed by hand and re-vetted; time, size and hops are capped, and the body
is decoded here under the cap (`claims.decoding`), never by httpx.
"""

import asyncio
import hashlib
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from http.cookiejar import DefaultCookiePolicy

import httpx

from claims.clock import Clock, as_utc, utc_now
from claims.decoding import ACCEPT_ENCODING, BoundedDecoder, EncodingRefused

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]
"""Resolve (host, port) to address strings; the default asks getaddrinfo in a thread."""

USER_AGENT = "forecast-ledger/0.1 (+https://github.com/forecast-ledger; evidence fetcher)"

# Blocks Python 3.11 calls global but that embed IPv4 or are not reachable as such:
# IPv4-compatible, IPv4-translated, NAT64 (well-known and local), 6to4, IETF assignments.
_NOT_PUBLIC = tuple(
    ipaddress.ip_network(block)
    for block in (
        "::/96",
        "::ffff:0:0:0/96",
        "64:ff9b::/96",
        "64:ff9b:1::/48",
        "2002::/16",
        "192.0.0.0/24",
    )
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_RAW_SLACK = 64 * 1024  # encoded bytes beyond the cap that a body within it may take
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# WHATWG: a host whose last label is a number is an IPv4 address in some spelling.
_NUMERIC_LABEL = re.compile(r"0x[0-9a-f]*|[0-9]+", re.IGNORECASE)


@dataclass(frozen=True)
class FetchPolicy:
    """How far a fetch may reach. `allow` comes from the operator, never from the environment."""

    allow: tuple[Network, ...] = ()
    timeout: float = 10.0  # seconds for the whole fetch, redirects included
    max_bytes: int = 2_000_000
    max_redirects: int = 3
    user_agent: str = USER_AGENT
    ports: frozenset[int] = field(default_factory=lambda: frozenset({80, 443}))
    # told of every result (the web layer counts outcomes; this package knows no metrics)
    observe: "Callable[[FetchResult], None] | None" = field(default=None, compare=False)


@dataclass(frozen=True)
class FetchResult:
    """One fetch as kept in an evidence snapshot; `error` is None only for a complete 2xx."""

    url: str
    final_url: str  # the last URL of the redirect chain, whether fetched or refused
    fetched_at: datetime  # when the fetch started, aware UTC
    status: int | None  # None when no final response arrived
    content_type: str | None
    body: bytes  # at most `max_bytes`, after content decoding
    sha256: str  # hex digest of `body`
    error: str | None  # may name the address a host resolved to: for editors
    public_error: str | None  # `error` without any resolved address, for everyone
    public_address: bool  # every hop connected to was public (not let in by the allow list)

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class _Answer:
    status: int | None
    content_type: str | None
    body: bytes
    error: str | None
    public_error: str | None = None  # when it differs from `error`


class _Failure(Exception):
    """A refusal or failure to report in the result, not to raise; `public` hides addresses."""

    def __init__(self, message: str, public: str | None = None) -> None:
        super().__init__(message)
        self.public = public or message


def parse_allow_list(text: str) -> tuple[Network, ...]:
    """Networks from a comma-separated CIDR list ("127.0.0.1/32, 10.0.0.0/8"); "" is none."""
    networks: list[Network] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        try:
            networks.append(ipaddress.ip_network(item))
        except ValueError as exc:
            raise ValueError(f"bad network {item!r} in allow list: {exc}") from None
    return tuple(networks)


def make_client(policy: FetchPolicy) -> httpx.AsyncClient:
    """A client fit for `fetch`: no proxies from the environment, no redirects, no cookies."""
    client = httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(policy.timeout),
        limits=httpx.Limits(max_keepalive_connections=0),
    )
    client.cookies.jar.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    return client


async def fetch(
    url: str,
    policy: FetchPolicy,
    *,
    client: httpx.AsyncClient | None = None,
    clock: Clock | None = None,
    resolver: Resolver | None = None,
) -> FetchResult:
    """GET `url` under `policy`; failures and refusals come back as `error`, never raised.

    A given `client` should come from `make_client`; `resolver` replaces DNS in tests.
    """
    fetched_at = as_utc((clock or utc_now)())
    trail = [url]
    reached: list[Address] = []  # every address connected to, hop by hop
    try:
        async with asyncio.timeout(policy.timeout):
            if client is not None:
                answer = await _follow(url, policy, client, resolver or _resolve, trail, reached)
            else:
                async with make_client(policy) as own:
                    answer = await _follow(url, policy, own, resolver or _resolve, trail, reached)
    except _Failure as exc:
        answer = _Answer(None, None, b"", str(exc), exc.public)
    except TimeoutError:
        answer = _Answer(None, None, b"", f"timed out after {policy.timeout:g} s")
    except httpx.TimeoutException as exc:
        answer = _Answer(None, None, b"", f"timed out: {type(exc).__name__}")
    except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError, ValueError) as exc:
        answer = _Answer(None, None, b"", f"{type(exc).__name__}: {exc}")
    result = FetchResult(
        url=url,
        final_url=trail[-1],
        fetched_at=fetched_at,
        status=answer.status,
        content_type=answer.content_type,
        body=answer.body,
        sha256=hashlib.sha256(answer.body).hexdigest(),
        error=answer.error,
        public_error=answer.public_error or answer.error,
        public_address=all(_is_public(address) for address in reached),
    )
    if policy.observe is not None:
        policy.observe(result)
    return result


async def _follow(
    url: str,
    policy: FetchPolicy,
    client: httpx.AsyncClient,
    resolve: Resolver,
    trail: list[str],
    reached: list[Address],
) -> _Answer:
    """Fetch `url`, following up to `max_redirects` redirects, vetting every hop."""
    seen: set[str] = set()
    current = url
    for _ in range(policy.max_redirects + 1):
        target = _parse_url(current)
        if str(target) in seen:
            raise _Failure(f"redirect loop at {target}")
        seen.add(str(target))
        address = await _vet(target, policy, resolve)
        reached.append(address)
        request = _pinned_request(client, target, address, policy)
        response = await client.send(request, stream=True, follow_redirects=False)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location:
                current = str(target.join(location))
                trail.append(current)
                continue
            body, error = await _read_capped(response, policy.max_bytes)
        finally:
            await response.aclose()
        status = response.status_code
        if error is None and not 200 <= status < 300:
            error = f"HTTP {status}"
        return _Answer(status, response.headers.get("content-type"), body, error)
    raise _Failure(f"more than {policy.max_redirects} redirects")


def _parse_url(text: str) -> httpx.URL:
    try:
        return httpx.URL(text)
    except httpx.InvalidURL as exc:
        raise _Failure(f"refused: invalid URL ({exc})") from None


async def _vet(target: httpx.URL, policy: FetchPolicy, resolve: Resolver) -> Address:
    """The address to connect to, if every address of the host is allowed; else `_Failure`."""
    scheme = target.scheme
    if scheme not in _DEFAULT_PORTS:
        raise _Failure(f"refused: scheme {scheme!r} is not http or https")
    if target.userinfo:
        raise _Failure("refused: credentials in URL")
    host = target.raw_host.decode("ascii")
    if not host:
        raise _Failure("refused: no host")
    port = target.port or _DEFAULT_PORTS[scheme]
    literal = _ip_literal(host)
    if literal is None and _NUMERIC_LABEL.fullmatch(host.rstrip(".").rsplit(".", 1)[-1]):
        raise _Failure(f"refused: ambiguous numeric host {host!r}")
    if literal is not None:
        addresses = [literal]
    else:
        try:
            found = await resolve(host, port)
        except (OSError, UnicodeError) as exc:  # UnicodeError: a label the idna codec refuses
            raise _Failure(f"cannot resolve {host!r}: {exc}") from None
        addresses = [_normalise(ipaddress.ip_address(item)) for item in found]
    if not addresses:
        raise _Failure(f"cannot resolve {host!r}: no addresses")
    for address in addresses:
        reason = _refusal(address, scheme, port, policy)
        if reason:
            detail, public = reason
            raise _Failure(f"refused: {host!r} -> {detail}", f"refused: {host!r} -> {public}")
    return addresses[0]


async def _resolve(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _ip_literal(host: str) -> Address | None:
    try:
        return _normalise(ipaddress.ip_address(host))
    except ValueError:
        return None


def _normalise(address: Address) -> Address:
    """IPv4-mapped IPv6 (::ffff:a.b.c.d) as the IPv4 address it is."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _refusal(
    address: Address, scheme: str, port: int, policy: FetchPolicy
) -> tuple[str, str] | None:
    """Why `address` may not be fetched from (for editors, for everyone), or None if it may."""
    if any(address in network for network in policy.allow):
        return None
    if not _is_public(address):
        return f"{address} is not a public address", "not a public address"
    if scheme != "https":
        only = "(only https outside the allow list)"
        return f"plain http to {address} {only}", f"plain http {only}"
    if port not in policy.ports:
        return (f"port {port} is not allowed",) * 2
    return None


def _is_public(address: Address) -> bool:
    if not address.is_global or address.is_multicast:
        return False
    return not any(address in network for network in _NOT_PUBLIC)


def _pinned_request(
    client: httpx.AsyncClient, target: httpx.URL, address: Address, policy: FetchPolicy
) -> httpx.Request:
    """A GET to the vetted address itself, naming the host in Host and (https) SNI."""
    headers = {
        "User-Agent": policy.user_agent,
        "Accept": "*/*",
        "Accept-Encoding": ACCEPT_ENCODING,  # only what `BoundedDecoder` decodes
    }
    return pinned_request(client, "GET", target, address, headers)


def pinned_request(
    client: httpx.AsyncClient,
    method: str,
    target: httpx.URL,
    address: Address,
    headers: dict[str, str],
    content: bytes | None = None,
) -> httpx.Request:
    """A request to the vetted `address` itself, naming the host in Host and (https) SNI."""
    host = target.raw_host.decode("ascii")
    # One connection per request: a pooled connection to the same IP could otherwise
    # carry a request for another name under the first name's TLS session.
    headers = {"Host": target.netloc.decode("ascii"), **headers, "Connection": "close"}
    extensions = {"sni_hostname": host} if target.scheme == "https" else {}
    pinned = target.copy_with(host=str(address))
    return client.build_request(
        method, pinned, headers=headers, content=content, extensions=extensions
    )


class Refused(ValueError):
    """A URL the address guard will not reach; the message names no resolved address.

    `by_address`: refused for what its host resolves to (or for not resolving), rather than
    for the URL's own text (scheme, credentials, no host)."""

    def __init__(self, message: str, *, by_address: bool = False) -> None:
        super().__init__(message)
        self.by_address = by_address


async def vet_url(
    url: str, policy: FetchPolicy, resolver: Resolver | None = None
) -> tuple[httpx.URL, Address]:
    """The parsed URL and the address to connect to, by the fetcher's rules; else `Refused`."""
    try:
        target = _parse_url(url)
    except _Failure as exc:
        raise Refused(exc.public) from None
    try:
        return target, await _vet(target, policy, resolver or _resolve)
    except _Failure as exc:
        raise Refused(exc.public, by_address=True) from None


async def _read_capped(response: httpx.Response, max_bytes: int) -> tuple[bytes, str | None]:
    """The decoded body up to `max_bytes`, and the error if it was longer or undecodable."""
    try:
        decoder = BoundedDecoder(
            response.headers.get_list("content-encoding", split_commas=True), max_bytes
        )
    except EncodingRefused as exc:
        return b"", str(exc)
    # The encoded stream is capped too: deflate can spend input on no output at all.
    raw_left = max_bytes + _RAW_SLACK
    async for chunk in response.aiter_raw():
        raw_left -= len(chunk)
        try:
            done = decoder.feed(chunk)
        except EncodingRefused as exc:
            return b"", str(exc)
        if done or raw_left < 0:
            break
    if decoder.over or raw_left < 0:
        return decoder.body, f"body exceeds {max_bytes} bytes"
    return decoder.body, None
