"""Rates in this process: forecast submissions per account; sign-ins per address and in total.

Signing in and signing up hash a password (argon2id: tenths of a second of CPU on every core
and 64 MiB each), so they are what an anonymous client can make the server spend. They are
limited per client address and in total, and the hashing itself runs a few at a time behind a
short queue; past any of these the answer is a quick 429 with `Retry-After`. The client
address is the connection's peer: behind a reverse proxy that is the proxy (see README).
"""

import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

MAX_KEYS = 10_000  # past this many keys, idle ones are forgotten


class SlowDown(Exception):
    """Over a rate or the hashing queue: a 429 with `Retry-After: retry_after`."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after


@dataclass
class RateLimiter:
    """Events per key per minute, in this process (a sliding window); 0 turns it off."""

    per_minute: int
    _seen: dict[str, deque[float]] = field(default_factory=dict)

    def retry_after(self, key: str, now: float | None = None) -> int | None:
        """Seconds to wait, or None when the request may go ahead (and is then counted)."""
        if self.per_minute <= 0:
            return None
        now = time.monotonic() if now is None else now
        if key not in self._seen and len(self._seen) >= MAX_KEYS:
            self._forget_idle(now)
        window = self._seen.setdefault(key, deque())
        while window and window[0] <= now - 60:
            window.popleft()
        if len(window) >= self.per_minute:
            return max(1, int(window[0] + 60 - now) + 1)
        window.append(now)
        return None

    def _forget_idle(self, now: float) -> None:
        idle = [key for key, window in self._seen.items() if not window or window[-1] <= now - 60]
        for key in idle:
            del self._seen[key]


class SignInGate:
    """What signing in and up may cost: rates per address and in total, hashes at once."""

    def __init__(
        self, per_address: int = 10, total: int = 60, hashing: int = 1, queue: int = 8
    ) -> None:
        self.per_address = RateLimiter(per_address)
        self.total = RateLimiter(total)
        self._running = threading.BoundedSemaphore(hashing)
        self._admitted = threading.BoundedSemaphore(hashing + queue)

    def admit(self, client: str) -> None:
        """Count a sign-in or sign-up from `client`; SlowDown when over either rate."""
        wait = self.per_address.retry_after(client)
        if wait is None:
            wait = self.total.retry_after("")
        if wait is not None:
            raise SlowDown(f"Too many sign-ins: try again in {wait} s.", wait)

    @contextmanager
    def hashing(self) -> Iterator[None]:
        """A turn at password hashing, behind at most `queue` others; SlowDown when full."""
        if not self._admitted.acquire(blocking=False):
            raise SlowDown("The server is busy signing people in: try again in a second.", 1)
        try:
            with self._running:
                yield
        finally:
            self._admitted.release()
