"""The scheduler's email job: streams into items, items into messages, messages sent."""

from sqlalchemy import Engine
from sqlmodel import Session

from claims.clock import Clock
from forecasts.notify.email.digests import compose_digests, compose_immediate
from forecasts.notify.email.sending import Mailer, Sender, send_due
from forecasts.notify.email.smtp import send_message
from forecasts.notify.email.streams import collect_events, collect_stale


def run_email(engine: Engine, clock: Clock, mailer: Mailer, send: Sender = send_message) -> int:
    """One turn of the email job; returns how many messages were sent."""
    with Session(engine) as session:
        collect_events(session, clock())
        collect_stale(session, clock())
        compose_immediate(session, clock())
        compose_digests(session, clock())
    return send_due(engine, clock, mailer, send)
