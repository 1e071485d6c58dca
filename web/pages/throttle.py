"""Wrong passwords per handle: after a few in a minute, that handle waits (in this process)."""

import threading
import time
from collections import deque


class FailedSignIns:
    """A sliding minute of failed sign-ins per handle; `limit` of them lock it until they age."""

    def __init__(self, limit: int = 10, window: float = 60.0) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, handle: str, now: float | None = None) -> int:
        """Seconds before the handle may try again; 0 when it may now."""
        now = time.monotonic() if now is None else now
        with self._lock:
            failures = self._failures.get(handle)
            while failures and failures[0] <= now - self.window:
                failures.popleft()
            if not failures or len(failures) < self.limit:
                return 0
            return max(1, int(failures[0] + self.window - now) + 1)

    def failed(self, handle: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            self._failures.setdefault(handle, deque()).append(now)
