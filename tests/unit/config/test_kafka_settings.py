"""Kafka settings infrastructure teams set: validated when loaded, passed to every client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config import ConfigError, load_settings
from config.settings import KafkaSettings
from plumbing.kafka import consumer_kwargs, producer_kwargs, topic_configs, unknown_client_options
from tests.support.paths import REPO_ROOT

REQUIRED = {"commerce_db.password": "x", "state_store.dsn": "mysql://u:p@h:3306/s", "walmart.client_id": "i",
            "walmart.client_secret": "s", "commerce_api.base_url": "https://shop.example", "commerce_api.token": "t"}


def settings(**kafka: object):
    return load_settings(overrides=[f"{k}={v}" for k, v in {**REQUIRED, **{f"kafka.{k}": v for k, v in kafka.items()}}
                                    .items()], environ={})


def test_a_consumer_group_that_names_no_worker_is_refused() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(**{"consumer_groups.inventroy.max_poll_records": 10})
    assert "unknown consumer group(s) ['inventroy']" in str(caught.value) and "inventory" in str(caught.value)


def test_min_insync_replicas_above_the_replication_factor_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot exceed replication_factor"):
        settings(replication_factor=1, min_insync_replicas=2)


def test_static_membership_rack_assignor_and_topic_configs_reach_the_clients() -> None:
    kafka = KafkaSettings(replication_factor=3, min_insync_replicas=2, group_instance_id="pod-7",
                          client_rack="use1-az2", assignment_strategy="cooperative-sticky",
                          isolation_level="read_committed", topic_configs={"retention.ms": "604800000"},
                          client_options={"connections_max_idle_ms": 60000})
    consumer = consumer_kwargs(kafka, "inventory", "c")
    assert consumer["group_instance_id"] == "pod-7-inventory"  # unique per group this replica joins
    assert consumer["client_rack"] == "use1-az2" and consumer["isolation_level"] == "read_committed"
    assert [a.__name__ for a in consumer["partition_assignment_strategy"]] == ["CooperativeStickyAssignor"]
    assert consumer["connections_max_idle_ms"] == 60000
    assert producer_kwargs(kafka, "p")["connections_max_idle_ms"] == 60000
    assert producer_kwargs(kafka, "p")["acks"] == "all"  # never overridable
    assert topic_configs(kafka) == {"retention.ms": "604800000", "min.insync.replicas": "2"}


def test_client_options_kafka_python_does_not_know_or_walmart_sync_fixes_are_named() -> None:
    kafka = KafkaSettings(client_options={"linger_msec": 5, "enable_auto_commit": True})
    assert unknown_client_options(kafka) == ["enable_auto_commit", "linger_msec"]


def _config_check(tmp_path: Path, extra: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "walmart-sync.toml"
    config.write_text((REPO_ROOT / "walmart-sync.example.toml").read_text().replace(
        "replication_factor = 3", extra))
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC_")}
    return subprocess.run([sys.executable, "-m", "walmart_sync.cli", "--config", str(config), "config", "check"],
                          capture_output=True, text=True, env=env, timeout=60)


def test_config_check_warns_on_one_replica_and_refuses_unknown_client_options(tmp_path: Path) -> None:
    one = _config_check(tmp_path, "replication_factor = 1")
    assert one.returncode == 0 and "warning: kafka.replication_factor = 1" in one.stderr
    bad = _config_check(tmp_path, "replication_factor = 3\nclient_options = { linger_msec = 5 }")
    assert bad.returncode == 2 and "kafka.client_options: linger_msec" in bad.stderr


def test_a_delivery_timeout_shorter_than_one_request_is_refused_when_loaded() -> None:
    # kafka-python refuses such a producer (KafkaConfigurationError): the listener would stop at start
    with pytest.raises(ConfigError, match="delivery_timeout_ms .* must be at least linger_ms \\+ request_timeout_ms"):
        settings(**{"producer.delivery_timeout_ms": 15000})
    shortened = settings(**{"producer.delivery_timeout_ms": 15000, "producer.request_timeout_ms": 5000}).kafka
    assert producer_kwargs(shortened, "x")["delivery_timeout_ms"] == 15000


def test_the_consumer_request_timeout_is_tunable_per_group_and_reaches_the_consumer() -> None:
    kafka = settings(**{"consumer_defaults.request_timeout_ms": 8000,
                        "consumer_groups.order_import.request_timeout_ms": 12000}).kafka
    assert consumer_kwargs(kafka, "inventory", "x")["request_timeout_ms"] == 8000
    assert consumer_kwargs(kafka, "order_import", "x")["request_timeout_ms"] == 12000
    assert consumer_kwargs(settings().kafka, "inventory", "x")["request_timeout_ms"] == 30000  # kafka-python's own
    with pytest.raises(ConfigError, match="must exceed fetch_max_wait_ms"):
        settings(**{"consumer_defaults.request_timeout_ms": 1000, "consumer_defaults.fetch_max_wait_ms": 1000})
