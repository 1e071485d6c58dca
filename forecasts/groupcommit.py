"""Group commit: one writer thread turns many waiting submissions into one transaction."""

import asyncio
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Engine

from forecasts.submit import Outcome, SubmitRequest, append_batch

log = logging.getLogger(__name__)
_STOP = object()

_Waiter = asyncio.Future[Outcome]  # on the event loop that asked


class GroupCommitter:
    """Runs `append_batch` on a dedicated thread, one transaction for all waiting requests.

    While one transaction commits, new requests queue up; the next transaction takes all of
    them (up to `max_batch`). An outcome is handed over only after its transaction has
    committed, waking each waiting event loop once per batch rather than once per request
    (each wake-up is a system call on the loop's self-pipe).
    """

    def __init__(
        self,
        engine: Engine,
        clock: Callable[[], datetime],
        *,
        max_batch: int = 256,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._on_batch = on_batch  # told each batch's size, on the writer thread
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    async def outcome(self, request: SubmitRequest) -> Outcome:
        """Queue a request from the running event loop and wait until it is committed."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put((request, future))
        return await future

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(timeout=10)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            items = [first]
            stop = False
            while len(items) < self._max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stop = True
                    break
                items.append(item)
            self._commit(items)  # type: ignore[arg-type]
            if self._on_batch is not None:
                self._on_batch(len(items))
            if stop:
                return

    def _commit(self, items: Sequence[tuple[SubmitRequest, _Waiter]]) -> None:
        requests = [request for request, _ in items]
        try:
            outcomes: list[Outcome | _Failed] = list(self._transaction(requests))
        except Exception:
            log.exception("batch of %d failed; retrying one by one", len(items))
            outcomes = []
            for request in requests:
                try:
                    outcomes.append(self._transaction([request])[0])
                except Exception as error:  # the request alone fails: tell its caller
                    outcomes.append(_Failed(error))
        _hand_over([waiter for _, waiter in items], outcomes)

    def _transaction(self, requests: list[SubmitRequest]) -> list[Outcome]:
        with self._engine.begin() as conn:
            return append_batch(conn, requests, self._clock)


class _Failed:
    """A request whose transaction raised (a domain refusal is an outcome, not a failure)."""

    def __init__(self, error: Exception) -> None:
        self.error = error


def _hand_over(waiters: list[_Waiter], outcomes: list[Outcome | _Failed]) -> None:
    """Resolve every waiter; one call into each event loop that has waiters in the batch."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[_Waiter, Any]]] = {}
    for waiter, outcome in zip(waiters, outcomes, strict=True):
        by_loop.setdefault(waiter.get_loop(), []).append((waiter, outcome))
    for loop, pairs in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle, pairs)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            log.warning("event loop closed before %d outcomes could be handed over", len(pairs))


def _settle(pairs: list[tuple[_Waiter, Any]]) -> None:
    for future, outcome in pairs:
        if future.done():  # the caller went away (cancelled); the outcome stands committed
            continue
        if isinstance(outcome, _Failed):
            future.set_exception(outcome.error)
        else:
            future.set_result(outcome)
