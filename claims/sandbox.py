"""Judge a document under a deadline: `assess` runs in a worker process, killed past it.

Parsing, JMESPath and CSS selectors are CPU work on a body chosen by whoever runs the source,
and much of it (lexbor, the C parsers) holds the GIL: a thread cannot be stopped and would
stall the event loop beside it. A process can be killed. Workers are forked from the caller
(nothing imported again; forkserver and spawn would run the main module again in every
child, which for `serve` is the whole app) and kept for the next document until one is
killed, replaced or in excess. A fork of a threaded process can inherit a lock another
thread held; the worker then hangs, and the deadline kills it like any slow rule. Past the
deadline, or past its memory allowance, a rule has no decision.
"""

import multiprocessing
import os
import resource
import signal
import threading
from multiprocessing.connection import Connection

from claims.rules import RuleSpec, Verdict, assess

RULE_DEADLINE = 5.0  # seconds for one rule's parse and evaluation
MEMORY_ALLOWANCE = 512 * 1024 * 1024  # bytes of address space a worker may add to its own
IDLE_WORKERS = 8  # kept between evaluations; more are forked when more run at once
JOBS_PER_WORKER = 200  # then it is replaced, so no worker drifts far from its allowance

_CONTEXT = multiprocessing.get_context("fork")


class _Worker:
    """A forked child judging one document at a time, sent over a pipe."""

    def __init__(self) -> None:
        self.conn, theirs = _CONTEXT.Pipe()
        self.process = _CONTEXT.Process(target=_serve, args=(theirs,), daemon=True)
        self.process.start()
        theirs.close()
        self.jobs = 0

    def stop(self) -> None:
        self.process.kill()
        self.process.join()
        self.conn.close()


_lock = threading.Lock()
_idle: list[_Worker] = []


def assess_within(
    rule: RuleSpec, body: bytes, content_type: str | None, deadline: float = RULE_DEADLINE
) -> Verdict:
    """`assess(rule, body, content_type)`, or no decision if it takes more than `deadline` s.

    Blocks the calling thread (never the GIL) while it waits: call it through a thread.
    A worker past the deadline is killed; the next evaluation gets another.
    """
    with _lock:
        worker = _idle.pop() if _idle else None
    worker = worker or _Worker()
    try:
        worker.conn.send((rule, body, content_type))
        if not worker.conn.poll(deadline):
            worker.stop()
            return Verdict(decision=None, error=f"evaluation took more than {deadline:g} s")
        verdict: Verdict = worker.conn.recv()
    except (EOFError, OSError):
        worker.stop()
        return Verdict(decision=None, error="evaluation failed: the worker died")
    worker.jobs += 1
    with _lock:
        keep = len(_idle) < IDLE_WORKERS and worker.jobs < JOBS_PER_WORKER
        if keep:
            _idle.append(worker)
    if not keep:
        worker.stop()
    return verdict


def _serve(conn: Connection) -> None:
    # Close every descriptor inherited from the parent but this pipe: a listening socket or a
    # database connection held open here would outlive the parent's closing it.
    os.closerange(3, conn.fileno())
    os.closerange(conn.fileno() + 1, os.sysconf("SC_OPEN_MAX"))
    # The server's handlers (uvicorn's, the worker command's) would make SIGTERM a no-op here.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    parent = os.getppid()
    os.nice(10)  # the server's own threads come first when the cores are busy
    _limit_memory()
    while True:
        while not conn.poll(1.0):
            if os.getppid() != parent:
                return  # the parent died without closing the pipe
        try:
            rule, body, content_type = conn.recv()
        except EOFError:
            return
        try:
            verdict = assess(rule, body, content_type)
        except MemoryError:
            conn.send(
                Verdict(decision=None, error="evaluation failed: out of its memory allowance")
            )
            return  # what is left of the heap is not worth keeping
        conn.send(verdict)


def _limit_memory() -> None:
    """Cap the child's address space at what it has now plus `MEMORY_ALLOWANCE`."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
    except OSError:  # not Linux: the deadline still holds
        return
    ceiling = pages * resource.getpagesize() + MEMORY_ALLOWANCE
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
