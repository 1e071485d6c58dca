"""One attempt of one delivery: the body, its signature, and the guarded POST (SPEC §9)."""

import asyncio
import hashlib
import hmac
import importlib.util
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx

from claims.clock import stamp
from claims.fetch import FetchPolicy, Refused, Resolver, pinned_request, vet_url
from forecasts.ledger.chain import canonical

# httpcore imports sniffio at every lock it sets up (several per request); where sniffio is
# not installed, each of those failed imports searches sys.path again: two thirds of an
# attempt's CPU. Recorded as absent once, it stays absent and costs nothing.
if importlib.util.find_spec("sniffio") is None:
    sys.modules["sniffio"] = None  # type: ignore[assignment]

ATTEMPT_SECONDS = 10.0  # a 2xx within this of the attempt's start, connection included
READ_BYTES = 64 * 1024
USER_AGENT = "forecast-ledger-webhooks/1"


def body_of(delivery_id: str, event: str, created_at: datetime, data: Any) -> bytes:
    """The UTF-8 canonical JSON POSTed in every attempt of a delivery (the same bytes)."""
    return canonical(
        {"id": delivery_id, "event": event, "created_at": stamp(created_at), "data": data}
    )


def signature(secret: str, t: int, body: bytes) -> str:
    """`t=<t>,v1=<hex>`: HMAC-SHA256 keyed with the secret's ASCII of `t`, ".", the body."""
    mac = hmac.new(secret.encode("ascii"), f"{t}.".encode("ascii") + body, hashlib.sha256)
    return f"t={t},v1={mac.hexdigest()}"


@dataclass(frozen=True)
class Outcome:
    """What one attempt came to: `error` is None only for a 2xx in time."""

    status: int | None
    error: str | None
    duration_ms: int

    @property
    def ok(self) -> bool:
        return self.error is None


def make_client() -> httpx.AsyncClient:
    """No proxies from the environment, no redirects, no pooled connections, no cookies."""
    return httpx.AsyncClient(
        trust_env=False,
        follow_redirects=False,
        timeout=httpx.Timeout(ATTEMPT_SECONDS),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=0),
    )


async def attempt(
    client: httpx.AsyncClient,
    url: str,
    event: str,
    delivery_id: str,
    body: bytes,
    secret: str,
    policy: FetchPolicy,
    *,
    t: int,
    resolver: Resolver | None = None,
) -> Outcome:
    """POST the body to the address the guard vets now, pinned to it, signed for the Unix
    time `t`; never raises."""
    started = time.monotonic()
    status: int | None = None
    error: str | None = None
    try:
        async with asyncio.timeout(ATTEMPT_SECONDS):
            target, address = await vet_url(url, policy, resolver)
            headers = {
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
                "Forecast-Ledger-Event": event,
                "Forecast-Ledger-Delivery": delivery_id,
                "Forecast-Ledger-Signature": signature(secret, t, body),
            }
            request = pinned_request(client, "POST", target, address, headers, body)
            response = await client.send(request, stream=True, follow_redirects=False)
            status = response.status_code
            try:
                await _read_some(response)
            finally:
                await response.aclose()
    except Refused as exc:
        error = str(exc)
    except TimeoutError:
        if status is None:
            error = f"no answer within {ATTEMPT_SECONDS:g} s"
    except (httpx.HTTPError, httpx.InvalidURL, OSError, ValueError) as exc:
        if status is None:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if error is None and (status is None or not 200 <= status < 300):
        error = f"HTTP {status}"
    return Outcome(status, error, int((time.monotonic() - started) * 1000))


async def _read_some(response: httpx.Response) -> None:
    """Read at most 64 KiB of the answer (nothing in it matters but that it came)."""
    taken = 0
    async for chunk in response.aiter_raw():
        taken += len(chunk)
        if taken >= READ_BYTES:
            break
