"""Benchmark: three replicas of each push worker and of the order importer on three brokers.

    python bench/scale_out.py [--quick] [--replicas 3] [--orders 60] [--assignor range|cooperative-sticky]
                              [--static-membership] [--keep DIR]

One run, one workload twice: a burst of Walmart orders and one stock and one price change per SKU
(Walmart answering in --latency seconds), timed until Walmart and Commerce agree, first with one
replica of inventory, price, shipment and order_import, then with --replicas of each, every
replica its own `walmart-sync work` process in the worker's consumer group, on 6 partitions.
Then, under the both-directions load, replicas are stopped and started, killed -9, frozen past
max.poll.interval.ms (10 s here) and slowed inside their batches, so the groups rebalance around
them and their late commits fail; then the load stops, Walmart and Commerce must agree, and every
group reads everything again (devstack/scale_out.py).

Last line: JSON with engine, replicas, events, duplicate_effects, lost, commit_failures_unhandled
(worker processes that exited), commit_failures (handled), events_s_1 and events_s_3.
Target: lost 0, duplicate_effects 0, commit_failures_unhandled 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import print_table
from devstack.apache_kafka import ApacheKafkaCluster
from devstack.scale_out import run_scale_out
from devstack.stack import LocalStack
from plumbing.logs import configure_logging


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a 24-order burst, shorter stalls")
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--orders", type=int, default=60, help="Walmart orders in each burst")
    parser.add_argument("--latency", type=float, default=0.2, help="seconds Walmart takes to answer during the bursts")
    parser.add_argument("--assignor", choices=("range", "roundrobin", "cooperative-sticky"), default="range")
    parser.add_argument("--static-membership", action="store_true", help="kafka.group_instance_id per replica")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--keep", type=Path, help="keep the components' logs and the stack's files here")
    args = parser.parse_args()
    stall_s, slow_window_s, load_s = 14.0, 20.0, 6.0
    if args.quick:
        args.orders, stall_s, slow_window_s, load_s = 24, 12.0, 14.0, 3.0
    configure_logging("error", "console")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with LocalStack(args.keep / "stack" if args.keep else None, keep_dir=bool(args.keep), kafka="apache",
                    brokers=3) as stack, \
            tempfile.TemporaryDirectory(prefix="walmart-sync-scale-out-") as scratch:
        assert isinstance(stack.broker, ApacheKafkaCluster)
        report = run_scale_out(stack.endpoints.mysql, stack.broker, args.keep / "run" if args.keep else Path(scratch),
                               replicas=args.replicas, burst_orders=args.orders, seed=args.seed,
                               walmart_latency_s=args.latency, stall_s=stall_s, slow_window_s=slow_window_s,
                               load_s=load_s, assignment_strategy=args.assignor,
                               static_membership=args.static_membership, converge_timeout_s=300.0,
                               say=lambda text: print(text, file=sys.stderr, flush=True))
    result = report.as_json()
    print_table([("replicas", report.replicas, "3"), ("burst events", report.events_1, "same workload twice"),
                 ("events_s_1", result["events_s_1"], ""), (f"events_s_{report.replicas}", result["events_s_3"], ""),
                 ("orders", report.orders, ""), ("merchant actions", sum(report.merchant_actions.values()), ""),
                 ("commit failures", report.commit_failures, "(handled)"),
                 ("commit_failures_unhandled", report.commit_failures_unhandled, "0"),
                 ("replayed records", report.replayed_records, "(duplicates suppressed)"),
                 ("lost", report.lost, "0"), ("duplicate_effects", report.duplicate_effects, "0"),
                 ("converge_seconds", report.converge_seconds, "")])
    for line in report.faults + report.checks:
        print(f"  {line}", file=sys.stderr)
    print(json.dumps(result))
    ok = report.lost == 0 and report.duplicate_effects == 0 and report.commit_failures_unhandled == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
