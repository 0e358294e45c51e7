"""Benchmark: the fault-injection run at length.

    python bench/chaos.py [--quick] [--rounds 50] [--broker-pause 15] [--seed 7] [--recovery-timeout 120]
                          [--keep-logs DIR]

Every sidecar component runs as its own process while a load runs in both directions (Commerce
stock and price changes; Walmart orders imported, shipped, cancelled and refunded by the
merchant). Each round kills one component with SIGKILL at a random moment and restarts it, while
in turn Walmart fails (5xx, timeouts, dropped connections), throttles everything (a 429 storm),
Commerce's REST API fails, Commerce commits order placements after the sidecar's client gave up,
the broker loses every record (Apache Kafka: stopped, log directory deleted, started again),
Walmart's clock steps against the sidecar's, or every state-store connection is cut for 10 s;
half-way the broker is frozen (SIGSTOP) for --broker-pause seconds. After each round the time to
recover is measured (devstack/chaos.py). Then the load stops and the run waits until Walmart and
Commerce agree (devstack/agreement.py).

Last line: JSON with rounds, lost, duplicate_effects, orders_walmart, orders_commerce_total,
gaps_injected, gaps_detected, gaps_repaired, converge_seconds, fault_timings (per fault kind) and
what was done. Exit 1 unless lost and duplicate_effects are 0, Commerce holds exactly one order
per Walmart PO, and every injected gap was detected and repaired.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import print_table
from devstack.chaos import run_chaos
from devstack.stack import LocalStack
from plumbing.logs import configure_logging


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="8 rounds, a 6 s broker freeze")
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--broker-pause", type=float, default=15.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--recovery-timeout", type=float, default=120.0,
                        help="how long each round waits for the sidecar to recover before the next")
    parser.add_argument("--keep-logs", type=Path, help="the components' logs go here (kept after the run)")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.broker_pause = 8, 6.0
    configure_logging("error", "console")
    with LocalStack() as stack, tempfile.TemporaryDirectory(prefix="walmart-sync-chaos-") as workdir:
        if args.keep_logs:
            args.keep_logs.mkdir(parents=True, exist_ok=True)
            (Path(workdir) / "logs").symlink_to(args.keep_logs.resolve())
        report = run_chaos(stack, Path(workdir), rounds=args.rounds, seed=args.seed,
                           broker_pause_s=args.broker_pause, converge_timeout_s=300.0,
                           recovery_timeout_s=args.recovery_timeout,
                           say=lambda text: print(text, file=sys.stderr, flush=True))
    result = report.as_json()
    print_table([("rounds", report.rounds, "50"), ("kills", sum(report.kills.values()), ""),
                 ("broker pauses", report.broker_pauses, ""), ("orders", report.orders, ""),
                 ("merchant actions", sum(report.merchant_actions.values()), ""),
                 ("replayed records", report.replayed_records, "(duplicates suppressed)"),
                 ("lost", report.lost, "0"), ("duplicate_effects", report.duplicate_effects, "0"),
                 ("orders_walmart", report.orders_walmart, ""),
                 ("orders_commerce_total", report.orders_commerce_total, "= orders_walmart"),
                 ("gaps_injected", report.gaps_injected, ""),
                 ("gaps_detected", report.gaps_detected, "(rows: per partition)"),
                 ("gaps_repaired", report.gaps_repaired, "= gaps_detected"),
                 ("converge_seconds", report.converge_seconds, "")])
    for kind, row in report.fault_timings().items():
        times = ", ".join(f"{measure} {value['median']}/{value['max']}" for measure, value in row.items()
                          if isinstance(value, dict))
        print(f"  {kind} ({row['rounds']} rounds; median/max s): {times}", file=sys.stderr)
    for line in [*report.checks, *report.skipped, *report.failures()]:
        print(f"  {line}", file=sys.stderr)
    print(json.dumps(result))
    full = args.quick or report.rounds >= 50  # the full run's target: 50 rounds
    return 1 if report.failures() or not full else 0


if __name__ == "__main__":
    sys.exit(main())
