"""A Debezium change record (Kafka Connect JSON converter, schemas on or off) -> a binlog row as
the listener sees it. Pure: no I/O.

Debezium encodes column values by its own rules (``decimal.handling.mode``, ``time.precision.mode``),
and without schemas the JSON alone does not say which integer is a DATETIME or which string a
DECIMAL. The column types come from the Commerce schema instead (``ColumnType``, loaded by the
stage), so a value is turned back into what python-mysql-replication gives the listener (Decimal,
naive datetime, date) and the same pure translation (cdc_listener.translate) yields the same
drafts, keys and payloads.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from domain.events import Operation

OPS: dict[str, Operation] = {"c": "insert", "u": "update", "d": "delete"}
EPOCH = datetime(1970, 1, 1)


@dataclass(frozen=True)
class ColumnType:
    data_type: str  # information_schema.COLUMNS.DATA_TYPE, lower case
    scale: int | None = None  # NUMERIC_SCALE
    precision: int | None = None  # DATETIME_PRECISION


@dataclass(frozen=True)
class DebeziumChange:
    """One row change, or a snapshot row (``snapshot``: Debezium's op ``r``)."""

    database: str
    table: str
    op: Operation | None  # None for a snapshot read
    snapshot: bool
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    server_id: int
    gtid: str | None
    log_file: str
    log_pos: int
    row: int
    ts_ms: int

    @property
    def txn(self) -> str:
        """The transaction's GTID when Debezium reports one; otherwise the row event's position
        (``server:file:pos``), which with ``row`` names the row uniquely and is the same on a
        replay after a Debezium restart."""
        return self.gtid or f"{self.server_id}:{self.log_file}:{self.log_pos}"


class UnreadableRecord(ValueError):
    """Not a Debezium change record: dead-lettered with this reason, never dropped."""


def _payload(value: bytes) -> dict[str, Any]:
    try:
        data = json.loads(value)
    except (TypeError, ValueError) as exc:
        raise UnreadableRecord(f"not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise UnreadableRecord("not a JSON object")
    if "payload" in data and "schema" in data:  # schemas.enable=true envelope
        data = data["payload"]
        if not isinstance(data, dict):
            raise UnreadableRecord("schema envelope without an object payload")
    return data


def _decimal(value: Any, column: ColumnType) -> Any:
    if isinstance(value, (int, float)):
        return Decimal(str(value))
    if isinstance(value, str):
        try:
            return Decimal(value)  # decimal.handling.mode=string
        except InvalidOperation:
            pass
        try:  # decimal.handling.mode=precise: big-endian two's complement unscaled value, base64
            raw = base64.b64decode(value, validate=True)
        except ValueError as exc:
            raise UnreadableRecord(f"decimal value {value!r} is neither a number nor base64") from exc
        unscaled = int.from_bytes(raw, "big", signed=True)
        return Decimal(unscaled).scaleb(-(column.scale or 0))
    return value


def _datetime(value: Any, column: ColumnType) -> Any:
    if isinstance(value, int):
        if column.data_type == "date":
            return date(1970, 1, 1) + timedelta(days=value)
        # io.debezium.time.Timestamp (millis) up to precision 3, MicroTimestamp (micros) above
        micros = value * 1000 if (column.precision or 0) <= 3 else value
        return EPOCH + timedelta(microseconds=micros)
    if isinstance(value, str):  # ZonedTimestamp (TIMESTAMP columns), ISO-8601 in UTC
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError as exc:
            raise UnreadableRecord(f"temporal value {value!r} is not ISO-8601") from exc
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        return parsed.date() if column.data_type == "date" else parsed
    return value


def normalise_row(row: dict[str, Any] | None, columns: dict[str, ColumnType]) -> dict[str, Any] | None:
    if row is None:
        return None
    out = {}
    for name, value in row.items():
        column = columns.get(name)
        if value is None or column is None:
            out[name] = value
        elif column.data_type in ("decimal", "numeric"):
            out[name] = _decimal(value, column)
        elif column.data_type in ("datetime", "timestamp", "date"):
            out[name] = _datetime(value, column)
        else:
            out[name] = value
    return out


def parse_change(value: bytes | None) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """(payload, source) of a change record; None for a tombstone (the null value Debezium sends
    after a delete for log compaction: the delete itself came just before it)."""
    if value is None or value == b"":
        return None
    payload = _payload(value)
    source = payload.get("source")
    if not isinstance(source, dict) or "op" not in payload:
        raise UnreadableRecord("no op/source: not a Debezium change event (a schema change or "
                               "transaction record on a table topic?)")
    return payload, source


def to_change(payload: dict[str, Any], source: dict[str, Any],
              columns: dict[str, ColumnType]) -> DebeziumChange:
    op = payload["op"]
    if op not in OPS and op != "r":
        raise UnreadableRecord(f"unknown op {op!r} (truncate 't' and messages 'm' are not row changes)")
    try:
        return DebeziumChange(
            database=str(source["db"]), table=str(source["table"]), op=OPS.get(op), snapshot=op == "r",
            before=normalise_row(payload.get("before"), columns),
            after=normalise_row(payload.get("after"), columns),
            server_id=int(source.get("server_id") or 0), gtid=source.get("gtid") or None,
            log_file=str(source.get("file") or ""), log_pos=int(source.get("pos") or 0),
            row=int(source.get("row") or 0), ts_ms=int(source.get("ts_ms") or 0))
    except (KeyError, TypeError, ValueError) as exc:
        if isinstance(exc, UnreadableRecord):
            raise
        raise UnreadableRecord(f"source block incomplete: {type(exc).__name__}: {exc}") from exc
