"""Cancellations end to end: Commerce cancels -> listener -> worker -> Walmart emulator."""

from __future__ import annotations

import time

import pytest

from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import create_order, emulator_state, wait_for, worker_pipeline


@pytest.fixture
def pipeline(stack, tmp_path):
    with worker_pipeline(stack, tmp_path, "open_source", "cancellation", 20,
                         [f"WS-{n:06d}" for n in range(1, 21)]) as running:
        yield running


def lines(emulator, po: str) -> dict:
    return emulator_state(emulator)["orders"][po]


def calls(emulator) -> int:
    return emulator_state(emulator)["calls"].get("order_cancel", 0)


def test_partial_then_full_cancellation_once(pipeline) -> None:
    env, settings, emulator, app, loop = pipeline
    walmart = app.create_order("local-client", [{"sku": "WS-000003", "quantity": 2},
                                                {"sku": "WS-000004", "quantity": 1},
                                                {"sku": "WS-000005", "quantity": 1}])
    po = walmart.purchase_order_id
    walmart.lines[2].statuses[0].status = "Shipped"  # line 3 already shipped on Walmart
    with env.admin_connection() as conn, conn.cursor() as cur:
        order_id, items = create_order(cur, "2000000077", ["WS-000003", "WS-000004", "WS-000005"])
    OrderMap(connect_state(settings)).record(po, walmart.customer_order_id, order_id, "2000000077",
                                             [("1", items[0], "WS-000003", 2), ("2", items[1], "WS-000004", 1),
                                              ("3", items[2], "WS-000005", 1)])
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE sales_order_item SET qty_canceled = 1 WHERE item_id = %s", (items[0],))
        wait_for(lambda: lines(emulator, po)["1"] == {"Created": 1, "Cancelled": 1}, 20, "a partial cancel")
        assert app.seller("local-client").orders[po].lines[0].statuses[-1].cancellation_reason == \
            "SELLER_CANCEL_OUT_OF_STOCK"
        cur.execute("UPDATE sales_order_item SET qty_canceled = qty_ordered WHERE order_id = %s", (order_id,))
        cur.execute("UPDATE sales_order SET state = 'canceled', status = 'canceled' WHERE entity_id = %s",
                    (order_id,))
        wait_for(lambda: lines(emulator, po) == {"1": {"Cancelled": 2}, "2": {"Cancelled": 1},
                                                 "3": {"Shipped": 1}}, 20, "the whole order cancelled")
    made = calls(emulator)
    batches = loop.batches
    with env.admin_connection() as conn, conn.cursor() as cur:  # another change to the same order
        cur.execute("UPDATE sales_order_item SET qty_canceled = qty_canceled + 0.0001 WHERE item_id = %s",
                    (items[1],))
    wait_for(lambda: loop.batches > batches, 20, "the worker to see the extra event")
    time.sleep(0.5)
    assert calls(emulator) == made  # nothing cancelled twice; shipped quantity never cancelled
