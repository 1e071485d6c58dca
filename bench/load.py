"""The load generators: wrk with a Lua script (and its summary parsed), or a Python fallback."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.ledger import PATH, settled_forecasts
from bench.servers import Server, children_cpu, machine_cpu


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


# --------------------------------------------------------------------------- wrk

WRK_LUA = """
-- written by bench/load.py: rotate forecasters' tokens, vary the probability
local tokens = {TOKENS}
local pool = {}
local n = 0
local i = 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- numeric mode: a valid 201-value CDF, half uniform and half (i/200)^a, open bounds
function cdf_body()
  local a = 0.5 + 1.5 * math.random()
  local values = {}
  for i = 0, 200 do
    local u = i / 200
    values[i + 1] = string.format("%.10f", 0.001 + 0.998 * (0.5 * u + 0.5 * u ^ a))
  end
  return '{"cdf": [' .. table.concat(values, ", ") .. ']}'
end

function init(args)
  math.randomseed(7919 * tid)
  for k = 1, 1024 do
    local token = tokens[((k + tid * 7) % #tokens) + 1]
    local body = NUMERIC and cdf_body()
      or string.format('{"probability": %.3f}', math.random(1, 999) / 1000)
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


def wrk_script(tmp: Path, tokens: list[str], kind: str = "binary") -> Path:
    script = tmp / "submit.lua"
    quoted = ", ".join(f'"{t}"' for t in tokens)
    text = WRK_LUA.replace("{TOKENS}", "{" + quoted + "}").replace("PATH", PATH)
    numeric = "true" if kind == "numeric" else "false"
    script.write_text(f"local NUMERIC = {numeric}\n{text}")
    return script


def body_for(kind: str, rng: random.Random) -> dict[str, Any]:
    """A submission of the bench's claim: a probability, or (numeric) the Lua script's CDF."""
    if kind != "numeric":
        return {"probability": rng.randint(1, 999) / 1000}
    a = 0.5 + 1.5 * rng.random()
    grid = [i / 200 for i in range(201)]
    return {"cdf": [round(0.001 + 0.998 * (0.5 * u + 0.5 * u**a), 10) for u in grid]}


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
    url: str, tokens: list[str], connections: int, seconds: float, kind: str
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
                body = body_for(kind, rng)
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
        asyncio.run(_python_load(server.url, tokens, args.connections, args.warmup, args.kind))
    before = settled_forecasts(db) if db else 0
    cpu0, self0, all0 = server.cpu(), time.process_time(), machine_cpu()
    latencies, statuses, errors, elapsed = asyncio.run(
        _python_load(server.url, tokens, args.connections, args.seconds, args.kind)
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
