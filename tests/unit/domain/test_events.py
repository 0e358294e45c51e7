"""The envelopes: what producers write is what consumers parse."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from cdc_listener.translate import translate
from domain.events import (
    ChangeEvent,
    PolledDocument,
    ReservationMetadata,
    encode_change_event,
    event_id,
    parse_event_id,
)

SOURCE = {"server_id": 1, "gtid": "0-1-77", "log_file": "binlog.000003", "log_pos": 4711, "ts_ms": 1_700_000_000_000,
          "database": "magento", "table": "inventory_source_item", "txn": "0-1-77"}


class _NoLookups:
    """translate() asks these for rows it cannot see; the families below need none."""

    def __getattr__(self, name: str):
        raise AssertionError(f"unexpected lookup {name}")


@pytest.mark.parametrize(("table", "op", "before", "after"), [
    ("inventory_source_item", "update",
     {"source_item_id": 5, "source_code": "default", "sku": "S-1", "quantity": Decimal("4.0000"), "status": 1},
     {"source_item_id": 5, "source_code": "default", "sku": "S-1", "quantity": Decimal("3.0000"), "status": 1}),
    ("inventory_reservation", "insert", None,
     {"reservation_id": 9, "stock_id": 1, "sku": "S-1", "quantity": Decimal("-1.0000"),
      "metadata": json.dumps({"event_type": "order_placed", "object_type": "order", "object_id": "12",
                              "object_increment_id": "000000012"})}),
])
def test_what_the_listener_writes_parses_as_the_envelope(table: str, op: str, before, after) -> None:
    drafts = translate(table, op, before, after, _NoLookups())
    assert drafts, "the row is one the listener publishes"
    for sub, draft in enumerate(drafts):
        eid = event_id("0-1-77", 3, sub)
        raw = encode_change_event(eid, draft.family, draft.type, draft.op, draft.key, draft.sku, draft.order_id,
                                  draft.entity, draft.before, draft.after, draft.reservation,
                                  {**SOURCE, "table": table}, datetime(2026, 12, 1, tzinfo=UTC))
        event = ChangeEvent.model_validate_json(raw)
        assert event.event_id == eid and event.key == draft.key and event.family == draft.family
        assert set(json.loads(raw)) == set(ChangeEvent.model_fields)
        if draft.reservation is not None:
            assert event.reservation == ReservationMetadata(event_type="order_placed", object_type="order",
                                                            object_id="12", object_increment_id="000000012")


@pytest.mark.parametrize("txn", ["0-1-77", "4207:binlog.000003:4711", "3e11fa47-71ca-11e1-9e33-c80aa9429562:23"])
def test_event_ids_round_trip(txn: str) -> None:
    parts = parse_event_id(event_id(txn, 12, 2))
    assert parts is not None and (parts.txn, parts.ordinal, parts.sub) == (txn, 12, 2)


@pytest.mark.parametrize("value", ["", "abc", "0-1-77/x/1", "/1/2", "0-1-77/1"])
def test_what_is_not_an_event_id_is_refused(value: str) -> None:
    assert parse_event_id(value) is None


def test_polled_documents_keep_their_wire_shape() -> None:
    envelope = PolledDocument.wrap("walmart_returns", "return", "R-1", 1234, {"returnOrderId": "R-1"})
    wire = json.loads(envelope.to_json())
    assert wire == {"schema_version": 1, "family": "walmart_returns", "type": "return", "key": "R-1",
                    "polled_at": 1234, "return": {"returnOrderId": "R-1"}}
    assert PolledDocument.model_validate(wire).document == {"returnOrderId": "R-1"}
