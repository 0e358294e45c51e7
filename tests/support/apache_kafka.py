"""A three-node Apache Kafka cluster for the suites that need one (the Kafka fault and scale-out
runs), skipped with the reason where Java 17 or Maven is missing, and a failure under CI=true."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack.apache_kafka import ApacheKafkaCluster, unavailable_reason


def require_apache_kafka() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but Apache Kafka cannot run here: {reason}")
    pytest.skip(f"Apache Kafka cannot run here: {reason}")


@contextmanager
def three_brokers(base_dir: Path) -> Iterator[ApacheKafkaCluster]:
    require_apache_kafka()
    with ApacheKafkaCluster(base_dir, brokers=3, replication_factor=3, min_insync_replicas=2) as cluster:
        yield cluster
