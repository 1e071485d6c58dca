"""Group commit: one writer thread turns many waiting submissions into one transaction."""

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime

from sqlalchemy import Engine

from forecasts.submit import Outcome, SubmitRequest, append_batch

log = logging.getLogger(__name__)
_STOP = object()


class GroupCommitter:
    """Runs `append_batch` on a dedicated thread; `submit` returns a future per request.

    While one transaction commits, new requests queue up; the next transaction takes all of
    them (up to `max_batch`). A future resolves only after its transaction has committed.
    """

    def __init__(
        self, engine: Engine, clock: Callable[[], datetime], *, max_batch: int = 256
    ) -> None:
        self._engine = engine
        self._clock = clock
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="group-commit", daemon=True)
        self._thread.start()

    def submit(self, request: SubmitRequest) -> "Future[Outcome]":
        future: Future[Outcome] = Future()
        self._queue.put((request, future))
        return future

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
            if stop:
                return

    def _commit(self, items: Sequence[tuple[SubmitRequest, "Future[Outcome]"]]) -> None:
        requests = [request for request, _ in items]
        try:
            outcomes = self._transaction(requests)
        except Exception:
            log.exception("batch of %d failed; retrying one by one", len(items))
            for request, future in items:
                try:
                    future.set_result(self._transaction([request])[0])
                except Exception as error:  # the request alone fails: tell its caller
                    future.set_exception(error)
            return
        for (_, future), outcome in zip(items, outcomes, strict=True):
            future.set_result(outcome)

    def _transaction(self, requests: list[SubmitRequest]) -> list[Outcome]:
        with self._engine.begin() as conn:
            return append_batch(conn, requests, self._clock)
