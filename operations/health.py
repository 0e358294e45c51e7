"""Connectivity checks an operator runs before trusting a deployment (and the demo runs too)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import pymysql
from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import KafkaError, TopicAlreadyExistsError

from cdc_listener.preflight import Finding, check_source
from config import Settings
from plumbing.db import connect_commerce, connect_state_store
from plumbing.kafka import connection_kwargs, consumer_kwargs, producer_kwargs, topic_name


def check_commerce_database(settings: Settings) -> list[Finding]:
    db = settings.commerce_db
    try:
        conn = connect_commerce(settings, with_database=False)
    except pymysql.MySQLError as exc:
        return [Finding(False, "connect", f"{db.user}@{db.host}:{db.port}: {exc.args[-1]}")]
    try:
        return check_source(conn, db.database)
    finally:
        conn.close()


def check_commerce_module(settings: Settings) -> list[Finding]:
    """The companion module the order importer places Walmart orders through: installed, and which
    version (``GET /V1/walmart-sync/module``; 404 on a Commerce without it)."""
    from sync_workers.commerce.client import CommerceClient, CommerceError
    from sync_workers.pull.order_importer import INSTALL_COMMAND, MODULE

    where = settings.commerce_api.rest_url
    try:
        info = CommerceClient(settings.commerce_api).module_info()
    except CommerceError as exc:
        return [Finding(False, "Commerce module", f"{where}: {exc}")]
    if info is None:
        return [Finding(False, "Commerce module", f"{MODULE} is not installed at {where} (GET /V1/walmart-sync/"
                                                  f"module: 404); the order importer will not start. "
                                                  f"Install it: {INSTALL_COMMAND}")]
    return [Finding(True, "Commerce module", f"{info.get('module')} {info.get('version')} on Magento "
                                             f"{info.get('magento_version')} {info.get('magento_edition')}")]


def check_state_store(settings: Settings) -> list[Finding]:
    dsn = settings.state_store.parsed
    try:
        conn = connect_state_store(settings)
        conn.close()
        return [Finding(True, "state store", dsn.masked())]
    except pymysql.MySQLError as exc:
        return [Finding(False, "state store", f"{dsn.masked()}: {exc.args[-1]}")]


@dataclass(frozen=True)
class RoundTrip:
    messages: int
    produce_seconds: float
    consume_seconds: float


def kafka_roundtrip(settings: Settings, messages: int = 10, timeout_s: float = 30.0) -> RoundTrip:
    """Produce to a health topic and read it all back through a fresh consumer group."""
    kafka = settings.kafka
    topic = topic_name(kafka, "healthcheck")
    admin = KafkaAdminClient(**connection_kwargs(kafka, "walmart-sync-health"))
    try:
        admin.create_topics([NewTopic(topic, 1, kafka.replication_factor)])
    except TopicAlreadyExistsError:
        pass
    finally:
        admin.close()
    marker = uuid.uuid4().hex
    started = time.perf_counter()
    producer = KafkaProducer(**producer_kwargs(kafka, "walmart-sync-health"))
    try:
        for n in range(messages):
            producer.send(topic, key=marker.encode(), value=f"{marker}:{n}".encode())
        producer.flush(timeout=timeout_s)
    finally:
        producer.close(timeout=5)
    produced = time.perf_counter()
    group = f"healthcheck-{marker[:12]}"
    kwargs = consumer_kwargs(kafka, group, "walmart-sync-health")
    kwargs.update(session_timeout_ms=6000, heartbeat_interval_ms=2000, auto_offset_reset="earliest",
                  consumer_timeout_ms=int(timeout_s * 1000))
    consumer = KafkaConsumer(topic, **kwargs)
    seen: set[str] = set()
    try:
        for record in consumer:
            value = record.value.decode()
            if value.startswith(marker):
                seen.add(value)
            if len(seen) == messages:
                consumer.commit()
                break
    finally:
        consumer.close()
    if len(seen) != messages:
        raise KafkaError(f"consumed {len(seen)} of {messages} health messages within {timeout_s}s")
    return RoundTrip(messages, produced - started, time.perf_counter() - produced)


def check_kafka(settings: Settings) -> list[Finding]:
    try:
        trip = kafka_roundtrip(settings)
    except Exception as exc:  # kafka-python raises many unrelated types
        return [Finding(False, "kafka", f"{','.join(settings.kafka.bootstrap_servers)}: {exc}")]
    return [Finding(True, "kafka", f"{trip.messages} messages produced in "
                    f"{trip.produce_seconds * 1000:.0f} ms, consumed through a group in "
                    f"{trip.consume_seconds:.1f} s"), *check_kafka_durability(settings)]


def check_kafka_durability(settings: Settings) -> list[Finding]:
    """What a broker loss would cost: the topics' replication against the cluster's size."""
    kafka = settings.kafka
    admin = KafkaAdminClient(**connection_kwargs(kafka, "walmart-sync-health"))
    try:
        brokers = len(admin.describe_cluster().get("brokers") or [])
    except Exception as exc:
        return [Finding(True, "kafka durability", f"cluster size unknown ({type(exc).__name__})", warning=True)]
    finally:
        admin.close()
    findings = []
    if kafka.replication_factor > brokers:
        findings.append(Finding(False, "kafka replication", f"replication_factor {kafka.replication_factor} but the "
                                                            f"cluster has {brokers} broker(s): topics cannot be created"))
    elif kafka.replication_factor == 1:
        findings.append(Finding(True, "kafka replication", f"replication_factor 1 on {brokers} broker(s): losing a "
                                "broker loses every event not yet consumed; set kafka.replication_factor = 3",
                                warning=True))
    elif brokers > 1 and (kafka.min_insync_replicas or 1) < 2:
        findings.append(Finding(True, "kafka replication", f"min_insync_replicas {kafka.min_insync_replicas or 1} on "
                                f"{brokers} brokers: an acks=all write can land on one replica only; set "
                                "kafka.min_insync_replicas = 2", warning=True))
    else:
        findings.append(Finding(True, "kafka replication", f"replication_factor {kafka.replication_factor}, "
                                f"min.insync.replicas {kafka.min_insync_replicas or 1}, {brokers} broker(s)"))
    return findings
