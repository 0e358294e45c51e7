"""The change events the listener publishes: one stable envelope for every family.

Consumers rely on three properties of the envelope:
- ``event_id`` is the binlog position of the row (``<transaction>/<row ordinal>/<sub>``), so a
  change replayed after a crash carries the same id and can be recognised as a duplicate;
- ``key`` is the SKU (stock, price, catalog) or the Commerce order id (shipment, cancellation,
  refund), and the Kafka message key, so every change of one SKU or order stays in order;
- ``before``/``after`` hold only the columns that matter to walmart-sync, as JSON-safe values
  (decimals as strings, never floats).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic_core import to_json

SCHEMA_VERSION = 1

Family = Literal["stock", "price", "catalog", "shipment", "cancellation", "refund"]
FAMILIES: tuple[Family, ...] = ("stock", "price", "catalog", "shipment", "cancellation", "refund")
Operation = Literal["insert", "update", "delete"]


class SourceInfo(BaseModel):
    """Where in the source's binlog a change was read (Debezium's ``source`` block)."""

    model_config = ConfigDict(frozen=True)

    server_id: int
    gtid: str | None = Field(None, description="MariaDB domain-server-seq or MySQL uuid:n")
    log_file: str
    log_pos: int
    ts_ms: int = Field(description="binlog event timestamp (second precision on the server)")
    database: str
    table: str
    txn: str = Field(description="transaction identity: the GTID, or file:position of its start")


class ReservationMetadata(BaseModel):
    """Magento's ``inventory_reservation.metadata`` JSON string, parsed."""

    event_type: str | None = None
    object_type: str | None = None
    object_id: str | None = None
    object_increment_id: str | None = None


class ChangeEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    schema_version: int = SCHEMA_VERSION
    event_id: str
    family: Family
    type: str
    op: Operation
    key: str
    sku: str | None = None
    order_id: int | None = None
    entity: dict[str, Any] = Field(default_factory=dict, description="ids of the changed row")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reservation: ReservationMetadata | None = None
    source: SourceInfo
    captured_at: datetime


def encode_change_event(event_id: str, family: str, type_: str, op: str, key: str, sku: str | None,
                        order_id: int | None, entity: dict[str, Any], before: dict[str, Any] | None,
                        after: dict[str, Any] | None, reservation: ReservationMetadata | None,
                        source: dict[str, Any], captured_at: datetime) -> bytes:
    """A ``ChangeEvent`` as the bytes the listener publishes, written without building the model.

    The listener emits one of these per watched row on its hot path, where constructing and
    serialising the pydantic model costs five times as much as serialising a dict; the fields
    are exactly ``ChangeEvent``'s (a test parses every family's output back into the model), so
    the model stays the one definition consumers validate against.
    """
    return to_json({
        "schema_version": SCHEMA_VERSION, "event_id": event_id, "family": family, "type": type_, "op": op,
        "key": key, "sku": sku, "order_id": order_id, "entity": entity, "before": before, "after": after,
        "reservation": reservation.model_dump() if reservation else None, "source": source,
        "captured_at": captured_at})


def event_id(txn: str, ordinal: int, sub: int = 0) -> str:
    """Deterministic id of the ``sub``-th event of the ``ordinal``-th watched row of ``txn``.

    ``txn`` is the transaction's GTID (unique per source server) or ``server:file:pos``, so the
    plain string is unique, reproducible on replay, and tells support staff where it came from;
    it costs nothing to compute on the listener's hot path (a UUIDv5 cost a SHA-1 per event).
    """
    return f"{txn}/{ordinal}/{sub}"


class EventIdParts(BaseModel):
    """An ``event_id`` taken apart: which transaction, which watched row of it, which event of the row."""

    model_config = ConfigDict(frozen=True)

    txn: str
    ordinal: int
    sub: int


def parse_event_id(value: str) -> EventIdParts | None:
    """The inverse of ``event_id``; None for anything that is not one (a record from elsewhere).

    The transaction part may itself hold slashes-free colons (``server:file:pos``) or a GTID, so
    the two numbers are taken from the right.
    """
    txn, sep, rest = value.rpartition("/")
    txn, sep2, ordinal = txn.rpartition("/")
    if not sep or not sep2 or not txn or not ordinal.isdigit() or not rest.isdigit():
        return None
    return EventIdParts(txn=txn, ordinal=int(ordinal), sub=int(rest))


PolledFamily = Literal["walmart_orders", "walmart_returns"]
POLLED_FAMILIES: tuple[PolledFamily, ...] = ("walmart_orders", "walmart_returns")
PolledType = Literal["order", "return"]


class PolledDocument(BaseModel):
    """The envelope the Walmart pollers publish: one Walmart order or return, as Walmart sent it.

    The document itself stays a plain mapping on purpose: a malformed order must reach the
    importer (which dead-letters it with the reason and moves on), not fail every poll. Its key
    on the wire is the document type (``"order"`` or ``"return"``), as it always was.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True)

    schema_version: int = SCHEMA_VERSION
    family: PolledFamily
    type: PolledType
    key: str
    polled_at: int = Field(description="when the poll that published it began (ms since the epoch)")
    order: dict[str, Any] | None = None
    return_: dict[str, Any] | None = Field(None, alias="return")

    @classmethod
    def wrap(cls, family: PolledFamily, doc_type: PolledType, key: str, polled_at: int,
             document: dict[str, Any]) -> PolledDocument:
        return cls(family=family, type=doc_type, key=key, polled_at=polled_at,
                   **{"order" if doc_type == "order" else "return_": document})

    @property
    def document(self) -> dict[str, Any] | None:
        return self.order if self.type == "order" else self.return_

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()
