"""Debezium's JSON (schemas on and off, each decimal/time encoding) back to binlog row values, so
the listener's translation gives the same drafts. The expected values are python-mysql-replication's
types for the same columns (Decimal, naive datetime), written out by hand."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from decimal import Decimal

import pytest

from cdc_debezium.records import ColumnType, UnreadableRecord, parse_change, to_change

COLUMNS = {"quantity": ColumnType("decimal", scale=4), "created_at": ColumnType("timestamp"),
           "value": ColumnType("datetime", precision=0), "sku": ColumnType("varchar")}
SOURCE = {"db": "magento", "table": "inventory_source_item", "server_id": 1, "gtid": None,
          "file": "binlog.000003", "pos": 1059, "row": 2, "ts_ms": 1796139937000}


def record(after: dict, op: str = "c", schemas: bool = False) -> bytes:
    payload = {"before": None, "after": after, "source": SOURCE, "op": op, "ts_ms": 1}
    return json.dumps({"schema": {"type": "struct"}, "payload": payload} if schemas else payload).encode()


@pytest.mark.parametrize("schemas", [False, True])
@pytest.mark.parametrize("quantity", ["12.5000", 12.5, base64.b64encode((125000).to_bytes(3, "big")).decode()])
def test_every_decimal_encoding_reads_back_as_the_decimal(schemas: bool, quantity: object) -> None:
    payload, source = parse_change(record({"sku": "A", "quantity": quantity}, schemas=schemas))
    change = to_change(payload, source, COLUMNS)
    assert change.after == {"sku": "A", "quantity": Decimal("12.5")}
    assert change.op == "insert" and not change.snapshot
    assert change.txn == "1:binlog.000003:1059" and change.row == 2


def test_negative_precise_decimal_and_temporal_columns() -> None:
    negative = base64.b64encode((-125000).to_bytes(3, "big", signed=True)).decode()
    payload, source = parse_change(record({"quantity": negative, "created_at": "2026-12-01T15:04:05Z",
                                           "value": 1796137445000}))
    after = to_change(payload, source, COLUMNS).after
    assert after == {"quantity": Decimal("-12.5"), "created_at": datetime(2026, 12, 1, 15, 4, 5),
                     "value": datetime(2026, 12, 1, 15, 4, 5)}


def test_snapshot_rows_tombstones_and_gtids() -> None:
    payload, source = parse_change(record({"sku": "A"}, op="r"))
    change = to_change(payload, source, COLUMNS)
    assert change.snapshot and change.op is None
    assert parse_change(None) is None and parse_change(b"") is None
    payload, source = parse_change(record({"sku": "A"}, op="u"))
    assert to_change(payload, {**source, "gtid": "0-1-77"}, COLUMNS).txn == "0-1-77"


@pytest.mark.parametrize("value, reason", [
    (b"not json", "not JSON"),
    (b'{"ddl": "ALTER TABLE x", "source": {}}', "no op/source"),
    (json.dumps({"op": "t", "source": SOURCE}).encode(), "unknown op"),
    (json.dumps({"op": "c", "after": {"quantity": "@@"}, "source": SOURCE}).encode(), "neither a number nor base64"),
])
def test_what_is_no_change_record_is_refused_with_the_reason(value: bytes, reason: str) -> None:
    with pytest.raises(UnreadableRecord, match=reason):
        parsed = parse_change(value)
        assert parsed is not None
        to_change(*parsed, COLUMNS)
