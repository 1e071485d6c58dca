"""Forecast submissions per second and p50/p99 latency, next to a bare FastAPI endpoint.

Starts two uvicorn servers on 127.0.0.1 with the same options (one worker process each):

* bare: `bench/baseline_app.py`, which only validates the body (`ForecastIn`);
* real: the Forecast Ledger app (`web.app:create_app`) on a fresh SQLite file, rate limit off.

Then drives each in turn with `wrk` (one thread, 32 connections by default, a Lua script that
rotates 32 forecasters' bearer tokens and varies the probability), after a short warm-up, and
prints throughput, p50 and p99 for both, the real/bare throughput ratio, non-2xx counts, the
CPU each process used, and whether the forecast rows stored match the 201s acknowledged.
It prints figures, never pass/fail.

Without `wrk` (`apt-get install -y wrk`) it falls back to a Python asyncio + httpx client,
whose figures are generator-bound (the client competes with the server for the CPU).

Run from the repository root: `.venv/bin/python bench/submit.py --seconds 10`.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

# run as a script, sys.path starts at bench/: the repository root makes `bench.` importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.ledger import check_submit, create_accounts, create_claim
from bench.load import Result, measure_python, measure_wrk, wrk_script
from bench.report import report, result_row
from bench.servers import ROOT, Server


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="measured seconds per target")
    parser.add_argument("--warmup", type=int, default=2, help="warm-up seconds per target")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--rounds", type=int, default=1, help="measure bare then real this many times (medians)"
    )
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (1 uses least CPU)")
    parser.add_argument("--forecasters", type=int, default=32, help="accounts whose tokens rotate")
    parser.add_argument(
        "--generator", choices=["auto", "wrk", "python"], default="auto", help="load generator"
    )
    has = importlib.util.find_spec
    parser.add_argument("--loop", default="uvloop" if has("uvloop") else "asyncio")
    parser.add_argument("--http", default="httptools" if has("httptools") else "h11")
    parser.add_argument(
        "--pin",
        action="store_true",
        help="pin both servers to CPU 0 and the load generator to the other CPUs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument(
        "--without-log",
        action="store_true",
        help="also measure the real app without its request log and request metrics",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="show wrk's own output")
    parser.add_argument(
        "--webhooks",
        type=int,
        default=0,
        help="N webhooks on crowd.moved, with a `forecast-ledger worker` beside (bench/notify.py)",
    )
    parser.add_argument(
        "--processes",
        metavar="N,N,…",
        help="instead: throughput with N serve processes, SQLite beside PostgreSQL "
        "(bench/processes.py; PostgreSQL from a throwaway cluster, tests/postgres.sh)",
    )
    args = parser.parse_args()
    if args.rounds < 1 or args.seconds < 1 or args.connections < 1:
        parser.error("--rounds, --seconds and --connections must be at least 1")
    args.wrk = shutil.which("wrk")
    if args.generator == "wrk" and not args.wrk:
        parser.error("wrk is not installed: apt-get install -y wrk")
    if args.generator == "auto":
        args.generator = "wrk" if args.wrk else "python"
    args.server_cpus = args.client_cpus = None
    if args.pin:
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            parser.error("--pin needs at least two CPUs")
        args.server_cpus, args.client_cpus = {cpus[0]}, set(cpus[1:])
    return args


def main() -> int:
    args = parse_args()
    if args.processes:
        command = [sys.executable, str(ROOT / "bench" / "processes.py"), "--engine", "both"]
        command += ["--processes", args.processes, "--seconds", str(args.seconds)]
        return subprocess.run(command, cwd=ROOT, check=False).returncode
    if args.generator == "python":
        print(
            "wrk not found (install it: apt-get install -y wrk); falling back to a Python "
            "asyncio+httpx generator: the figures will be generator-bound."
        )
    tmp = Path(tempfile.mkdtemp(prefix="fl-bench-"))
    db = tmp / "bench.sqlite3"
    env = dict(os.environ)
    env["FORECAST_LEDGER_DATABASE_URL"] = f"sqlite:///{db}"
    env["FORECAST_LEDGER_RATE_LIMIT"] = "0"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    servers: list[Server] = []
    watchers: list[subprocess.Popen[str]] = []
    try:
        print(f"cpus: {os.cpu_count()}; uvicorn --loop {args.loop} --http {args.http}, 1 worker")
        print(f"creating 1 editor and {args.forecasters} forecasters in {db} ...")
        editor, tokens = create_accounts(env, args.forecasters)
        # as `serve` runs one process: the request log on stderr, metrics in memory
        real = Server("real", ["--factory", "web.app:create_app"], env, args, tmp / "real.log")
        servers.append(real)
        bare = Server("bare", ["bench.baseline_app:app"], env, args, tmp / "bare.log")
        servers.append(bare)
        targets = [("bare", bare), ("real", real)]
        if args.without_log:  # the same app without the request log and request metrics
            nolog = Server(
                "no-log", ["--factory", "bench.nolog_app:create"], env, args, tmp / "nolog.log"
            )
            servers.append(nolog)
            targets.append(("no-log", nolog))
        for server in servers:
            server.wait_ready()
        create_claim(real.url, editor)
        if args.webhooks:
            from bench.notify import start_crowd_watchers

            watchers = start_crowd_watchers(env, tmp, args.webhooks)
        for server in servers:
            check_submit(server, tokens[0])
        script = wrk_script(tmp, tokens) if args.generator == "wrk" else None
        bares: list[Result] = []
        reals: list[Result] = []
        nologs: list[Result] = []
        rows = acked = 0
        for k in range(1, args.rounds + 1):
            round_note = f" round {k}/{args.rounds}" if args.rounds > 1 else ""
            for name, server in targets:
                print(f"measuring {name}{round_note} ({server.url}) ...")
                target_db = db if name == "real" else None
                if script is not None:
                    result, stored = measure_wrk(args, name, server, script, target_db)
                else:
                    result, stored = measure_python(args, name, server, tokens, target_db)
                {"bare": bares, "real": reals, "no-log": nologs}[name].append(result)
                if stored is not None:
                    rows, acked = rows + stored[0], acked + stored[1]
            for server in servers:
                if server.proc.poll() is not None:
                    raise RuntimeError(f"{server.name} server died:\n{server.log_tail()}")
        report(args, bares, reals, (rows, acked))
        if watchers:
            from bench.notify import stop_crowd_watchers

            print(stop_crowd_watchers(watchers, env["FORECAST_LEDGER_DATABASE_URL"]))
            watchers = []
        if nologs:
            for k, result in enumerate(nologs, 1):
                print(result_row(result, f"no-log {k}"))
            ratios = [r.rps / n.rps for r, n in zip(reals, nologs, strict=True) if n.rps]
            shown = ", ".join(f"{x:.3f}" for x in ratios)
            print(f"ratio real/no-log throughput: median {statistics.median(ratios):.3f} ({shown})")
        lines = sum(1 for _ in real.log_path.open("rb"))
        log_format = env.get("FORECAST_LEDGER_LOG_FORMAT", "text")
        print(f"request log ({log_format}): {lines} lines in the real server's stderr")
        if any(r.non2xx for r in reals):
            print(f"real server log (tail):\n{textwrap.indent(real.log_tail(15), '    ')}")
        return 0
    except (RuntimeError, subprocess.TimeoutExpired) as error:
        print(f"bench aborted: {error}", file=sys.stderr)
        return 1
    finally:
        for process in watchers:
            process.kill()
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
