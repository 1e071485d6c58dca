"""Group commit: one writer thread turns many waiting submissions into one transaction."""

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, delete

from forecasts.ledger.tables import idem_t
from forecasts.submit.service import IDEMPOTENCY_TTL, Answer, Outcome, SubmitRequest, append_batch

log = logging.getLogger(__name__)
_STOP = object()
PURGE_EVERY = 3600.0  # seconds between deletions of expired idempotency records

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
        answer: Answer,
        max_batch: int = 256,
        key_ttl: timedelta = IDEMPOTENCY_TTL,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._key_ttl = key_ttl
        self._answer = answer
        self._purged_at = time.monotonic()
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
            if time.monotonic() - self._purged_at > PURGE_EVERY:
                self._purge()

    def _purge(self) -> None:
        """Delete idempotency records past their time (a batch deletes those it meets)."""
        self._purged_at = time.monotonic()
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    delete(idem_t).where(idem_t.c.created_at <= self._clock() - self._key_ttl)
                )
        except Exception:  # the next hour tries again; submissions are unaffected
            log.exception("could not delete expired idempotency records")

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
            return append_batch(conn, requests, self._clock, self._key_ttl, answer=self._answer)


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
