"""Benchmark: the sidecar on a three-broker Apache Kafka cluster through Kafka's own faults.

    python bench/kafka_faults.py [--quick] [--rounds kill,rolling,freeze,...] [--freeze 22] [--seed 5]

Every sidecar component runs as its own process against three KRaft nodes (topics with
replication factor 3 and min.insync.replicas 2, producers with a 15 s delivery timeout) while the
load runs in both directions. Rounds: kill -9 of the leader of a partition in use, then a restart;
a rolling restart of all three; the leader frozen (SIGSTOP) past the delivery timeout. Per round,
the failover time (a fresh change through while the fault is on) and the recovery time (fault end
-> every component ready and a fresh stock change on Walmart and a fresh Walmart order in
Commerce). Then the load stops, Walmart and Commerce must agree, and every consumer group reads
everything again: nothing lost, nothing applied twice (devstack/kafka_faults.py).

Last line: JSON with engine, brokers, rounds, lost, duplicate_effects, orders, recover_p99_s (and
the per-round detail). Target: lost 0, duplicate_effects 0.
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
from devstack.kafka_faults import run_kafka_faults
from devstack.stack import LocalStack
from plumbing.logs import configure_logging

FULL = "kill,kill,freeze,rolling,kill,freeze"
QUICK = "kill,rolling,freeze"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help=f"three rounds ({QUICK})")
    parser.add_argument("--rounds", default=FULL, help=f"comma-separated kinds (default {FULL})")
    parser.add_argument("--freeze", type=float, default=22.0, help="seconds a frozen broker stays frozen")
    parser.add_argument("--delivery-timeout-ms", type=int, default=15_000)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--keep", type=Path, help="keep the components' logs and the stack's files here")
    args = parser.parse_args()
    if args.quick:
        args.rounds = QUICK
    configure_logging("error", "console")
    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
    with LocalStack(args.keep / "stack" if args.keep else None, keep_dir=bool(args.keep), kafka="apache",
                    brokers=3) as stack, \
            tempfile.TemporaryDirectory(prefix="walmart-sync-kafka-faults-") as scratch:
        workdir = args.keep / "run" if args.keep else Path(scratch)
        assert isinstance(stack.broker, ApacheKafkaCluster)
        report = run_kafka_faults(stack.endpoints.mysql, stack.broker, workdir, args.rounds.split(","),
                                  seed=args.seed, freeze_s=args.freeze, delivery_timeout_ms=args.delivery_timeout_ms,
                                  converge_timeout_s=300.0, say=lambda text: print(text, file=sys.stderr, flush=True))
    result = report.as_json()
    print(f"{'round':<58}{'failover_s':>11}{'recover_s':>11}")
    for done in report.rounds:
        print(f"{done.detail:<58}{done.failover_s!s:>11}{done.recover_s!s:>11}")
    print_table([("brokers", report.brokers, "3"), ("rounds", len(report.rounds), ""),
                 ("orders", report.orders, ""), ("merchant actions", sum(report.merchant_actions.values()), ""),
                 ("component exits", sum(len(v) for v in report.component_exits.values()), "0"),
                 ("commit failures", report.commit_failures, "(handled)"),
                 ("replayed records", report.replayed_records, "(duplicates suppressed)"),
                 ("recover_p99_s", report.recover_p99_s, ""), ("lost", report.lost, "0"),
                 ("duplicate_effects", report.duplicate_effects, "0"),
                 ("converge_seconds", report.converge_seconds, "")])
    for line in report.checks:
        print(f"  {line}", file=sys.stderr)
    print(json.dumps(result))
    return 0 if report.lost == 0 and report.duplicate_effects == 0 and report.brokers == 3 else 1


if __name__ == "__main__":
    sys.exit(main())
