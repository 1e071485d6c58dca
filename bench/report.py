"""The submission bench's table: one row per measured target, ratios, checks and notes."""

from __future__ import annotations

import os
import statistics
from typing import Any

from bench.load import Result


def result_row(r: Result, label: str) -> str:
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
        print(result_row(bare, "bare" + suffix))
        print(result_row(real, "real" + suffix))
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
