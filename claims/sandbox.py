"""Judge a document under a deadline: `assess` runs in a child process, killed past it.

Parsing, JMESPath and CSS selectors are CPU work on a body chosen by whoever runs the source,
and much of it (lexbor, the C parsers) holds the GIL: a thread cannot be stopped and would
stall the event loop beside it. A process can be killed. The child is forked from the caller
(a millisecond or two, nothing imported again; forkserver and spawn would run the main
module again in every child, which for `serve` is the whole app). A fork of a threaded
process can inherit a lock another thread held; the child then hangs, and the deadline
kills it like any other slow rule. Past the deadline, or past its memory allowance, a rule
has no decision.
"""

import multiprocessing
import os
import resource
from multiprocessing.connection import Connection

from claims.rules import RuleSpec, Verdict, assess

RULE_DEADLINE = 5.0  # seconds for one rule's parse and evaluation, the child's start included
MEMORY_ALLOWANCE = 512 * 1024 * 1024  # bytes of address space a child may add to its own

_CONTEXT = multiprocessing.get_context("fork")


def assess_within(
    rule: RuleSpec, body: bytes, content_type: str | None, deadline: float = RULE_DEADLINE
) -> Verdict:
    """`assess(rule, body, content_type)`, or no decision if it takes more than `deadline` s.

    Blocks the calling thread (never the GIL) while it waits: call it through a thread.
    """
    receiver, sender = _CONTEXT.Pipe(duplex=False)
    child = _CONTEXT.Process(
        target=_assess_into, args=(sender, rule, body, content_type), daemon=True
    )
    child.start()
    sender.close()
    try:
        if not receiver.poll(deadline):
            return Verdict(decision=None, error=f"evaluation took more than {deadline:g} s")
        verdict: Verdict = receiver.recv()
        return verdict
    except EOFError:
        return Verdict(decision=None, error="evaluation failed: the worker died")
    finally:
        child.kill()
        child.join()
        receiver.close()


def _assess_into(sender: Connection, rule: RuleSpec, body: bytes, content_type: str | None) -> None:
    os.nice(10)  # the server's own threads come first when the cores are busy
    _limit_memory()
    try:
        verdict = assess(rule, body, content_type)
    except MemoryError:
        verdict = Verdict(decision=None, error="evaluation failed: out of its memory allowance")
    sender.send(verdict)
    sender.close()


def _limit_memory() -> None:
    """Cap the child's address space at what it has now plus `MEMORY_ALLOWANCE`."""
    try:
        with open("/proc/self/statm") as statm:
            pages = int(statm.read().split()[0])
    except OSError:  # not Linux: the deadline still holds
        return
    ceiling = pages * resource.getpagesize() + MEMORY_ALLOWANCE
    resource.setrlimit(resource.RLIMIT_AS, (ceiling, ceiling))
