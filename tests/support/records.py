"""Records as the worker loop hands them to a handler, built the way their producers build them.

Change events: a row of a watched Commerce table, read back from the database after the test
wrote it, goes through the listener's own translation (``cdc_listener.translate``) with the
listener's identity lookups (``CommerceCatalog``) into the ``ChangeEvent`` envelope, keyed and
headed as the publisher sends it. Polled documents: a Walmart order or return, as GET /v3/orders or
/v3/returns returns it, in the pollers' ``PolledDocument`` envelope. ``deliver`` then parses the
records as the loop does (keeping only the handler's ``event_fields``) and calls ``handle``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from pymysql.cursors import DictCursor

from cdc_listener.catalog import CommerceCatalog
from cdc_listener.translate import translate
from domain.events import ChangeEvent, Operation, PolledDocument, SourceInfo, event_id
from sync_workers.pull.pollers import document_key
from sync_workers.runtime.loop import BatchHandler, DeadLetter, Parked, Record, envelope_of, parse_record

_offsets = itertools.count(1)


def next_offset() -> int:
    return next(_offsets)


class ChangeRecords:
    """Change events of rows in one Commerce database, as the listener would publish them."""

    def __init__(self, connect: Any, topic_prefix: str, database: str):
        """``connect``: returns a new connection to the Commerce database (the test's admin one)."""
        self._connect = connect
        self.conn = connect()
        self.prefix = topic_prefix
        self.database = database
        self._txns = itertools.count(1)
        self.catalog = CommerceCatalog(self._query).load()

    def _query(self, sql: str, args: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        self.conn.ping()
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def close(self) -> None:
        self.conn.close()

    # rows ------------------------------------------------------------------------------------------
    def row(self, table: str, **where: Any) -> dict[str, Any]:
        """The one row of ``table`` matching ``where``, column -> value, as the binlog carries it."""
        self.conn.ping()
        with self.conn.cursor(DictCursor) as cur:
            clause = " AND ".join(f"`{column}` = %s" for column in where)
            cur.execute(f"SELECT * FROM `{table}` WHERE {clause}", tuple(where.values()))
            rows = cur.fetchall()
        assert len(rows) == 1, f"{table} {where}: {len(rows)} rows"
        return dict(rows[0])

    def rows(self, table: str, **where: Any) -> list[dict[str, Any]]:
        self.conn.ping()
        with self.conn.cursor(DictCursor) as cur:
            clause = " AND ".join(f"`{column}` = %s" for column in where) or "1 = 1"
            cur.execute(f"SELECT * FROM `{table}` WHERE {clause}", tuple(where.values()))
            return [dict(row) for row in cur.fetchall()]

    def change(self, table: str, sql: str, args: Sequence[Any] = (), **where: Any
               ) -> tuple[str, Operation, dict[str, Any] | None, dict[str, Any] | None]:
        """Run ``sql`` (a write of at most the one row of ``table`` matching ``where``) and return the
        row change the binlog would carry for it: (table, op, before, after)."""
        before = self.rows(table, **where)
        with self.conn.cursor() as cur:
            cur.execute(sql, tuple(args))
        after = self.rows(table, **where)
        assert len(before) <= 1 and len(after) <= 1 and (before or after), f"{table} {where}: not one row"
        old, new = (before or [None])[0], (after or [None])[0]
        op: Operation = "insert" if old is None else "delete" if new is None else "update"
        return table, op, old, new

    def insert(self, table: str, sql: str, args: Sequence[Any] = (), key: str = "entity_id"
               ) -> tuple[str, Operation, dict[str, Any] | None, dict[str, Any] | None]:
        """Run an INSERT of one row with an auto-increment ``key``; its row change."""
        with self.conn.cursor() as cur:
            cur.execute(sql, tuple(args))
            new_id = cur.lastrowid
        return table, "insert", None, self.row(table, **{key: new_id})

    # events ----------------------------------------------------------------------------------------
    def changes(self, changes: Sequence[tuple[str, Operation, dict[str, Any] | None, dict[str, Any] | None]],
                txn: str | None = None) -> list[Record]:
        """One source transaction of row changes ``(table, op, before, after)`` -> its records, in order."""
        txn = txn or f"0-1-{next(self._txns)}"
        records = []
        now = datetime.now(UTC)
        for ordinal, (table, op, before, after) in enumerate(changes):
            source = SourceInfo(server_id=1, gtid=txn, log_file="binlog.000001", log_pos=1000 + ordinal,
                                ts_ms=int(time.time()) * 1000, database=self.database, table=table, txn=txn)
            for sub, draft in enumerate(translate(table, op, before, after, self.catalog)):
                eid = event_id(txn, ordinal, sub)
                envelope = ChangeEvent(event_id=eid, family=draft.family, type=draft.type, op=draft.op,
                                       key=draft.key, sku=draft.sku, order_id=draft.order_id, entity=draft.entity,
                                       before=draft.before, after=draft.after, reservation=draft.reservation,
                                       source=source, captured_at=now)
                records.append(Record(f"{self.prefix}.{draft.family}", 0, next_offset(), draft.key.encode(),
                                      envelope.model_dump_json().encode(), headers=[("event_id", eid.encode())]))
            self.catalog.observe(table, before, after)
        return records

    def inserted(self, table: str, **where: Any) -> list[Record]:
        """Events of the rows matching ``where`` as inserts (one transaction)."""
        return self.changes([(table, "insert", None, row) for row in self.rows(table, **where)])

    def updated(self, table: str, before: dict[str, Any], **where: Any) -> list[Record]:
        """The event of one row's update from ``before`` (what the test read before changing it)."""
        return self.changes([(table, "update", before, self.row(table, **where))])


def polled_record(topic_prefix: str, document: dict[str, Any], doc_type: str = "order",
                  polled_at_ms: int | None = None) -> Record:
    """A Walmart order or return in the envelope the pollers publish, keyed by its id."""
    family = "walmart_orders" if doc_type == "order" else "walmart_returns"
    key = document_key(document, "purchaseOrderId" if doc_type == "order" else "returnOrderId")
    envelope = PolledDocument.wrap(family, doc_type, key, polled_at_ms or int(time.time() * 1000),  # type: ignore[arg-type]
                                   document)
    return Record(f"{topic_prefix}.{family}", 0, next_offset(), key.encode(), envelope.to_json())


def raw_record(topic: str, value: bytes | dict[str, Any], key: bytes | None = b"junk") -> Record:
    """A record of anything: bytes as they are, a dict as its JSON."""
    import json

    body = value if isinstance(value, bytes) else json.dumps(value).encode()
    return Record(topic, 0, next_offset(), key, body)


def deliver(handler: BatchHandler, records: Sequence[Record], envelope: bool = True) -> list[DeadLetter | Parked]:
    """What the loop does with a batch: validate each record against its envelope keeping the
    handler's fields, then handle them. Every record here must parse (the loop dead-letters those
    that do not, before any handler). ``envelope=False`` hands the handler records the loop would
    have refused (a well-formed envelope with a field the handler cannot use, written by hand): the
    handler's own checks, defence in depth."""
    batch = list(records)
    for record in batch:
        record.event = None
        if envelope:
            assert parse_record(record, handler.event_fields, envelope_of(handler)), \
                f"not a valid envelope: {record.value[:80]!r}"
        else:
            event = json.loads(record.value)
            fields = handler.event_fields
            record.event = event if fields is None else {k: event[k] for k in fields if k in event}
    return list(handler.handle(batch))


def change_event(family: str, type_: str, key: str, *, sku: str | None = None, order_id: int | None = None,
                 op: str = "insert", after: dict[str, Any] | None = None, n: int = 0) -> bytes:
    """A whole ChangeEvent as the listener writes it, for tests that publish events by hand."""
    from datetime import UTC, datetime

    from domain.events import encode_change_event, event_id

    txn = f"0-1-{900000 + n}"
    source = {"server_id": 1, "gtid": txn, "log_file": "binlog.000001", "log_pos": 4 + n, "ts_ms": 0,
              "database": "magento", "table": "test", "txn": txn}
    return encode_change_event(event_id(txn, 0), family, type_, op, key, sku, order_id, {}, None, after, None,
                               source, datetime.now(UTC))
