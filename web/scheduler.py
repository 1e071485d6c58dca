"""APScheduler wiring: when the jobs that claims/ and forecasts/ provide are run."""

import asyncio
import logging
from collections.abc import Callable
from datetime import timedelta

from apscheduler.schedulers.background import BackgroundScheduler

from forecasts.notify.deliveries import prune_deliveries
from forecasts.notify.email.worker import run_email
from forecasts.notify.notices import send_closing_soon, send_crowd_moves
from forecasts.notify.worker import DeliveryThread, DeliveryWorker
from forecasts.resolution.autoresolve import finalise_expired, run_due_rules
from forecasts.resolution.reveal import close_due_claims
from web import metrics
from web.context import AppContext
from web.policy import delivery_policy, resolution_policy

log = logging.getLogger(__name__)


def jobs(ctx: AppContext) -> dict[str, Callable[[], object]]:
    """Every scheduled job, by name, as a call that runs it once now."""
    found: dict[str, Callable[[], object]] = {
        "close_due_claims": lambda: close_due_claims(ctx.db.write_engine, ctx.clock),
        "run_due_rules": lambda: run_due_rules(
            ctx.db.write_engine, ctx.clock, resolution_policy(ctx.settings)
        ),
        "finalise_expired": lambda: finalise_expired(ctx.db.write_engine, ctx.clock),
        "send_closing_soon": lambda: send_closing_soon(
            ctx.db.write_engine,
            ctx.clock,
            timedelta(seconds=ctx.settings.closing_soon),
            read_engine=ctx.db.read_engine,
        ),
        "send_crowd_moves": lambda: send_crowd_moves(
            ctx.db.write_engine,
            ctx.clock,
            ctx.settings.crowd_move,
            read_engine=ctx.db.read_engine,
        ),
        "prune_deliveries": lambda: prune_deliveries(ctx.db.write_engine, ctx.clock()),
    }
    mailer = ctx.settings.mailer()
    if mailer is not None:  # email only when it is on (SPEC §9)
        found["send_email"] = lambda: run_email(ctx.db.write_engine, ctx.clock, mailer)
    return found


def delivery_worker(ctx: AppContext) -> DeliveryWorker:
    policy = delivery_policy(ctx.settings)
    return DeliveryWorker(ctx.db.write_engine, ctx.clock, policy, ctx.db.read_engine)


def run_once(ctx: AppContext) -> dict[str, object]:
    """`tick`: run every job once, now, then send every delivery due."""
    done = {name: job() for name, job in jobs(ctx).items()}
    done["deliveries"] = asyncio.run(delivery_worker(ctx).run_once())
    return done


class _Scheduler(BackgroundScheduler):  # type: ignore[misc]  # apscheduler is untyped
    """The jobs' scheduler, which also stops the delivery thread beside it."""

    deliveries: DeliveryThread | None = None

    def shutdown(self, wait: bool = True) -> None:
        # told first, so the attempts under way finish while the running jobs do rather
        # than after them (a stop took the jobs' time plus up to 15 s); joined at the end
        if self.deliveries is not None:
            self.deliveries.stop(wait=False)
        super().shutdown(wait)
        if self.deliveries is not None:
            self.deliveries.stop()


def start(ctx: AppContext) -> BackgroundScheduler:
    scheduler = _Scheduler(timezone="UTC")
    for name, job in jobs(ctx).items():
        scheduler.add_job(
            metrics.counted(name, job),
            "interval",
            seconds=ctx.settings.job_interval,
            id=name,
            max_instances=1,
            coalesce=True,
        )
    # deliveries run apart from the jobs: a slow receiver must not hold up a job's next run
    scheduler.deliveries = DeliveryThread(delivery_worker(ctx))
    scheduler.start()
    return scheduler
