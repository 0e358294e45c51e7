"""Shipments end to end: Commerce shipment rows -> listener -> worker -> Walmart emulator."""

from __future__ import annotations

import time

import pytest

from sync_workers.push.shipment import ShipmentWorker
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import (
    create_order,
    emulator_state,
    replay_through_fresh_group,
    wait_for,
    worker_pipeline,
)


@pytest.fixture
def pipeline(stack, tmp_path):
    with worker_pipeline(stack, tmp_path, "open_source", "shipment", 20,
                         [f"WS-{n:06d}" for n in range(1, 21)]) as running:
        yield running


def walmart_lines(emulator, po: str) -> dict:
    return emulator_state(emulator)["orders"][po]


def shipping_calls(emulator) -> int:
    return emulator_state(emulator)["calls"].get("order_shipping", 0)


def ship(cur, order_id: int, items: dict[int, int], track: tuple[str, str, str] | None) -> int:
    cur.execute("INSERT INTO sales_shipment (order_id, store_id, total_qty) VALUES (%s, 2, %s)",
                (order_id, sum(items.values())))
    shipment_id = cur.lastrowid
    for item_id, qty in items.items():
        cur.execute("INSERT INTO sales_shipment_item (parent_id, order_item_id, qty) VALUES (%s, %s, %s)",
                    (shipment_id, item_id, qty))
    if track:
        add_track(cur, order_id, shipment_id, track)
    return shipment_id


def add_track(cur, order_id: int, shipment_id: int, track: tuple[str, str, str]) -> None:
    cur.execute("INSERT INTO sales_shipment_track (parent_id, order_id, track_number, carrier_code, title) "
                "VALUES (%s, %s, %s, %s, %s)", (shipment_id, order_id, *track))


def test_partial_shipments_late_tracks_and_replays(pipeline) -> None:
    env, settings, emulator, app, loop = pipeline
    walmart = app.create_order("local-client", [{"sku": "WS-000006", "quantity": 2, "unitPrice": 10},
                                                {"sku": "WS-000007", "quantity": 1, "unitPrice": 20}])
    po = walmart.purchase_order_id
    with env.admin_connection() as conn, conn.cursor() as cur:
        order_id, items = create_order(cur, "2000000042", ["WS-000006", "WS-000007"])
        other_order, other_items = create_order(cur, "000000099", ["WS-000008"])  # not from Walmart
    OrderMap(connect_state(settings)).record(po, walmart.customer_order_id, order_id, "2000000042",
                                             [("1", items[0], "WS-000006", 2), ("2", items[1], "WS-000007", 1)])
    with env.admin_connection() as conn, conn.cursor() as cur:
        first = ship(cur, order_id, {items[0]: 1}, track=None)  # no tracking yet: nothing to report
        ship(cur, other_order, {other_items[0]: 2}, track=("1Z000", "ups", "UPS"))
        batches = loop.batches
        wait_for(lambda: loop.batches > batches, 15, "the worker to take the shipments")
        time.sleep(0.5)
        assert walmart_lines(emulator, po) == {"1": {"Created": 2}, "2": {"Created": 1}}
        assert shipping_calls(emulator) == 0

        add_track(cur, order_id, first, ("1Z999AA10123456784", "ups", "United Parcel Service"))
        wait_for(lambda: walmart_lines(emulator, po)["1"] == {"Created": 1, "Shipped": 1}, 20, "line 1 shipped")
        ship(cur, order_id, {items[0]: 1, items[1]: 1}, track=("AF-77", "custom", "Acme Freight"))
        wait_for(lambda: walmart_lines(emulator, po) == {"1": {"Shipped": 2}, "2": {"Shipped": 1}}, 20,
                 "both lines shipped")
    order = app.seller("local-client").orders[po]
    trackings = [s.tracking for line in order.lines for s in line.statuses]
    carriers = sorted(str(t["carrierName"]) for t in trackings)
    # line 1: one unit by UPS, one by Acme Freight; line 2: one unit by Acme Freight
    assert carriers == ["{'carrier': 'UPS'}", "{'otherCarrier': 'Acme Freight'}", "{'otherCarrier': 'Acme Freight'}"]
    other = next(t for t in trackings if "otherCarrier" in t["carrierName"])
    assert other["trackingURL"].endswith("AF-77") and other["trackingNumber"] == "AF-77"
    calls = shipping_calls(emulator)

    # A crash after Walmart's update but before the commit means the events come again: a fresh
    # consumer group replays every shipment event, and nothing is shipped twice.
    replay_through_fresh_group(settings, ShipmentWorker)
    assert shipping_calls(emulator) == calls
    assert walmart_lines(emulator, po) == {"1": {"Shipped": 2}, "2": {"Shipped": 1}}
