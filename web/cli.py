"""The `forecast-ledger` command."""

import json
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from claims.clock import utc_now
from forecasts.accounts.service import create_account, get_account, issue_token
from forecasts.ledger.roles import Role
from web.cli_errors import Command
from web.db import Database
from web.migrate import upgrade
from web.settings import get_settings

app = Command(
    help="Forecast Ledger: a tamper-evident ledger of probabilistic forecasts.",
    no_args_is_help=True,
    add_completion=False,
)
user_app = typer.Typer(help="Accounts and API tokens.", no_args_is_help=True)
app.add_typer(user_app, name="user")
err = Console(stderr=True)


_opened: list[Database] = []


@app.callback()
def _check_settings(command: typer.Context) -> None:
    """Every command starts by reading the settings: `Command` names a bad one (exit 2)."""
    from web import notifications

    notifications.install(get_settings().public_url)
    command.call_on_close(_close_databases)


def _database() -> Database:
    """The configured database, its schema brought up to date first."""
    db = Database(get_settings().database_url)
    upgrade(db.write_engine)
    _opened.append(db)
    return db


def _close_databases() -> None:
    """The databases a command opened, closed when it ends (also when run in-process)."""
    while _opened:
        _opened.pop().dispose()


@app.command()
def migrate() -> None:
    """Bring the database schema up to date, and nothing else."""
    _database().dispose()
    err.print("schema up to date")


@contextmanager
def _metrics_directory(workers: int) -> Iterator[None]:
    """PROMETHEUS_MULTIPROC_DIR for uvicorn's workers to share (see web/metrics.py).

    One process keeps its metrics in memory. For several, a fresh temporary directory is made
    before anything imports prometheus-client, and removed at exit; an operator's own
    directory is used as it is (they empty it between runs).
    """
    if workers == 1 or os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="forecast-ledger-metrics-") as directory:
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
        try:
            yield
        finally:
            del os.environ["PROMETHEUS_MULTIPROC_DIR"]


@contextmanager
def _jobs(run: bool = True, *, wait: bool = True) -> Iterator[None]:
    """The scheduler on its own database handles in this process, while the block runs
    (`wait`: let running jobs finish at the end)."""
    if not run:
        yield
        return
    from web import scheduler
    from web.context import AppContext

    ctx = AppContext(settings=get_settings(), db=_database())
    ctx.db.start_checkpoints()
    jobs = scheduler.start(ctx)
    try:
        yield
    finally:
        jobs.shutdown(wait=wait)
        ctx.db.dispose()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on")] = 8000,
    no_scheduler: Annotated[
        bool, typer.Option("--no-scheduler", help="Leave jobs to workers")
    ] = False,
    workers: Annotated[
        int, typer.Option(min=1, help="App processes sharing the socket (one scheduler)")
    ] = 1,
) -> None:
    """API, pages and (unless --no-scheduler) the scheduler, which runs in this process."""
    import uvicorn

    _database().dispose()
    with _metrics_directory(workers), _jobs(run=not no_scheduler, wait=False):
        uvicorn.run(
            "web.app:served",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
            access_log=False,
        )


@app.command()
def worker() -> None:
    """The scheduler alone, for deployments with several app processes."""
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with _jobs():
        err.print("worker running; Ctrl-C to stop")
        stop.wait()


@app.command()
def tick() -> None:
    """Run every scheduled job once, now, then exit."""
    from web import scheduler
    from web.context import AppContext

    ctx = AppContext(settings=get_settings(), db=_database())
    for name, result in scheduler.run_once(ctx).items():
        err.print(f"{name}: {result}")


@user_app.command("add")
def user_add(
    handle: str,
    role: Annotated[Role, typer.Option(help="The account's role")] = Role.FORECASTER,
) -> None:
    """Create an account and print a new API token as the last line."""
    import re

    from claims.text import SLUG_PATTERN
    from forecasts.accounts.handles import RESERVED_HANDLE, is_reserved

    if not re.match(SLUG_PATTERN, handle) or len(handle) > 40:
        raise typer.BadParameter(
            "handles are lowercase letters, digits and single hyphens", param_hint="'handle'"
        )
    if is_reserved(handle):
        raise typer.BadParameter(f"the handle {handle!r} {RESERVED_HANDLE}", param_hint="'handle'")
    db = _database()
    with db.writing() as session:
        account = create_account(session, handle, role=role.value, now=utc_now())
        token = issue_token(session, account, now=utc_now(), label="cli")
    err.print(f"created {role} @{handle}; the token is shown once:")
    print(token)


@user_app.command("token")
def user_token(handle: str) -> None:
    """Issue another API token for an existing account (printed as the last line)."""
    from claims.errors import DomainError

    db = _database()
    try:
        with db.writing() as session:
            token = issue_token(session, get_account(session, handle), now=utc_now(), label="cli")
    except DomainError as error:  # unknown handle, or as many live tokens as it may have
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    print(token)


