"""Refunds end to end: Commerce credit memos -> listener -> worker -> Walmart emulator."""

from __future__ import annotations

import pytest

from sync_workers.push.refund import RefundWorker
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
    with worker_pipeline(stack, tmp_path, "open_source", "refund", 20,
                         [f"WS-{n:06d}" for n in range(1, 21)], workers={"park_retry_s": 0.5}) as running:
        yield running


def credit_memo(cur, order_id: int, items: dict[int, tuple[int, float, float]], shipping: float = 0.0) -> int:
    """Rows as Magento writes them for a credit memo: item id -> (qty, row total, tax)."""
    cur.execute("INSERT INTO sales_creditmemo (order_id, store_id, state, shipping_amount, base_shipping_amount, "
                "grand_total) VALUES (%s, 2, 2, %s, %s, %s)",
                (order_id, shipping, shipping, shipping + sum(t + a for _, a, t in items.values())))
    memo = cur.lastrowid
    for item_id, (qty, amount, tax) in items.items():
        cur.execute("INSERT INTO sales_creditmemo_item (parent_id, order_item_id, qty, price, row_total, "
                    "tax_amount) VALUES (%s, %s, %s, %s, %s, %s)", (memo, item_id, qty, amount / qty, amount, tax))
        cur.execute("UPDATE sales_order_item SET qty_refunded = qty_refunded + %s WHERE item_id = %s",
                    (qty, item_id))
    return memo


def refunds(app, po: str) -> dict[str, list[tuple[str, float]]]:
    order = app.seller("local-client").orders[po]
    return {line.number: [(c["charge"]["chargeType"], c["charge"]["chargeAmount"]["amount"])
                          for r in line.refunds for c in r["refundCharges"]["refundCharge"]]
            for line in order.lines}


def test_credit_memos_refund_shipped_and_cancel_unshipped_once(pipeline) -> None:
    env, settings, emulator, app, loop = pipeline
    walmart = app.create_order("local-client", [
        {"sku": "WS-000003", "quantity": 2, "unitPrice": 5, "shippingPrice": 3},
        {"sku": "WS-000004", "quantity": 2, "unitPrice": 5}])
    po = walmart.purchase_order_id
    walmart.lines[0].statuses[0].status = "Shipped"  # line 1 shipped on Walmart (and in Commerce)
    with env.admin_connection() as conn, conn.cursor() as cur:
        order_id, items = create_order(cur, "2000000301", ["WS-000003", "WS-000004"])
        cur.execute("UPDATE sales_order_item SET qty_shipped = 2 WHERE item_id = %s", (items[0],))
    OrderMap(connect_state(settings)).record(po, walmart.customer_order_id, order_id, "2000000301",
                                             [("1", items[0], "WS-000003", 2), ("2", items[1], "WS-000004", 2)])
    with env.admin_connection() as conn, conn.cursor() as cur:
        credit_memo(cur, order_id, {items[0]: (1, 5.0, 0.4)}, shipping=3.0)
        wait_for(lambda: refunds(app, po)["1"], 20, "the first credit memo refunded")
        assert refunds(app, po) == {"1": [("PRODUCT", -5.0), ("SHIPPING", -3.0)], "2": []}
        line = app.seller("local-client").orders[po].lines[0]
        taxes = [c["charge"]["tax"]["taxAmount"]["amount"] for c in line.refunds[0]["refundCharges"]["refundCharge"]]
        assert taxes == [-0.4, 0.0]
        assert line.refunds[0]["refundCharges"]["refundCharge"][0]["refundReason"] == "CustomerChangedMind"

        # second memo: the other shipped unit of line 1, and one unit of line 2 that never shipped
        credit_memo(cur, order_id, {items[0]: (1, 5.0, 0.4), items[1]: (1, 5.0, 0.4)})
        wait_for(lambda: emulator_state(emulator)["orders"][po]["2"] == {"Created": 1, "Cancelled": 1}, 20,
                 "the unshipped unit cancelled")
        wait_for(lambda: len(refunds(app, po)["1"]) == 3, 20, "the second refund of line 1")
    assert refunds(app, po) == {"1": [("PRODUCT", -5.0), ("SHIPPING", -3.0), ("PRODUCT", -5.0)], "2": []}
    calls = emulator_state(emulator)["calls"]
    assert (calls.get("order_refund"), calls.get("order_cancel")) == (2, 1)

    # A crash before the offset commit means the events come again: a fresh consumer group replays
    # every refund event and Walmart gets nothing twice.
    replay_through_fresh_group(settings, RefundWorker)
    calls = emulator_state(emulator)["calls"]
    assert (calls.get("order_refund"), calls.get("order_cancel")) == (2, 1)


def test_refund_waits_for_the_shipment_then_lands(pipeline) -> None:
    env, settings, emulator, app, loop = pipeline
    walmart = app.create_order("local-client", [{"sku": "WS-000007", "quantity": 1, "unitPrice": 8}])
    po = walmart.purchase_order_id
    with env.admin_connection() as conn, conn.cursor() as cur:
        order_id, items = create_order(cur, "2000000302", ["WS-000007"])
        cur.execute("UPDATE sales_order_item SET qty_shipped = 1, qty_ordered = 1 WHERE item_id = %s", (items[0],))
    OrderMap(connect_state(settings)).record(po, walmart.customer_order_id, order_id, "2000000302",
                                             [("1", items[0], "WS-000007", 1)])
    with env.admin_connection() as conn, conn.cursor() as cur:
        credit_memo(cur, order_id, {items[0]: (1, 8.0, 0.64)})
    # parked (not retried in place): the refund partition is not held back while it waits
    wait_for(lambda: loop.parked >= 1, 20, "the worker to park the refund until Walmart has the shipment")
    assert refunds(app, po) == {"1": []}
    assert loop.retries == 0
    with connect_state(settings).cursor() as cur:
        cur.execute("SELECT reason FROM parked_records WHERE worker = 'refund'")
        assert "not yet on Walmart" in cur.fetchone()[0]
    walmart.lines[0].statuses[0].status = "Shipped"  # the shipment worker catches up
    wait_for(lambda: refunds(app, po)["1"] == [("PRODUCT", -8.0)], 30, "the refund after the shipment")
