"""The sidecar on a three-broker Apache Kafka cluster through Kafka's own faults, quickly: the
leader of a partition in use killed with SIGKILL (then started again) and a rolling restart of all
three nodes, while every component runs as its own process under load in both directions, on
topics with replication factor 3 and min.insync.replicas 2. Nothing may be lost, nothing applied
twice (the final replay through every consumer group included), no component may exit, and the
pipeline must deliver again after each fault. The long version, with brokers frozen past the
delivery timeout, is bench/kafka_faults.py (devstack/kafka_faults.py)."""

from __future__ import annotations

import pytest

from devstack.kafka_faults import run_kafka_faults
from tests.support.apache_kafka import three_brokers


@pytest.mark.chaos
def test_a_killed_leader_and_a_rolling_restart_lose_nothing_and_apply_nothing_twice(stack, tmp_path) -> None:
    with three_brokers(tmp_path / "kafka") as cluster:
        report = run_kafka_faults(stack.endpoints.mysql, cluster, tmp_path / "run", ["kill", "rolling"], seed=3,
                                  down_s=6.0, converge_timeout_s=120.0, say=lambda text: None)
    summary = report.as_json()
    assert [r.kind for r in report.rounds] == ["kill", "rolling"], summary
    assert report.orders >= 10 and report.stock_changes >= 50, summary  # the load was real
    assert report.lost == 0 and report.duplicate_effects == 0, (summary["checks"], summary["evidence"])
    assert report.component_exits == {}, summary  # every component rode the faults out
    assert all(r.recover_s is not None for r in report.rounds), summary["round_detail"]
