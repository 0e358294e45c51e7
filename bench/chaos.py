"""Benchmark: the fault-injection run at length.

    python bench/chaos.py [--quick] [--rounds 50] [--broker-pause 15] [--seed 7]

Every sidecar component runs as its own process while a load runs in both directions (Commerce
stock and price changes; Walmart orders imported, shipped, cancelled and refunded by the
merchant). Each round kills one component with SIGKILL at a random moment and restarts it, while
Walmart fails (5xx, timeouts, dropped connections), throttles everything (a 429 storm) or
Commerce's REST API fails; half-way the broker is frozen (SIGSTOP) for --broker-pause seconds.
Then the load stops and the run waits until Walmart and Commerce agree (devstack/agreement.py).

Last line: JSON with rounds, lost, duplicate_effects, converge_seconds (and what was done).
Target: 50 rounds, lost 0, duplicate_effects 0.
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
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.broker_pause = 8, 6.0
    configure_logging("error", "console")
    with LocalStack() as stack, tempfile.TemporaryDirectory(prefix="walmart-sync-chaos-") as workdir:
        report = run_chaos(stack, Path(workdir), rounds=args.rounds, seed=args.seed,
                           broker_pause_s=args.broker_pause, converge_timeout_s=300.0,
                           say=lambda text: print(text, file=sys.stderr, flush=True))
    result = report.as_json()
    print_table([("rounds", report.rounds, "50"), ("kills", sum(report.kills.values()), ""),
                 ("broker pauses", report.broker_pauses, ""), ("orders", report.orders, ""),
                 ("merchant actions", sum(report.merchant_actions.values()), ""),
                 ("replayed records", report.replayed_records, "(duplicates suppressed)"),
                 ("lost", report.lost, "0"), ("duplicate_effects", report.duplicate_effects, "0"),
                 ("converge_seconds", report.converge_seconds, "")])
    for line in report.checks:
        print(f"  {line}", file=sys.stderr)
    print(json.dumps(result))
    full = args.quick or report.rounds >= 50  # the full run's target: 50 rounds
    return 0 if report.lost == 0 and report.duplicate_effects == 0 and full else 1


if __name__ == "__main__":
    sys.exit(main())
