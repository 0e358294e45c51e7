"""kafka-python client arguments built from settings, so every process connects the same way.

Producers are idempotent with acks=all: the listener checkpoints a binlog position only after
the broker acknowledged everything before it, and that is only sound when an ack means durable.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from config.settings import KafkaSettings


def connection_kwargs(kafka: KafkaSettings, client_id: str) -> dict[str, Any]:
    kwargs: dict[str, Any] = {
        "bootstrap_servers": list(kafka.bootstrap_servers),
        "client_id": client_id,
        "security_protocol": kafka.security_protocol,
    }
    if kafka.security_protocol in ("SSL", "SASL_SSL"):
        kwargs.update(
            ssl_cafile=kafka.ssl_cafile,
            ssl_certfile=kafka.ssl_certfile,
            ssl_keyfile=kafka.ssl_keyfile,
            ssl_check_hostname=kafka.ssl_check_hostname,
        )
        if kafka.ssl_password is not None:
            kwargs["ssl_password"] = kafka.ssl_password.get_secret_value()
    if kafka.security_protocol.startswith("SASL_"):
        kwargs.update(
            sasl_mechanism=kafka.sasl_mechanism,
            sasl_plain_username=kafka.sasl_username,
            sasl_plain_password=kafka.sasl_password.get_secret_value() if kafka.sasl_password else None,
        )
    return kwargs


def _client_options(kafka: KafkaSettings, known: set[str]) -> dict[str, Any]:
    return {key: value for key, value in kafka.client_options.items() if key in known}


def unknown_client_options(kafka: KafkaSettings) -> list[str]:
    """``client_options`` no kafka-python client knows: `config check` refuses them."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.admin import KafkaAdminClient

    known = set(KafkaConsumer.DEFAULT_CONFIG) | set(KafkaProducer.DEFAULT_CONFIG) | set(KafkaAdminClient.DEFAULT_CONFIG)
    fixed = {"bootstrap_servers", "client_id", "group_id", "enable_auto_commit", "acks", "enable_idempotence",
             "key_serializer", "value_serializer", "key_deserializer", "value_deserializer"}
    return sorted((set(kafka.client_options) - known) | (set(kafka.client_options) & fixed))


def producer_kwargs(kafka: KafkaSettings, client_id: str) -> dict[str, Any]:
    from kafka import KafkaProducer

    tuning = kafka.producer
    return {
        **connection_kwargs(kafka, client_id),
        **_client_options(kafka, set(KafkaProducer.DEFAULT_CONFIG)),
        "acks": "all",
        "enable_idempotence": True,
        "linger_ms": tuning.linger_ms,
        "batch_size": tuning.batch_size,
        "compression_type": None if tuning.compression_type == "none" else tuning.compression_type,
        "request_timeout_ms": tuning.request_timeout_ms,
        "delivery_timeout_ms": tuning.delivery_timeout_ms,
    }


def consumer_kwargs(kafka: KafkaSettings, group: str, client_id: str) -> dict[str, Any]:
    """Group consumer with manual commits: a worker commits only what it has applied."""
    from kafka import KafkaConsumer

    tuning = kafka.tuning_for(group).model_dump(exclude_none=True)
    kwargs: dict[str, Any] = {
        **connection_kwargs(kafka, client_id),
        **_client_options(kafka, set(KafkaConsumer.DEFAULT_CONFIG)),
        "group_id": f"{kafka.topic_prefix}.{group}",
        "enable_auto_commit": False,
        "isolation_level": kafka.isolation_level,
        "partition_assignment_strategy": _assignors(kafka.assignment_strategy),
        **tuning,
    }
    if kafka.client_rack:
        kwargs["client_rack"] = kafka.client_rack
    if kafka.group_instance_id:
        # one id per member: the same replica id serves every group this process joins
        kwargs["group_instance_id"] = f"{kafka.group_instance_id}-{group}"
    return kwargs


