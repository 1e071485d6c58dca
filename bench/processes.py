"""Forecast submissions per second with 1, 2 and 4 server processes, SQLite beside PostgreSQL.

For each engine and process count: a fresh database, `uvicorn --workers N` serving the real
app on 127.0.0.1 (the processes share one listening socket, as `serve` processes behind a
load balancer would share the load), 32 wrk connections rotating 32 forecasters' tokens.
PostgreSQL runs in a throwaway cluster started by tests/postgres.sh (Debian's server).
Prints figures, never pass/fail. Needs wrk (apt-get install -y wrk).

    .venv/bin/python bench/processes.py --seconds 8
"""

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any

# run as a script, sys.path starts at bench/: the repository root makes `bench.` importable
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import ledger, load, servers
from bench.servers import ROOT


def measure(url_env: str, processes: int, args: Any, tmp: Path) -> dict[str, float]:
    env = {**os.environ, "FORECAST_LEDGER_DATABASE_URL": url_env, "FORECAST_LEDGER_RATE_LIMIT": "0"}
    editor, tokens = ledger.create_accounts(env, 32)  # also migrates the new database
    port = servers.free_port()
    log = (tmp / f"serve-{processes}.log").open("wb")
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "web.app:create_app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(processes),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = SimpleNamespace(
        url=f"http://127.0.0.1:{port}",
        name=f"{processes} proc",
        proc=proc,
        log_tail=lambda: "(see log)",
    )
    try:
        servers.Server.wait_ready(server)  # type: ignore[arg-type]
        ledger.create_claim(server.url, editor)
        script = load.wrk_script(tmp, tokens)
        load.run_wrk(args, script, server.url, 2, show=False)
        raw = load.run_wrk(args, script, server.url, args.seconds, show=False)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    ok = raw["requests"] - raw["non2xx"]
    return {
        "rps": ok / (raw["duration_us"] / 1e6),
        "p50": raw["p50_us"] / 1000,
        "p99": raw["p99_us"] / 1000,
        "non2xx": raw["non2xx"],
    }


def run_engine(engine: str, args: Any) -> None:
    counts = [int(n) for n in args.processes.split(",")]
    first: float | None = None
    with tempfile.TemporaryDirectory(prefix="fl-bench-proc-") as folder:
        tmp = Path(folder)
        for n in counts:
            if engine == "sqlite":
                url = f"sqlite:///{tmp}/bench-{n}.sqlite3"
            else:
                server = os.environ["FORECAST_LEDGER_TEST_DATABASE_URL"]
                name = f"bench_{n}"
                subprocess.run(
                    [
                        sys.executable,
                        "-c",
                        (
                            "import sys; from tests import pg; "
                            "pg.create_database(sys.argv[1], sys.argv[2])"
                        ),
                        server,
                        name,
                    ],
                    cwd=ROOT,
                    check=True,
                )
                url = server.rsplit("/", 1)[0] + "/" + name
            r = measure(url, n, args, tmp)
            first = r["rps"] if first is None else first
            print(
                f"{engine:<11} {n:>2} proc  {r['rps']:>8.0f} req/s  "
                f"x{r['rps'] / first if first else 0:4.2f} vs {counts[0]} proc  "
                f"p50 {r['p50']:>7.2f} ms  p99 {r['p99']:>7.2f} ms  non-2xx {r['non2xx']}  "
                f"load {os.getloadavg()[0]:.1f}",
                flush=True,
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--processes", default="1,2,4")
    parser.add_argument("--engine", choices=["both", "sqlite", "postgresql"], default="both")
    args = parser.parse_args()
    args.wrk, args.threads, args.connections, args.client_cpus = "wrk", 1, 32, None
    if args.engine in ("both", "sqlite"):
        run_engine("sqlite", args)
    if args.engine == "both":
        own = [
            str(ROOT / "tests" / "postgres.sh"),
            sys.executable,
            __file__,
            "--engine",
            "postgresql",
            "--seconds",
            str(args.seconds),
            "--processes",
            args.processes,
        ]
        return subprocess.run(own, cwd=ROOT, check=False).returncode
    if args.engine == "postgresql":
        run_engine("postgresql", args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
