"""Stopping the scheduler tells the delivery thread at once, not after the running jobs."""

import threading
import time
from datetime import UTC, datetime

from web.scheduler import _Scheduler


class _Deliveries:
    """Records each `stop` call and whether the job was still running at that moment."""

    def __init__(self, job_running: threading.Event) -> None:
        self.job_running = job_running
        self.calls: list[tuple[bool, bool]] = []  # (wait, job still running)

    def stop(self, wait: bool = True) -> None:
        self.calls.append((wait, self.job_running.is_set()))


def test_deliveries_are_told_to_stop_while_a_job_still_runs_and_joined_after_it() -> None:
    running, release = threading.Event(), threading.Event()

    def job() -> None:
        running.set()
        release.wait(10)
        running.clear()

    scheduler = _Scheduler(timezone="UTC")
    deliveries = _Deliveries(running)
    scheduler.deliveries = deliveries  # type: ignore[assignment]  # a recording stand-in
    # an interval job due now: a one-off "date" job is removed by the scheduler's thread
    # after its run, which can race the shutdown (JobLookupError in that thread)
    scheduler.add_job(job, "interval", hours=1, next_run_time=datetime.now(UTC))
    scheduler.start()
    assert running.wait(10), "the job never started"
    stopping = threading.Thread(target=scheduler.shutdown, kwargs={"wait": True})
    stopping.start()
    deadline = time.monotonic() + 10
    while not deliveries.calls and time.monotonic() < deadline:
        time.sleep(0.01)
    assert deliveries.calls == [(False, True)]  # told at once, the job still under way
    assert stopping.is_alive()  # shutdown(wait=True) waits for the job
    release.set()
    stopping.join(10)
    assert not stopping.is_alive()
    assert deliveries.calls == [(False, True), (True, False)]  # joined once the job is done
