"""A real webhook receiver on 127.0.0.1 that verifies every signature (not a test module).

It speaks just enough HTTP/1.1 over asyncio in a thread of its own, so a thousand webhooks
or a hanging one cost it nothing. The first path segment says how it answers: `ok` (204),
`slow` (204 after 0.3 s), `fail` (500), `hang` (never, until the sender gives up), `moved`
(302), `flood` (200 promising 10 MiB, sending 1 MiB, then nothing more until the sender
gives up); `answer[path]` overrides that per path. Each POST is kept with whether its signature
verified.
"""

import asyncio
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

TOLERANCE = 300  # seconds a signature's t may be away from now (SPEC §9)
SLOW_SECONDS = 0.3  # how long `slow` takes to answer 204


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    at: float  # time.monotonic() when it arrived

    @property
    def json(self) -> Any:
        return json.loads(self.body)


def verify(secret: str, header: str, body: bytes, now: float) -> bool:
    """What a receiver does: `t=<t>,v1=<hex>` exactly, t within 5 minutes, HMAC equal."""
    parts = dict(item.split("=", 1) for item in header.split(",") if "=" in item)
    if header != f"t={parts.get('t')},v1={parts.get('v1')}" or not parts["t"].isdigit():
        return False
    if abs(now - int(parts["t"])) > TOLERANCE:
        return False
    expected = hmac.new(
        secret.encode("ascii"), parts["t"].encode("ascii") + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


class Receiver:
    def __init__(self, host: str = "127.0.0.1", clock: Callable[[], float] = time.time) -> None:
        self.host = host
        self.clock = clock  # the Unix time signatures are checked against
        self.secrets: dict[str, str] = {}  # path -> the webhook's secret
        self.answer: dict[str, str] = {}  # path -> ok | fail | hang | moved
        self._got: list[Received] = []
        self._open: dict[str, int] = {}  # path -> requests being answered now
        self.most_open: dict[str, int] = {}  # path -> the most answered at once
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self._ready.wait(5)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._got)

    def on(self, path: str) -> list[Received]:
        return [r for r in self.received if r.path == path]

    def wait_for(
        self, count: int, timeout: float = 30.0, path: str | None = None
    ) -> list[Received]:
        """At least `count` requests (to `path`, if given) within `timeout` seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            got = self.received if path is None else self.on(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(got)} of {count} requests arrived in {timeout} s")

    def stop(self) -> None:
        """Close the socket, end the handlers still waiting (hanging ones), close the loop."""
        asyncio.run_coroutine_threadsafe(self._close(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    async def _close(self) -> None:
        self._server.close()
        handlers = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in handlers:
            task.cancel()
        await asyncio.gather(*handlers, return_exceptions=True)
        await self._server.wait_closed()

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            asyncio.start_server(self._handle, self.host, 0, backlog=2048)
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        counted = None
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            path = lines[0].split(" ")[1]
            headers = {
                k.strip().lower(): v.strip()
                for k, v in (line.split(":", 1) for line in lines[1:] if ":" in line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            secret = self.secrets.get(path, "")
            signed = verify(
                secret, headers.get("forecast-ledger-signature", ""), body, self.clock()
            )
            with self._lock:
                self._got.append(Received(path, headers, body, signed, time.monotonic()))
                self._open[path] = self._open.get(path, 0) + 1
                self.most_open[path] = max(self.most_open.get(path, 0), self._open[path])
            counted = path
            how = self.answer.get(path, path.split("/")[1])
            if how == "flood":
                await self._flood(writer)
                return
            if how == "hang":
                await asyncio.sleep(60)
            elif how == "slow":
                await asyncio.sleep(SLOW_SECONDS)
            status = {"ok": "204 No Content", "slow": "204 No Content", "moved": "302 Found"}.get(
                how, "500 Oops"
            )
            extra = "Location: /ok/elsewhere\r\n" if how == "moved" else ""
            ending = "Content-Length: 0\r\nConnection: close\r\n\r\n"
            writer.write(f"HTTP/1.1 {status}\r\n{extra}{ending}".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, IndexError, ValueError):
            pass
        finally:
            if counted is not None:
                with self._lock:
                    self._open[counted] -= 1
            writer.close()

    @staticmethod
    async def _flood(writer: asyncio.StreamWriter) -> None:
        """A 2xx whose body never ends: a sender that read it all would wait for the rest."""
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10485760\r\n\r\n")
        for _ in range(16):
            writer.write(b"x" * 65536)
            await writer.drain()
        await asyncio.sleep(60)


def main() -> None:
    """`python -m tests.forecasts.notify.receiver OUT`: serve on 127.0.0.1, print the port,
    and when stdin closes write what arrived to OUT (JSON lines; bodies as text)."""
    import sys

    receiver = Receiver()
    print(receiver.port, flush=True)
    sys.stdin.read()
    got = receiver.received
    receiver.stop()
    with open(sys.argv[1], "w") as out:
        for r in got:
            line = {"path": r.path, "headers": r.headers, "body": r.body.decode()}
            out.write(json.dumps(line) + "\n")


if __name__ == "__main__":
    main()