@user_app.command("revoke")
def user_revoke(handle: str) -> None:
    """Revoke every API token of an account and end its site sessions."""
    from sqlmodel import col, select

    from forecasts.accounts.service import end_sessions
    from forecasts.ledger.models import ApiToken

    db = _database()
    with db.writing() as session:
        account = get_account(session, handle)
        live = session.exec(
            select(ApiToken).where(
                ApiToken.account_id == account.id, col(ApiToken.revoked_at).is_(None)
            )
        ).all()
        for token in live:
            token.revoked_at = utc_now()
            session.add(token)
        end_sessions(session, account)  # commits
    db.dispose()
    err.print(f"revoked {len(live)} token(s) of @{handle} and ended its site sessions")


@user_app.command("role")
def user_role(
    handle: str,
    role: Annotated[Role, typer.Argument(help="The new role")],
) -> None:
    """Give an account another role (the last admin cannot be demoted)."""
    from claims.errors import DomainError
    from forecasts.accounts.service import set_role

    db = _database()
    try:
        with db.writing() as session:
            account = set_role(session, handle, role.value)
    except DomainError as error:
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    finally:
        db.dispose()
    err.print(f"@{account.handle} is now {account.role}")


@user_app.command("password")
def user_password(
    handle: str,
    password: Annotated[str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True)],
) -> None:
    """Set an account's password, for signing in on the site (editors, admins, bots' owners)."""
    from claims.errors import DomainError
    from forecasts.accounts.service import set_password

    db = _database()
    try:
        with db.writing() as session:
            set_password(session, get_account(session, handle), password)
    except DomainError as error:  # too short, the handle, or a common password
        err.print(f"[red]{error}[/red]")
        raise typer.Exit(1) from error
    err.print(f"password set for @{handle}")


@app.command()
def verify(
    file: Annotated[Path | None, typer.Option(help="Check an export offline instead")] = None,
    expect_head: Annotated[str | None, typer.Option(help="A published head hash to find")] = None,
) -> None:
    """Re-verify the chain, commitments, stored forecasts, and what is derived from them:
    claims rows, scores and evidence snapshots (an export: its chain and every reveal)."""
    from forecasts.archive.verify import verify_database, verify_export

    if file is not None:
        with file.open() as lines:
            report = verify_export(
                (json.loads(line) for line in lines if line.strip()), expect_head=expect_head
            )
    else:
        db = _database()
        with db.reading() as session:
            report = verify_database(session, expect_head=expect_head)
    for note in report.notes:
        err.print(note)
    if report.problems:
        for problem in report.problems[:20]:
            err.print(f"[red]{problem}[/red]")
        first = report.problems[0]
        where = "" if first.seq is None else f" at seq {first.seq}"
        print(f"FAILED{where}: {first.reason}")
        raise typer.Exit(1)
    print(
        f"OK: {report.entries} entries, {report.commitments} commitments checked, "
        f"head {report.head}"
    )


@app.command()
def export(
    file: Annotated[Path | None, typer.Option(help="Write here instead of stdout")] = None,
    private: Annotated[bool, typer.Option("--private", help="Include unrevealed salts")] = False,
) -> None:
    """Write the ledger as JSON lines (public unless --private)."""
    from forecasts.archive.verify import export_lines

    db = _database()
    out = file.open("w") if file else sys.stdout
    with db.reading() as session:
        for line in export_lines(session, private=private):
            out.write(json.dumps(line, sort_keys=True) + "\n")
    if file:
        out.close()


@app.command()
def restore(
    file: Annotated[Path, typer.Option(help="A ledger export made with `export --private`")],
) -> None:
    """Rebuild the record from a private export, into an empty database."""
    from claims.errors import DomainError
    from forecasts.archive.restore import read_export, restore_ledger

    db = _database()
    try:
        with file.open() as lines:
            entries = read_export(lines)
        with db.writing() as session:
            report = restore_ledger(session, entries, now=utc_now())
    except DomainError as error:
        print(f"FAILED: {error.detail}")
        raise typer.Exit(1) from None
    finally:
        db.dispose()
    print(
        f"restored {report.entries} entries, {report.claims} claims, {report.accounts} "
        f"accounts, {report.forecasts} forecasts; {report.scored_claims} claims scored; "
        f"head {report.head}"
    )


@app.command()
def rescore(
    workers: Annotated[
        int, typer.Option(min=1, help="Processes that score claims (default: one per CPU)")
    ] = os.cpu_count() or 1,
) -> None:
    """Rebuild every score and per-forecaster total from the record, with a progress bar."""
    from rich.progress import MofNCompleteColumn, Progress, TimeElapsedColumn

    from forecasts.claimants.records import rebuild_records
    from forecasts.scores.rescore import rescore_all

    db = _database()
    columns = (*Progress.get_default_columns(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err) as bar, db.writing() as session:
        task = bar.add_task("rescoring resolved claims", total=None)
        report = rescore_all(
            session,
            now=utc_now(),
            progress=lambda done, total: bar.update(task, completed=done, total=total),
            workers=workers,
        )
        claimants = rebuild_records(session)
        session.commit()
    db.dispose()
    print(
        f"rescored {report.claims} claims: {report.rows} score rows, {report.handles} handles, "
        f"{claimants} claimants' track records"
    )


@app.command()
def demo() -> None:
    """Seed the demo claims and a few forecasters (does nothing if they exist)."""
    from web.demo import seed_demo

    db = _database()
    created = seed_demo(db, now=utc_now())
    err.print("demo seeded" if created else "demo already present")


if __name__ == "__main__":
    app()
