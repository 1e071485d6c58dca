"""The delivery worker: one asyncio loop sending every due delivery, each webhook apart.

Attempts run as tasks, so a receiver that hangs holds only its own (at most `per_webhook`)
attempts for up to 10 s while the loop keeps claiming and sending for every other webhook.
The database work (claiming, recording) runs in threads beside the loop.
"""

import asyncio
import logging
import secrets
import threading
from dataclasses import dataclass, field
from datetime import timedelta

import httpx
from sqlalchemy import Engine

from claims.clock import Clock
from claims.fetch import FetchPolicy, Resolver
from forecasts.notify.claiming import Job, Result, any_due, claim_due, record_results
from forecasts.notify.sending import ATTEMPT_SECONDS, attempt, body_of, make_client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the worker sends: the guard's allow list, concurrency, polling and the lease."""

    fetch: FetchPolicy = field(default_factory=FetchPolicy)
    per_webhook: int = 4  # attempts to one webhook in flight at once (SPEC §9)
    in_flight: int = 256  # attempts in flight in this worker
    poll: float = 0.5  # seconds between looks for due deliveries
    # longer than any attempt can take, so a live worker's lease never runs out under it
    lease: timedelta = timedelta(seconds=ATTEMPT_SECONDS + 5)
    resolver: Resolver | None = None


class DeliveryWorker:
    """Sends through `engine` (writes); `read_engine`, if given, answers "anything due?"."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        policy: DeliveryPolicy,
        read_engine: Engine | None = None,
    ) -> None:
        self.engine, self.clock, self.policy = engine, clock, policy
        self.read_engine = read_engine or engine
        self.token = secrets.token_hex(16)

    async def run(self, stop: threading.Event) -> None:
        """Claim and send until `stop` is set; then let the attempts under way finish."""
        tasks: set[asyncio.Task[Result]] = set()
        async with _Clients() as clients:
            while not stop.is_set() or tasks:
                room = self.policy.in_flight - len(tasks)
                if room > 0 and not stop.is_set():
                    for job in await self._claim_or_wait(room):
                        task = self._send(clients.pick(job.webhook_id), job)
                        tasks.add(asyncio.create_task(task))
                if not tasks:
                    await asyncio.sleep(self.policy.poll)
                    continue
                done, _ = await asyncio.wait(
                    tasks, timeout=self.policy.poll, return_when=asyncio.FIRST_COMPLETED
                )
                await asyncio.sleep(0.02)  # let neighbours finish too: fewer, larger writes
                done |= {task for task in tasks if task.done()}
                tasks -= done
                if done:
                    await self._record([task.result() for task in done])

    async def run_once(self) -> int:
        """Send everything due now, to the end (the `tick` command); returns the attempts."""
        sent = 0
        async with _Clients() as clients:
            while jobs := await self._claim(self.policy.in_flight):
                sending = (self._send(clients.pick(job.webhook_id), job) for job in jobs)
                results = await asyncio.gather(*sending)
                await asyncio.to_thread(record_results, self.engine, results, self.token)
                sent += len(results)
        return sent

    async def _claim_or_wait(self, room: int) -> list[Job]:
        """`_claim`; when the database fails (a restart, say), log it and claim nothing this
        turn: the loop goes on, so one error does not end deliveries for everybody."""
        try:
            return await self._claim(room)
        except Exception:
            log.exception("could not claim deliveries; trying again")
            await asyncio.sleep(self.policy.poll)
            return []

    async def _record(self, results: list[Result]) -> None:
        """Record the attempts; when that fails their leases run out and they are sent again
        (at least once, with the same delivery id and body: SPEC §9)."""
        try:
            await asyncio.to_thread(record_results, self.engine, results, self.token)
        except Exception:
            log.exception("could not record %d attempts; their leases will run out", len(results))

    async def _claim(self, room: int) -> list[Job]:
        if not await asyncio.to_thread(any_due, self.read_engine, self.clock()):
            return []
        return await asyncio.to_thread(
            claim_due,
            self.engine,
            self.clock(),
            self.token,
            limit=room,
            per_webhook=self.policy.per_webhook,
            lease=self.policy.lease,
        )

    async def _send(self, client: httpx.AsyncClient, job: Job) -> Result:
        started = self.clock()
        body = body_of(job.delivery_id, job.event, job.created_at, job.data)
        outcome = await attempt(
            client,
            job.url,
            job.event,
            job.delivery_id,
            body,
            job.secret,
            self.policy.fetch,
            t=int(started.timestamp()),
            resolver=self.policy.resolver,
        )
        return Result(job, outcome, started, self.clock())


class _Clients:
    """A few clients shared by webhook: httpcore looks through its whole pool for each
    request, so hundreds of connections in one pool cost more than the requests."""

    def __init__(self, count: int = 16) -> None:
        self._clients = [make_client() for _ in range(count)]

    def pick(self, webhook_id: int) -> httpx.AsyncClient:
        return self._clients[webhook_id % len(self._clients)]

    async def __aenter__(self) -> "_Clients":
        return self

    async def __aexit__(self, *_: object) -> None:
        for client in self._clients:
            await client.aclose()


class DeliveryThread:
    """The worker's loop in a thread of its own, for the scheduler's process."""

    def __init__(self, worker: DeliveryWorker) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(worker.run(self._stop)), name="deliveries", daemon=True
        )
        self._thread.start()

    def stop(self, wait: bool = True) -> None:
        self._stop.set()
        if wait:
            self._thread.join(timeout=ATTEMPT_SECONDS + 5)
