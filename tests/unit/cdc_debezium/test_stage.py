"""What the translation stage publishes for each kind of Debezium record: change events with the
listener's translation and ids from the source position, nothing for snapshot rows and tombstones,
a dead letter with the reason for anything else. Kafka and the database are the integration test's
(tests/integration/test_debezium_source.py); here the records are built by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cdc_debezium.records import ColumnType
from cdc_debezium.stage import DebeziumTranslator, debezium_topics
from config.settings import Settings

TOPIC = "commerce.magento.inventory_source_item"
COLUMNS = {"inventory_source_item": {"source_item_id": ColumnType("int"), "source_code": ColumnType("varchar"),
                                     "sku": ColumnType("varchar"), "quantity": ColumnType("decimal", scale=4),
                                     "status": ColumnType("smallint")}}
FAMILY_TOPICS = {f: f"ws.{f}" for f in ("stock", "price", "catalog", "shipment", "cancellation", "refund")}


@dataclass
class Record:
    topic: str
    value: bytes | None
    key: bytes | None = b'{"source_item_id":7}'
    partition: int = 0
    offset: int = 41


class Observed:
    """The catalog's role here: it is told every row, snapshot or change."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, Any, Any]] = []

    def observe(self, table: str, before: Any, after: Any) -> None:
        self.seen.append((table, before, after))


def settings() -> Settings:
    return Settings.model_validate({
        "commerce_db": {"password": "x", "database": "magento"}, "state_store": {"dsn": "mysql://u:p@h/s"},
        "walmart": {"client_id": "c", "client_secret": "s"},
        "commerce_api": {"base_url": "http://127.0.0.1:1", "token": "t"},
        "cdc": {"source": "debezium", "debezium": {"topic_prefix": "commerce"}}})


def change(op: str, before: dict | None, after: dict | None, gtid: str | None = None) -> bytes:
    return json.dumps({"before": before, "after": after, "op": op, "source": {
        "db": "magento", "table": "inventory_source_item", "server_id": 1, "gtid": gtid,
        "file": "binlog.000002", "pos": 900, "row": 1, "ts_ms": 1_796_000_000_000}}).encode()


def translate(record: Record) -> tuple[list, DebeziumTranslator, Observed]:
    stage = DebeziumTranslator(settings())
    catalog = Observed()
    out = stage._translate(record, debezium_topics(stage.settings), COLUMNS, catalog,  # type: ignore[arg-type]
                           lambda *_: [], FAMILY_TOPICS, "ws.dlq.debezium", datetime.now(UTC))
    return out, stage, catalog


def test_topics_follow_the_connector_naming_for_every_watched_table() -> None:
    from cdc_listener.translate import WATCHED_TABLES

    topics = debezium_topics(settings())
    assert topics[TOPIC] == "inventory_source_item"
    assert sorted(topics.values()) == sorted(WATCHED_TABLES)  # one topic per watched table, none else
    assert all(topic.endswith(f".{table}") for topic, table in topics.items())


def test_a_change_becomes_the_listeners_event_with_an_id_from_the_source_position() -> None:
    row = {"source_item_id": 7, "source_code": "default", "sku": "WS-1", "quantity": "4.0000", "status": 1}
    out, stage, catalog = translate(Record(TOPIC, change("u", {**row, "quantity": "5.0000"}, row)))
    [(topic, key, value, headers)] = out
    event = json.loads(value)
    assert (topic, key, headers) == ("ws.stock", b"WS-1", [("event_id", b"1:binlog.000002:900/1/0")])
    assert (event["family"], event["type"], event["op"]) == ("stock", "source_item", "update")
    assert event["after"]["quantity"] == "4.0000" and event["before"]["quantity"] == "5.0000"
    assert event["source"]["txn"] == "1:binlog.000002:900" and event["source"]["log_pos"] == 900
    assert catalog.seen and stage.translated == 1
    out, _, _ = translate(Record(TOPIC, change("c", None, row, gtid="0-1-55")))
    assert out[0][3] == [("event_id", b"0-1-55/1/0")]


def test_snapshot_rows_and_tombstones_publish_nothing() -> None:
    row = {"source_item_id": 7, "source_code": "default", "sku": "WS-1", "quantity": "4.0000", "status": 1}
    out, stage, catalog = translate(Record(TOPIC, change("r", None, row)))
    assert out == [] and stage.snapshot_rows == 1
    assert catalog.seen == [("inventory_source_item", None, {**row, "quantity": Decimal("4")})]
    out, stage, _ = translate(Record(TOPIC, None))
    assert out == [] and stage.tombstones == 1


def test_what_is_not_a_change_is_dead_lettered_with_its_reason_and_origin() -> None:
    out, stage, _ = translate(Record(TOPIC, b'{"ddl": "ALTER TABLE x"}'))
    [(topic, key, value, headers)] = out
    assert (topic, key, value) == ("ws.dlq.debezium", b'{"source_item_id":7}', b'{"ddl": "ALTER TABLE x"}')
    found = dict(headers)
    assert b"no op/source" in found["dlq.reason"]
    assert (found["dlq.source.topic"], found["dlq.source.offset"]) == (TOPIC.encode(), b"41")
    assert stage.dead_letters == 1


def test_run_and_listen_take_the_translation_stage_as_their_capture_component() -> None:
    from walmart_sync.components import build_components

    [component] = build_components(settings(), ["listener"])
    assert component.name == "listener"
    assert isinstance(getattr(component.run, "__self__", None), DebeziumTranslator)
    assert component.ready() == (False, "starting")  # not ready before it has polled Kafka
