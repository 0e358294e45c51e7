"""``walmart-sync listen`` with ``cdc.source = "debezium"``: an existing Debezium's per-table topics
-> the same typed change events the listener publishes, on the same topics.

Why a translation stage rather than teaching every worker Debezium's format: the workers, the
DLQ, ``lag`` and the status page all read walmart-sync's change events (keys, event ids,
families); one capture-side component keeps them unchanged, and the mapping from rows to events is
the listener's own pure code (cdc_listener.translate) with the same identity lookups
(cdc_listener.catalog), so both sources give the same events for the same row changes.

What Debezium delivers beyond row changes, on purpose:
- snapshot rows (op ``r``): not changes. They update the identity lookups and publish nothing;
  the state they describe is what a full resync compares (as on the listener's first start).
- tombstones (null value after a delete): skipped; the delete event before it is translated.
- transaction metadata (``<prefix>.transaction``) and schema changes (``<prefix>``): not consumed;
  the column types used to read values come from the Commerce schema and are read again when a
  record carries a column not seen before (a DDL).
- records that are not Debezium change events: dead-lettered (``dlq.debezium``) with the reason.

Checkpoint: a batch's Debezium-topic offsets are committed only after Kafka acknowledged every
event produced from it (at-least-once; a crash replays the batch with the same event ids, which
the workers deduplicate).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from cdc_debezium.records import ColumnType, DebeziumChange, UnreadableRecord, parse_change, to_change
from cdc_listener.catalog import CommerceCatalog
from cdc_listener.translate import WATCHED_TABLES, translate
from config import Settings
from domain.events import FAMILIES, encode_change_event, event_id
from plumbing.db import connect_commerce
from plumbing.kafka import consumer_kwargs, ensure_topics, producer_kwargs, send_acknowledged, topic_name
from plumbing.logs import get_logger, redact

DLQ_STREAM = "dlq.debezium"


def debezium_topics(settings: Settings) -> dict[str, str]:
    """Debezium topic -> watched table, as the connector names them."""
    dbz = settings.cdc.debezium
    database = settings.commerce_db.database
    return {dbz.topic_template.format(prefix=dbz.topic_prefix, database=database, table=table): table
            for table in WATCHED_TABLES}


def load_column_types(query: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]],
                      tables: tuple[str, ...]) -> dict[str, dict[str, ColumnType]]:
    rows = query(
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, NUMERIC_SCALE, DATETIME_PRECISION "
        "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
        f"AND TABLE_NAME IN ({', '.join(['%s'] * len(tables))})", tables)
    types: dict[str, dict[str, ColumnType]] = {}
    for table, column, data_type, scale, precision in rows:
        types.setdefault(str(table), {})[str(column)] = ColumnType(
            str(data_type).lower(), None if scale is None else int(scale),
            None if precision is None else int(precision))
    return types


class DebeziumTranslator:
    """The capture flow on Debezium's topics; ``run`` until ``stop``."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.clock = clock
        self.log = get_logger("cdc_debezium", group=settings.cdc.debezium.group)
        self._stop = threading.Event()
        self.streaming = threading.Event()  # set after the first poll: Kafka reached, group joined
        self.state = "starting"
        self.translated = 0
        self.snapshot_rows = 0
        self.tombstones = 0
        self.dead_letters = 0
        self.behind_s = 0.0
        self.position: str | None = None  # the last Debezium source position translated

    def stop(self) -> None:
        self._stop.set()

    def run(self) -> None:
        from kafka import KafkaConsumer, KafkaProducer

        settings = self.settings
        conn = connect_commerce(settings)

        def query(sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())

        catalog = CommerceCatalog(query, self.clock).load()
        columns = load_column_types(query, WATCHED_TABLES)
        topics = debezium_topics(settings)
        family_topics: dict[str, str] = {family: topic_name(settings.kafka, family) for family in FAMILIES}
        dlq = topic_name(settings.kafka, DLQ_STREAM)
        ensure_topics(settings.kafka, [*family_topics.values(), dlq])
        # Debezium creates a table's topic with the table's first change: the group starts on the
        # topics there are, from their beginning, and finds new ones within metadata_max_age_ms; it
        # never creates them (they are the connector's, with its partitions and retention)
        consumer = KafkaConsumer(**{**consumer_kwargs(settings.kafka, settings.cdc.debezium.group,
                                                      "walmart-sync-debezium"),
                                    "auto_offset_reset": "earliest", "metadata_max_age_ms": 5000,
                                    "allow_auto_create_topics": False})
        producer = KafkaProducer(**producer_kwargs(settings.kafka, "walmart-sync-debezium"))
        consumer.subscribe(list(topics))
        self.state = "active"
        try:
            while not self._stop.is_set():
                polled = consumer.poll(timeout_ms=200, max_records=settings.cdc.debezium.max_batch_records)
                self.streaming.set()  # connected and in the group (topics not there yet are read from their start)
                if not polled:
                    self.behind_s = 0.0
                    continue
                messages: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []
                now = datetime.now(UTC)
                for _tp, records in polled.items():
                    for record in records:
                        messages.extend(self._translate(record, topics, columns, catalog, query,
                                                        family_topics, dlq, now))
                send_acknowledged(producer, messages)  # raises before the commit when not acked
                consumer.commit()
        finally:
            self.state = "stopped"
            consumer.close(autocommit=False)
            producer.close(timeout=10)
            conn.close()

    def _translate(self, record: Any, topics: dict[str, str], columns: dict[str, dict[str, ColumnType]],
                   catalog: CommerceCatalog, query: Callable[..., list[tuple[Any, ...]]],
                   family_topics: dict[str, str], dlq: str, now: datetime
                   ) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
        table = topics.get(record.topic)
        try:
            parsed = parse_change(record.value)
            if parsed is None:
                self.tombstones += 1
                return []
            payload, source = parsed
            row = payload.get("after") or payload.get("before") or {}
            if table is not None and any(c not in columns.get(table, {}) for c in row):
                columns.update(load_column_types(query, WATCHED_TABLES))  # a DDL added a column
            change = to_change(payload, source, columns.get(table or "", {}))
            if change.table not in WATCHED_TABLES:
                raise UnreadableRecord(f"table {change.database}.{change.table} is not one the sidecar watches")
        except UnreadableRecord as exc:
            self.dead_letters += 1
            self.log.error("dead-lettered a Debezium record", topic=record.topic, partition=record.partition,
                           offset=record.offset, reason=str(exc))
            return [(dlq, record.key, record.value or b"", [
                ("dlq.reason", redact(str(exc)).encode()), ("dlq.error.code", b"unreadable_debezium_record"),
                ("dlq.source.topic", record.topic.encode()), ("dlq.source.partition", str(record.partition).encode()),
                ("dlq.source.offset", str(record.offset).encode()),
                ("dlq.failed_at", datetime.now(UTC).isoformat().encode())])]
        self.position = f"{change.log_file}:{change.log_pos}" + (f" (gtid {change.gtid})" if change.gtid else "")
        self.behind_s = max(0.0, self.clock() - change.ts_ms / 1000)
        if change.snapshot:
            self.snapshot_rows += 1
            catalog.observe(change.table, None, change.after)
            return []
        return self._events(change, catalog, family_topics, now)

    def _events(self, change: DebeziumChange, catalog: CommerceCatalog, family_topics: dict[str, str],
                now: datetime) -> list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]]:
        assert change.op is not None
        info = {"server_id": change.server_id, "gtid": change.gtid, "log_file": change.log_file,
                "log_pos": change.log_pos, "ts_ms": change.ts_ms, "database": change.database,
                "table": change.table, "txn": change.txn}
        out: list[tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]] = []
        for sub, draft in enumerate(translate(change.table, change.op, change.before, change.after, catalog)):
            eid = event_id(change.txn, change.row, sub)
            value = encode_change_event(eid, draft.family, draft.type, draft.op, draft.key, draft.sku,
                                        draft.order_id, draft.entity, draft.before, draft.after,
                                        draft.reservation, info, now)
            out.append((family_topics[draft.family], draft.key.encode(), value, [("event_id", eid.encode())]))
            self.translated += 1
        catalog.observe(change.table, change.before, change.after)
        return out
