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
import asyncio
import contextlib
import importlib.util
import json
import os
import random
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
SLUG = "bench-claim"
PATH = f"/api/v1/claims/{SLUG}/forecasts"
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Result:
    name: str
    generator: str
    seconds: float
    requests: int
    non2xx: int
    socket_errors: dict[str, int]
    p50_ms: float
    p99_ms: float
    max_ms: float
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    machine_cpu_s: float = 0.0
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def ok(self) -> int:
        return self.requests - self.non2xx

    @property
    def rps(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0


# --------------------------------------------------------------------------- servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def machine_cpu() -> float:
    """Busy CPU seconds of the whole machine so far (all cores, from /proc/stat)."""
    ticks = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks[:8]) - idle) / CLK_TCK


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


class Server:
    def __init__(self, name: str, target: list[str], env: dict[str, str], args: Any, log: Path):
        self.name = name
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        command = [sys.executable, "-m", "uvicorn", *target]
        command += ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        command += ["--loop", args.loop, "--http", args.http]
        command += ["--log-level", "warning", "--no-access-log"]
        self.command = command
        cpus = args.server_cpus
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
        )

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} server exited early:\n{self.log_tail()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/health", timeout=2).status_code == 200:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} server not ready after {timeout:.0f}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        self._log.flush()
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:]) or "(no output)"

    def cpu(self) -> float:
        return cpu_seconds(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self._log.close()


# --------------------------------------------------------------------------- set-up


ACCOUNTS_SCRIPT = """
import contextlib, io, json, sys
from web.cli import app
tokens = {}
for handle, role in json.loads(sys.argv[1]):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        app(["user", "add", handle, "--role", role], standalone_mode=False)
    tokens[handle] = out.getvalue().strip().splitlines()[-1]
print(json.dumps(tokens))
"""


def create_accounts(env: dict[str, str], forecasters: int) -> tuple[str, list[str]]:
    """`forecast-ledger user add` for one editor and N forecasters, in one process."""
    wanted = [("bench-editor", "editor")]
    wanted += [(f"bench-f{i}", "forecaster") for i in range(forecasters)]
    done = subprocess.run(
        [sys.executable, "-c", ACCOUNTS_SCRIPT, json.dumps(wanted)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"creating accounts failed:\n{done.stderr[-3000:]}")
    tokens: dict[str, str] = json.loads(done.stdout.strip().splitlines()[-1])
    return tokens.pop("bench-editor"), list(tokens.values())


def create_claim(url: str, editor_token: str) -> None:
    body = {
        "slug": SLUG,
        "title": "Bench",
        "resolution_criteria": "x",
        "closes_at": "2030-01-01T00:00:00Z",
    }
    reply = httpx.post(
        url + "/api/v1/claims",
        json=body,
        headers={"Authorization": f"Bearer {editor_token}"},
        timeout=30,
    )
    if reply.status_code != 201:
        raise RuntimeError(f"creating the claim: {reply.status_code} {reply.text[:500]}")


def check_submit(server: Server, token: str) -> None:
    reply = httpx.post(
        server.url + PATH,
        json={"probability": 0.63},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    if reply.status_code != 201:
        raise RuntimeError(
            f"{server.name}: a single submission got {reply.status_code} {reply.text[:500]}\n"
            f"{server.log_tail()}"
        )


def stored_forecasts(db_path: Path) -> int:
    with contextlib.closing(sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM forecasts").fetchone()[0])


def settled_forecasts(db_path: Path, timeout: float = 10.0) -> int:
    """The row count once it has stopped moving (requests in flight at the end get stored)."""
    last = stored_forecasts(db_path)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = stored_forecasts(db_path)
        if now == last:
            return now
        last = now
    return last


# --------------------------------------------------------------------------- wrk

WRK_LUA = """
-- written by bench/submit.py: rotate forecasters' tokens, vary the probability
local tokens = {TOKENS}
local pool = {}
local n = 0
local i = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  math.randomseed(7919 * tid)
  for k = 1, 1024 do
    local token = tokens[((k + tid * 7) % #tokens) + 1]
    local body = string.format('{"probability": %.3f}', math.random(1, 999) / 1000)
    pool[k] = wrk.format("POST", "PATH", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
  n = #pool
end

function request()
  i = (i % n) + 1
  return pool[i]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect": %d, "read": %d,'
    .. ' "write": %d, "timeout": %d, "p50_us": %d, "p99_us": %d, "max_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def wrk_script(tmp: Path, tokens: list[str]) -> Path:
    script = tmp / "submit.lua"
    quoted = ", ".join(f'"{t}"' for t in tokens)
    script.write_text(WRK_LUA.replace("{TOKENS}", "{" + quoted + "}").replace("PATH", PATH))
    return script


def run_wrk(args: Any, script: Path, url: str, seconds: float, *, show: bool) -> dict[str, Any]:
    command = [
        args.wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(script),
        url + PATH,
    ]
    cpus = args.client_cpus
    done = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,
    )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}):\n{done.stderr}\n{done.stdout}")
    marker = [line for line in done.stdout.splitlines() if line.startswith("WRKJSON ")]
    if not marker:
        raise RuntimeError(f"no summary from wrk:\n{done.stdout}\n{done.stderr}")
    if show:
        text = "\n".join(line for line in done.stdout.splitlines() if line not in marker)
        print(textwrap.indent(text, "    | "))
    parsed: dict[str, Any] = json.loads(marker[0].removeprefix("WRKJSON "))
    return parsed


def measure_wrk(
    args: Any, name: str, server: Server, script: Path, db: Path | None
) -> tuple[Result, tuple[int, int] | None]:
    if args.warmup > 0:
        run_wrk(args, script, server.url, args.warmup, show=False)
    before = settled_forecasts(db) if db else 0
    cpu0, client0, all0 = server.cpu(), children_cpu(), machine_cpu()
    raw = run_wrk(args, script, server.url, args.seconds, show=args.verbose)
    cpu1, client1, all1 = server.cpu(), children_cpu(), machine_cpu()
    after = settled_forecasts(db) if db else 0
    result = Result(
        name=name,
        generator=f"wrk -t{args.threads} -c{args.connections}",
        seconds=raw["duration_us"] / 1e6,
        requests=raw["requests"],
        non2xx=raw["non2xx"],
        socket_errors={k: raw[k] for k in ("connect", "read", "write", "timeout") if raw[k]},
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        server_cpu_s=cpu1 - cpu0,
        client_cpu_s=client1 - client0,
        machine_cpu_s=all1 - all0,
    )
    return result, ((after - before, result.ok) if db else None)


# --------------------------------------------------------------------------- Python fallback


async def _python_load(
    url: str, tokens: list[str], connections: int, seconds: float
) -> tuple[list[float], dict[int, int], dict[str, int], float]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors: dict[str, int] = {}
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=10) as client:
        start = time.perf_counter()
        stop_at = start + seconds

        async def worker(k: int) -> None:
            rng = random.Random(k)
            headers = {"Authorization": f"Bearer {tokens[k % len(tokens)]}"}
            while time.perf_counter() < stop_at:
                body = {"probability": rng.randint(1, 999) / 1000}
                t0 = time.perf_counter()
                try:
                    reply = await client.post(PATH, json=body, headers=headers)
                except httpx.HTTPError as error:
                    errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - t0)
                statuses[reply.status_code] = statuses.get(reply.status_code, 0) + 1

        await asyncio.gather(*(worker(k) for k in range(connections)))
        elapsed = time.perf_counter() - start
    return latencies, statuses, errors, elapsed


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q / 100 * len(sorted_values)) - 1))
    return sorted_values[index]


def measure_python(
    args: Any, name: str, server: Server, tokens: list[str], db: Path | None
) -> tuple[Result, tuple[int, int] | None]:
    if args.warmup > 0:
        asyncio.run(_python_load(server.url, tokens, args.connections, args.warmup))
    before = settled_forecasts(db) if db else 0
    cpu0, self0, all0 = server.cpu(), time.process_time(), machine_cpu()
    latencies, statuses, errors, elapsed = asyncio.run(
        _python_load(server.url, tokens, args.connections, args.seconds)
    )
    cpu1, self1, all1 = server.cpu(), time.process_time(), machine_cpu()
    after = settled_forecasts(db) if db else 0
    latencies.sort()
    good = sum(count for status, count in statuses.items() if 200 <= status < 300)
    result = Result(
        name=name,
        generator=f"python asyncio+httpx, {args.connections} connections",
        seconds=elapsed,
        requests=sum(statuses.values()),
        non2xx=sum(statuses.values()) - good,
        socket_errors=errors,
        p50_ms=_percentile(latencies, 50) * 1000,
        p99_ms=_percentile(latencies, 99) * 1000,
        max_ms=(latencies[-1] * 1000) if latencies else float("nan"),
        server_cpu_s=cpu1 - cpu0,
        client_cpu_s=self1 - self0,
        machine_cpu_s=all1 - all0,
        statuses=statuses,
    )
    return result, ((after - before, good) if db else None)


# --------------------------------------------------------------------------- report


def _row(r: Result, label: str) -> str:
    line = f"{label:8} {r.rps:9.0f} {r.p50_ms:8.2f} {r.p99_ms:8.2f} {r.max_ms:8.1f}"
    line += f" {r.requests:9d} {r.non2xx:8d}"
    other = max(0.0, r.machine_cpu_s - r.server_cpu_s - r.client_cpu_s)
    per_request = 1000 * r.server_cpu_s / r.requests if r.requests else float("nan")
    line += f" {r.server_cpu_s / r.seconds:11.0%} {per_request:11.3f}"
    line += f" {r.client_cpu_s / r.seconds:11.0%}"
    line += f" {other / r.seconds:10.0%}"
    if r.socket_errors:
        line += f"\n         socket errors: {r.socket_errors}"
    if r.statuses and set(r.statuses) - {201}:
        line += f"\n         statuses: {dict(sorted(r.statuses.items()))}"
    return line


def report(
    args: Any, bares: list[Result], reals: list[Result], stored: tuple[int, int] | None
) -> None:
    print()
    real = reals[0]
    print(f"generator: {real.generator}; {args.seconds:g}s measured after {args.warmup:g}s warm-up")
    header = f"{'':8} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'requests':>9}"
    header += f" {'non-2xx':>8} {'server CPU':>11} {'ms CPU/req':>11} {'client CPU':>11}"
    header += f" {'other CPU':>10}"
    print(header)
    several = len(reals) > 1
    for k, (bare, real) in enumerate(zip(bares, reals, strict=True), 1):
        suffix = f" {k}" if several else ""
        print(_row(bare, "bare" + suffix))
        print(_row(real, "real" + suffix))
    ratios = [r.rps / b.rps if b.rps else float("nan") for b, r in zip(bares, reals, strict=True)]
    if several:
        for name, results in (("bare", bares), ("real", reals)):
            print(
                f"median {name}: {statistics.median(r.rps for r in results):.0f} req/s, "
                f"p50 {statistics.median(r.p50_ms for r in results):.2f} ms, "
                f"p99 {statistics.median(r.p99_ms for r in results):.2f} ms"
            )
        shown = ", ".join(f"{x:.3f}" for x in ratios)
        print(f"ratio real/bare throughput: median {statistics.median(ratios):.3f} ({shown})")
    else:
        print(f"ratio real/bare throughput: {ratios[0]:.3f}")
    print("goal context: real >= 0.5 x bare throughput, real p99 < 50 ms")
    print(
        f"(CPU: seconds per wall second, 100% = one core busy, {os.cpu_count()} cores; "
        "'ms CPU/req' is server CPU per request; 'other' is the rest of the machine, "
        "which should be near 0% for clean figures)"
    )
    if stored is not None:
        rows, acked = stored
        extra = rows - acked
        print(
            f"stored vs acknowledged (real, measured windows): {rows} forecast rows stored, "
            f"{acked} 201s acknowledged, difference {extra:+d}"
        )
        if real.generator.startswith("wrk"):
            print(
                f"  (wrk does not count responses still in flight when it stops, so up to "
                f"{args.connections * len(reals)} more rows than 201s are expected; fewer rows "
                f"than 201s would mean acknowledged forecasts were lost)"
            )
    if any(r.non2xx or r.socket_errors for r in reals):
        print("note: the real endpoint returned errors, so its figures are not valid")
    if not real.generator.startswith("wrk"):
        print(
            "note: figures are generator-bound: the Python client shares the CPU with the "
            "server. Install wrk (apt-get install -y wrk) for meaningful numbers."
        )


# --------------------------------------------------------------------------- main


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
        if nologs:
            for k, result in enumerate(nologs, 1):
                print(_row(result, f"no-log {k}"))
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
        for server in servers:
            server.stop()
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
