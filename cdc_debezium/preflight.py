"""``config check --connect`` with ``cdc.source = "debezium"``: are Debezium's topics there, and do
their records carry the tables and columns the translation needs?

A connector whose ``table.include.list`` misses a table, or whose ``column.exclude.list`` drops a
column the sidecar reads, would not fail: the sidecar would silently never hear of those changes.
The newest record of each topic shows which columns the connector sends.
"""

from __future__ import annotations

import json
from typing import Any

from cdc_debezium.stage import debezium_topics
from cdc_listener import translate
from cdc_listener.preflight import Finding
from config import Settings
from plumbing.kafka import connection_kwargs

# columns each table's translation reads (cdc_listener.translate's column lists)
NEEDED: dict[str, tuple[str, ...]] = {
    "inventory_source_item": translate.SOURCE_ITEM, "inventory_reservation": translate.RESERVATION,
    "cataloginventory_stock_item": translate.LEGACY_STOCK,
    "catalog_product_entity_decimal": translate.VALUE, "catalog_product_entity_datetime": translate.VALUE,
    "catalog_product_entity": ("entity_id", "sku", "type_id", "attribute_set_id"),
    "sales_shipment": translate.SHIPMENT, "sales_shipment_item": translate.SHIPMENT_ITEM,
    "sales_shipment_track": translate.TRACK, "sales_order": translate.ORDER, "sales_order_item": translate.ORDER_ITEM,
    "sales_creditmemo": translate.CREDITMEMO, "sales_creditmemo_item": translate.CREDITMEMO_ITEM,
}


def _newest_row(consumer: Any, topic: str) -> dict[str, Any] | None:
    from kafka import TopicPartition

    partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
    ends = consumer.end_offsets(partitions)
    for tp in partitions:
        if ends[tp] == 0:
            continue
        consumer.assign([tp])
        consumer.seek(tp, max(0, ends[tp] - 20))  # the last few: the newest may be a tombstone
        rows = []
        for records in consumer.poll(timeout_ms=5000).values():
            for record in records:
                if record.value:
                    data = json.loads(record.value)
                    data = data.get("payload", data) if "schema" in data else data
                    row = data.get("after") or data.get("before")
                    if isinstance(row, dict):
                        rows.append(row)
        if rows:
            return rows[-1]
    return None


def check_debezium_topics(settings: Settings) -> list[Finding]:
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(**connection_kwargs(settings.kafka, "walmart-sync-health"), enable_auto_commit=False)
    findings = []
    try:
        existing = consumer.topics()
        for topic, table in debezium_topics(settings).items():
            if topic not in existing:
                # Debezium creates a table's topic with its first change: no topic is either no change
                # yet or a table outside table.include.list, which only the connector's config tells
                findings.append(Finding(True, f"debezium {table}", f"topic {topic} does not exist yet: check "
                                        f"that {settings.commerce_db.database}.{table} is in the connector's "
                                        "table.include.list (and cdc.debezium.topic_prefix/topic_template)",
                                        warning=True))
                continue
            row = _newest_row(consumer, topic)
            if row is None:
                findings.append(Finding(True, f"debezium {table}", f"{topic}: no change yet, columns "
                                        "not checked", warning=True))
                continue
            missing = [c for c in NEEDED[table] if c not in row]
            if table.startswith("catalog_product_entity_") and "entity_id" not in row and "row_id" not in row:
                missing.append("entity_id (or row_id)")
            findings.append(Finding(not missing, f"debezium {table}", f"{topic}: missing columns {missing}: "
                                    "remove them from column.exclude.list" if missing else f"{topic}: columns ok"))
    finally:
        consumer.close()
    return findings


def newest_source(settings: Settings) -> dict[str, Any] | None:
    """The ``source`` block of the newest change record on Debezium's topics for the watched tables
    (by its binlog timestamp): Debezium's own position as far as its topics show it, for ``lag``."""
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(**connection_kwargs(settings.kafka, "walmart-sync-lag"), enable_auto_commit=False)
    newest: dict[str, Any] | None = None
    try:
        existing = consumer.topics()
        partitions = [TopicPartition(topic, p) for topic in debezium_topics(settings) if topic in existing
                      for p in sorted(consumer.partitions_for_topic(topic) or ())]
        ends = consumer.end_offsets(partitions) if partitions else {}
        for tp in partitions:
            if not ends.get(tp):
                continue
            consumer.assign([tp])
            consumer.seek(tp, max(0, ends[tp] - 5))
            for records in consumer.poll(timeout_ms=3000).values():
                for record in records:
                    if not record.value:
                        continue
                    data = json.loads(record.value)
                    data = data.get("payload", data) if "schema" in data else data
                    source = data.get("source") if isinstance(data, dict) else None
                    if isinstance(source, dict) and (newest is None or
                                                     int(source.get("ts_ms") or 0) >= int(newest.get("ts_ms") or 0)):
                        newest = source
    finally:
        consumer.close()
    return newest
