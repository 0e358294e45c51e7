"""Three replicas of inventory, price, shipment and order_import, each its own process in its
worker's consumer group, on a three-broker Apache Kafka cluster with six partitions, under load
in both directions: a replica of each stopped and started again, two frozen past
max.poll.interval.ms (10 s here) and the third of each slowed inside its batches by
Walmart and Commerce answering late, so the groups rebalance around them and their late commits
fail. Every change must reach Walmart, every PO become exactly one Commerce order (the final
replay through every group included), and no worker process may exit over a failed commit. The
long version, which also kills replicas and measures events/s with one replica and with three, is
bench/scale_out.py."""

from __future__ import annotations

import pytest

from devstack.scale_out import run_scale_out
from tests.support.apache_kafka import three_brokers


@pytest.mark.chaos
def test_replicas_coming_going_and_stalling_lose_nothing_and_apply_nothing_twice(stack, tmp_path) -> None:
    with three_brokers(tmp_path / "kafka") as cluster:
        report = run_scale_out(stack.endpoints.mysql, cluster, tmp_path / "run", replicas=3, seed=4,
                               measure_throughput=False, kill=False, stall_s=11.0, slow_window_s=12.0, load_s=2.0,
                               converge_timeout_s=120.0, say=lambda text: None)
    summary = report.as_json()
    assert report.orders >= 10 and report.merchant_actions["shipped"] >= 3, summary  # the load was real
    assert report.commit_failures >= 1, summary  # the stalls did make commits fail
    assert report.lost == 0 and report.duplicate_effects == 0, (summary["checks"], summary["evidence"])
    assert report.commit_failures_unhandled == 0, summary["component_exits"]
