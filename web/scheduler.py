"""APScheduler wiring: when the jobs that claims/ and forecasts/ provide are run."""

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from forecasts.notify.email.worker import run_email
from forecasts.resolution.autoresolve import finalise_expired, run_due_rules
from forecasts.resolution.reveal import close_due_claims
from web import metrics
from web.context import AppContext
from web.policy import resolution_policy

log = logging.getLogger(__name__)


def jobs(ctx: AppContext) -> dict[str, Callable[[], object]]:
    """Every scheduled job, by name, as a call that runs it once now."""
    found: dict[str, Callable[[], object]] = {
        "close_due_claims": lambda: close_due_claims(ctx.db.write_engine, ctx.clock),
        "run_due_rules": lambda: run_due_rules(
            ctx.db.write_engine, ctx.clock, resolution_policy(ctx.settings)
        ),
        "finalise_expired": lambda: finalise_expired(ctx.db.write_engine, ctx.clock),
    }
    mailer = ctx.settings.mailer()
    if mailer is not None:  # email only when it is on (SPEC §9)
        found["send_email"] = lambda: run_email(ctx.db.write_engine, ctx.clock, mailer)
    return found


def run_once(ctx: AppContext) -> dict[str, object]:
    """`tick`: run every job once, now."""
    return {name: job() for name, job in jobs(ctx).items()}


def start(ctx: AppContext) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for name, job in jobs(ctx).items():
        scheduler.add_job(
            metrics.counted(name, job),
            "interval",
            seconds=ctx.settings.job_interval,
            id=name,
            max_instances=1,
            coalesce=True,
        )
    scheduler.start()
    return scheduler
