"""The site's public address (FORECAST_LEDGER_PUBLIC_URL) and the Host check it brings.

SPEC §6: with the setting, a request for another `Host` gets a 400, except `/health` and
`/metrics` (probes and scrapers reach a process by its own address). The check runs in
`LedgerAPI.__call__` (web/fastpath.py), in front of the submission fast lane and of the whole
middleware stack, so no answer is ever built for a host the site does not serve.
"""

from urllib.parse import urlsplit

from starlette.types import Scope, Send

from web.security import headers_for

_DEFAULT_PORTS = {"http": 80, "https": 443}
_EXEMPT = frozenset({"/health", "/api/v1/health", "/metrics"})
_PROBLEM = (
    "must be scheme://host[:port], the scheme http or https, with no user, path, query or fragment"
)


def public_base_url(value: str) -> str:
    """The setting, checked and normalised (lower case, no trailing slash); a ValueError says
    what is wrong with it."""
    value = value.strip()
    if not value:
        return ""
    try:
        parts = urlsplit(value)
        port = parts.port  # a ValueError when it is not a number from 0 to 65535
    except ValueError as error:
        raise ValueError(f"{_PROBLEM} ({error}): got {value!r}") from None
    if parts.username is not None or "@" in parts.netloc:
        raise ValueError(_PROBLEM)  # not echoed: it may hold a password
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or port == 0:
        raise ValueError(f"{_PROBLEM}: got {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or value[-1] in "?#":
        raise ValueError(f"{_PROBLEM}: got {value!r}")
    return f"{scheme}://{parts.netloc.lower()}"


class HostCheck:
    """Which `Host` header values the site answers: those naming the public URL's host and
    port (the port may be left out when it is the scheme's default)."""

    def __init__(self, public_url: str, *, hsts: bool = False) -> None:
        self.hsts = hsts
        parts = urlsplit(public_url)
        netloc = parts.netloc
        default = _DEFAULT_PORTS[parts.scheme]
        host = netloc.rsplit(":", 1)[0] if parts.port is not None else netloc
        port = parts.port or default
        names = {f"{host}:{port}"} | ({host} if port == default else set())
        self.hosts = frozenset(name.encode() for name in names)
        self._body = f'{{"detail":"this site is served at {public_url} only"}}'.encode()

    def allows(self, scope: Scope) -> bool:
        if scope["path"] in _EXEMPT:
            return True
        for name, value in scope["headers"]:
            if name == b"host":
                return value.lower() in self.hosts
        return False  # HTTP/1.0 without a Host: it names no host we serve

    async def refuse(self, send: Send) -> None:
        """The 400, with the headers every answer carries."""
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode()),
            *headers_for(hsts=self.hsts),
        ]
        await send({"type": "http.response.start", "status": 400, "headers": headers})
        await send({"type": "http.response.body", "body": self._body})
