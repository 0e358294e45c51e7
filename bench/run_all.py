"""Run every benchmark and write one report: each figure against its target, and the latencies
against what Channel Manager publishes (inventory up to 10 min; price, shipment, cancellation and
refund up to 5 min; a Walmart order up to 30 + 5 min to become a Commerce order).

    python bench/run_all.py [--quick] [--only burst,chaos] [--out bench/results/report.json]

Each script runs as its own process (one at a time: the machine has two cores) and prints a
short table and, last, one JSON line; this collects those lines. The report goes to --out and a
table to the terminal. Exit 1 when a script failed or a target was missed.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
MINUTE_MS = 60_000


@dataclass(frozen=True)
class Target:
    figure: str                               # a key of the script's JSON
    target: str                               # as people read it
    met: Callable[[dict], bool]
    channel_manager_ms: float | None = None   # the published figure the latency compares with
    full_only: bool = False                   # a target of the full run (the quick one is shorter by design)


SCRIPTS: dict[str, tuple[list[str], list[Target]]] = {
    "stack_and_seed": ([], [
        Target("stack_start_s", "< 3 s", lambda r: r["stack_start_s"] < 3),
        Target("seed_open_source_s", "< 10 s for 10,000 products", lambda r: r["seed_open_source_s"] < 10)]),
    "cdc_throughput": (["--quick"], [
        Target("ratio", ">= 0.8 of raw decoding", lambda r: r["ratio"] >= 0.8),
        Target("listener_rss_mb", "< 150 MB", lambda r: r["listener_rss_mb"] < 150)]),
    "cdc_realistic": (["--quick"], [
        Target("events_identical", "true (fast path = full parse)", lambda r: r["events_identical"] is True),
        Target("ratio_vs_raw_filtered", ">= 1.5 of python-mysql-replication, same filter",
               lambda r: (r["ratio_vs_raw_filtered"] or 0) >= 1.5),
        Target("ratio_vs_debezium", ">= 1.0 of Debezium", lambda r: (r["ratio_vs_debezium"] or 0) >= 1.0),
        Target("ratio_mb_vs_mariadb_binlog", ">= 0.5 of mariadb-binlog's MB/s",
               lambda r: (r["ratio_mb_vs_mariadb_binlog"] or 0) >= 0.5)]),
    "cdc_latency": (["--quick"], [Target("p99_ms", "< 100 ms", lambda r: r["p99_ms"] < 100)]),
    "e2e_latency": (["--quick"], [
        Target("inventory_p99_ms", "< 1000 ms", lambda r: r["inventory_p99_ms"] < 1000, 10 * MINUTE_MS),
        Target("price_p99_ms", "< 1000 ms", lambda r: r["price_p99_ms"] < 1000, 5 * MINUTE_MS),
        Target("shipment_p99_ms", "< 1000 ms", lambda r: r["shipment_p99_ms"] < 1000, 5 * MINUTE_MS)]),
    "burst": (["--quick"], [
        Target("ratio", "<= 1.2 of Walmart's floor", lambda r: r["ratio"] <= 1.2),
        Target("mismatches", "0", lambda r: r["mismatches"] == 0)]),
    "order_import": (["--quick"], [
        Target("p99_ms", "<= poll interval + 2000 ms", lambda r: r["p99_ms"] <= r["poll_interval_ms"] + 2000,
               35 * MINUTE_MS),
        Target("burst_last_order_s", "< 100 s", lambda r: r["burst_last_order_s"] < 100),
        Target("burst_orders", "1,000 (full run)", lambda r: r["burst_orders"] >= 1000, full_only=True),
        Target("burst_last_ack_s", "< 3600 s (Walmart: 4 h)", lambda r: r["burst_acknowledged"] == r["burst_orders"]
               and r["burst_last_ack_s"] < 3600),
        Target("missing_orders", "0 missing, 0 duplicated",
               lambda r: r["missing_orders"] == 0 and r["duplicate_orders"] == 0)]),
    "listing_match": (["--quick"], [
        Target("throttled", "0 (within Walmart's limits)", lambda r: r["throttled"] == 0),
        Target("ratio", "<= 1.3 of Walmart's floor", lambda r: r["ratio"] <= 1.3),
        Target("real_searches_per_min", ">= 180 at Walmart's real 200/min", lambda r: r["real_searches_per_min"] >= 180),
        Target("projected_100k_hours", "(a projection: 100,000 products at the real rate)", lambda r: True)]),
    "chaos": (["--quick"], [
        Target("lost", "0", lambda r: r["lost"] == 0),
        Target("duplicate_effects", "0", lambda r: r["duplicate_effects"] == 0),
        Target("rounds", "50 (full run)", lambda r: r["rounds"] >= 50, full_only=True)]),
    "memory": (["--quick"], [
        Target("max_rss_mb", "< 150 MB per process", lambda r: r["max_rss_mb"] < 150),
        Target("processes", "every component (12 processes)", lambda r: r["processes"] >= 11 and not r["exited"])]),
    "kafka_faults": (["--quick"], [
        Target("lost", "0", lambda r: r["lost"] == 0),
        Target("duplicate_effects", "0", lambda r: r["duplicate_effects"] == 0),
        Target("brokers", "3 (Apache Kafka)", lambda r: r["brokers"] == 3 and r["engine"] == "apache-kafka")]),
    "scale_out": (["--quick"], [
        Target("lost", "0", lambda r: r["lost"] == 0),
        Target("duplicate_effects", "0", lambda r: r["duplicate_effects"] == 0),
        Target("commit_failures_unhandled", "0", lambda r: r["commit_failures_unhandled"] == 0)]),
}
# the full runs drop --quick; these take their default (long) settings
FULL_ARGS = {name: [] for name in SCRIPTS}


def run(name: str, args: list[str]) -> tuple[dict | None, float, int, str]:
    started = time.monotonic()
    try:
        proc = subprocess.run([sys.executable, str(BENCH / f"{name}.py"), *args], capture_output=True, text=True,
                              timeout=3 * 3600)
    except subprocess.TimeoutExpired as exc:
        return None, time.monotonic() - started, -1, f"did not finish within {exc.timeout:.0f} s"
    seconds = time.monotonic() - started
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1]) if lines else None
    except ValueError:
        result = None
    if not isinstance(result, dict):
        result = None  # the last line must be the script's JSON object
    return result, seconds, proc.returncode, (proc.stderr or "")[-2000:]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="every script's short version")
    parser.add_argument("--only", default="", help="comma-separated scripts to run")
    parser.add_argument("--out", default=str(BENCH / "results" / "report.json"))
    args = parser.parse_args()
    chosen = [n for n in SCRIPTS if not args.only or n in args.only.split(",")]
    report = {"quick": args.quick, "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "scripts": {}}
    rows = []
    failed = False
    for name in chosen:
        script_args, targets = SCRIPTS[name]
        print(f"running bench/{name}.py {' '.join(script_args if args.quick else FULL_ARGS[name])}...",
              file=sys.stderr, flush=True)
        result, seconds, code, stderr = run(name, script_args if args.quick else FULL_ARGS[name])
        entry: dict = {"exit_code": code, "seconds": round(seconds, 1), "result": result, "figures": []}
        # a script fails on its own terms (its exit code: a missed target, an incomplete run such as
        # 59 of 60 orders imported), by printing no JSON line, or by leaving out a figure it is judged on
        if result is None:
            failed = True
            entry["error"] = stderr
            rows.append((name, "-", "no JSON line", "", "FAILED", f"exit code {code}"))
        elif code != 0:
            failed = True
            entry["error"] = stderr
            rows.append((name, "exit code", str(code), "0", "FAILED", "the script reported a failure"))
        for target in targets:
            if result is None or (target.full_only and args.quick):
                continue
            if target.figure not in result:
                failed = True
                entry["figures"].append({"figure": target.figure, "value": None, "target": target.target,
                                         "met": False, "channel_manager_ms": target.channel_manager_ms})
                rows.append((name, target.figure, "not reported", target.target, "MISSED", ""))
                continue
            value = result[target.figure]
            try:
                met = bool(target.met(result))
            except (KeyError, TypeError):
                met = False
            failed = failed or not met
            versus = ""
            if target.channel_manager_ms and isinstance(value, (int, float)) and value > 0:
                versus = f"{target.channel_manager_ms / value:,.0f}x faster than {target.channel_manager_ms / 60000:g} min"
            entry["figures"].append({"figure": target.figure, "value": value, "target": target.target, "met": met,
                                     "channel_manager_ms": target.channel_manager_ms})
            rows.append((name, target.figure, str(value), target.target, "ok" if met else "MISSED", versus))
        entry["passed"] = code == 0 and result is not None and all(f["met"] for f in entry["figures"])
        report["scripts"][name] = entry
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{'script':<16}{'figure':<20}{'value':>12}  {'target':<30}{'':<8}vs Channel Manager")
    for name, figure, value, target, verdict, versus in rows:
        print(f"{name:<16}{figure:<20}{value:>12}  {target:<30}{verdict:<8}{versus}")
    print(f"report: {out}")
    print(json.dumps({"report": str(out), "scripts": len(chosen), "all_met": not failed}))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