def _assignors(strategy: str) -> tuple[Any, ...]:
    from kafka.coordinator.assignors.range import RangePartitionAssignor
    from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor

    if strategy == "cooperative-sticky":
        from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

        return (CooperativeStickyAssignor,)
    return (RoundRobinPartitionAssignor,) if strategy == "roundrobin" else (RangePartitionAssignor,)


def topic_configs(kafka: KafkaSettings) -> dict[str, str]:
    """What every topic the sidecar creates is created with."""
    configs = dict(kafka.topic_configs)
    if kafka.min_insync_replicas is not None:
        configs["min.insync.replicas"] = str(kafka.min_insync_replicas)
    return configs


def topic_name(kafka: KafkaSettings, stream: str) -> str:
    return f"{kafka.topic_prefix}.{stream}"


def ensure_topics(kafka: KafkaSettings, topics: list[str]) -> None:
    """Create the topics a component publishes to with the configured partitions (brokers that
    auto-create would otherwise pick their own default); existing ones are left alone."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.errors import TopicAlreadyExistsError

    admin = KafkaAdminClient(**connection_kwargs(kafka, "walmart-sync-admin"))
    try:
        for topic in topics:
            try:
                admin.create_topics([NewTopic(topic, kafka.partitions, kafka.replication_factor,
                                              topic_configs=topic_configs(kafka))])
            except TopicAlreadyExistsError:
                pass
    finally:
        admin.close()


def restore_topics(kafka: KafkaSettings, topics: list[str], partitions_of: Callable[[list[str]], dict[str, int]]
                   ) -> list[str]:
    """After a loss: create the topics that are gone, and give those a producer's metadata request
    auto-created meanwhile (with the broker's partition count) the configured partitions again.
    Asked twice, since a producer may auto-create a topic between the look and the create.
    ``partitions_of``: the partitions each topic has now (0: absent), from fresh metadata. Returns
    the topics changed."""
    from kafka.admin import KafkaAdminClient
    from kafka.errors import InvalidPartitionsError, TopicAlreadyExistsError

    changed: set[str] = set()
    admin = KafkaAdminClient(**connection_kwargs(kafka, "walmart-sync-admin"))
    try:
        for _ in range(2):
            counts = partitions_of(topics)
            absent = [t for t in topics if not counts.get(t)]
            short = {t: kafka.partitions for t in topics if 0 < counts.get(t, 0) < kafka.partitions}
            for topic in absent:
                try:
                    admin.create_topics([_new_topic(kafka, topic)])
                    changed.add(topic)
                except TopicAlreadyExistsError:
                    pass
            if short:
                try:
                    admin.create_partitions(short)
                    changed |= set(short)
                except InvalidPartitionsError:
                    pass  # grown meanwhile by another component
            if not absent and not short:
                break
    finally:
        admin.close()
    return sorted(changed)


def _new_topic(kafka: KafkaSettings, topic: str) -> Any:
    from kafka.admin import NewTopic

    return NewTopic(topic, kafka.partitions, kafka.replication_factor, topic_configs=topic_configs(kafka))


class ProduceFailed(Exception):
    """Kafka did not acknowledge a record: whatever depended on it must not be committed."""


def send_acknowledged(producer: Any, messages: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]],
                      timeout_s: float = 30.0) -> list[Any]:
    """Send ``(topic, key, value, headers)`` messages and wait until the broker acknowledged each.

    kafka-python's ``flush`` only logs a batch that failed; the futures are the only place a
    failure shows, so every produce whose success an offset, a checkpoint or a watermark depends
    on goes through here and raises ``ProduceFailed`` before that commit can happen.
    """
    futures = [producer.send(topic, key=key, value=value, headers=headers or None)
               for topic, key, value, headers in messages]
    if futures:
        producer.flush(timeout=timeout_s)
    results = []
    for future in futures:
        try:
            results.append(future.get(timeout=timeout_s))
        except Exception as exc:
            raise ProduceFailed(f"Kafka did not acknowledge a record: {type(exc).__name__}: {exc}") from exc
    return results
