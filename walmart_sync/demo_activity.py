"""Scripted store activity for the demo: what a merchant's Commerce does, and what the sidecar sees.

Each step commits real rows the way Magento writes them (a source-item save, an order's
reservation, a price change, a special price) and the demo then shows the change events the
listener published for them, with the time from COMMIT to Kafka's acknowledgement.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka import KafkaConsumer, TopicPartition


@dataclass
class Step:
    label: str
    sql: str
    args: tuple[Any, ...]


def _product_row(staged: bool) -> tuple[str, str]:
    """The value tables' link column, and a subquery for a SKU's live row of it."""
    if staged:  # Adobe Commerce: the live version's row_id
        return "row_id", ("(SELECT row_id FROM catalog_product_entity WHERE sku = %s AND "
                          "created_in <= UNIX_TIMESTAMP() AND updated_in > UNIX_TIMESTAMP())")
    return "entity_id", "(SELECT entity_id FROM catalog_product_entity WHERE sku = %s)"


def store_activity(price_attribute: int, special_price_attribute: int,
                   staged: bool = False) -> list[Step]:
    link, product = _product_row(staged)
    return [
        Step("warehouse recount: WS-000001 in wh_east is now 12",
             "UPDATE inventory_source_item SET quantity = 12, status = 1 "
             "WHERE sku = 'WS-000001' AND source_code = 'wh_east'", ()),
        Step("an order reserves 2 x WS-000002 on the Walmart stock",
             "INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES (2, "
             "'WS-000002', -2, '{\"event_type\":\"order_placed\",\"object_type\":\"order\","
             "\"object_id\":\"\",\"object_increment_id\":\"2000000001\"}')", ()),
        Step("price of WS-000003 changes to 24.99",
             f"UPDATE catalog_product_entity_decimal SET value = 24.99 WHERE {link} = {product} "
             "AND attribute_id = %s AND store_id = 0", ("WS-000003", price_attribute)),
        Step("WS-000004 goes on special at 9.99",
             f"INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, {link}, value) "
             f"SELECT %s, 0, {product}, 9.99 ON DUPLICATE KEY UPDATE value = 9.99",
             (special_price_attribute, "WS-000004")),
    ]


def run_activity(connection: Any, steps: list[Step], acked: dict[str, float], bootstrap: str,
                 topics: list[str], say: Callable[[str], None], timeout_s: float = 30.0) -> bool:
    """Commit each step, then show its events; True when every step produced an event."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             consumer_timeout_ms=200)
    partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
    consumer.assign(partitions)
    consumer.seek_to_end(*partitions)
    for partition in partitions:
        consumer.position(partition)
    all_seen = True
    try:
        for step in steps:
            with connection.cursor() as cur:
                cur.execute(step.sql, step.args)
            committed = time.time()
            say(f"  store: {step.label}")
            events: list[dict] = []
            deadline = time.monotonic() + timeout_s
            while not events and time.monotonic() < deadline:
                events = [json.loads(r.value) for r in consumer]
            if not events:
                say("    (no event arrived)")
                all_seen = False
            for event in events:
                ack = acked.get(event["event_id"])
                latency = f"{(ack - committed) * 1000:.0f} ms" if ack else "?"
                change = event["after"] or event["before"] or {}
                detail = ", ".join(f"{k}={v}" for k, v in change.items()
                                   if k in ("quantity", "value", "status", "source_code"))
                say(f"    -> {event['family']}.{event['type']} key={event['key']} {detail} "
                    f"(commit -> Kafka ack {latency})")
    finally:
        consumer.close()
    return all_seen
