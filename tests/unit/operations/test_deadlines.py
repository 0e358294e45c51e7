"""The deadline guard beyond acknowledge: time left to Walmart's estimated ship date and to its
auto-cancel (the estimated ship date + 4 calendar days, walmart-api-notes "Performance alarms"),
for every PO still open on Walmart, imported or not, on the state store's clock."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry

from devstack.walmart_emulator.app import WalmartEmulator
from operations.lag.report import LagReport, ReportBuilder
from operations.lag.sampler import publish
from plumbing.metrics import SidecarMetrics
from sync_workers.pull.order_importer import walmart_progress
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state

HOUR_MS, DAY_MS = 3_600_000, 86_400_000


def test_the_importer_reads_the_ship_by_date_and_open_units_from_walmarts_order() -> None:
    app = WalmartEmulator()
    app.seed_items("local-client", ["SKU-1"])
    order = app.create_order("local-client", [{"sku": "SKU-1", "quantity": 3}])
    document = order.to_json()
    assert walmart_progress(document) == (document["shippingInfo"]["estimatedShipDate"], 3)
    assert walmart_progress({"purchaseOrderId": "X", "shippingInfo": {"estimatedShipDate": "oops"}}) == (None, None)


def test_open_orders_near_or_past_ship_by_and_auto_cancel_are_at_risk_with_their_reason(commerce_env) -> None:
    settings = commerce_env.settings(ops={"ship_by_margin_s": 6 * 3600, "auto_cancel_margin_s": 24 * 3600})
    orders = OrderMap(connect_state(settings))
    with orders.conn.cursor() as cur:
        cur.execute("DELETE FROM walmart_order_state")
    builder = ReportBuilder(settings, orders.conn, None, reader=None)  # type: ignore[arg-type]
    now = int(time.time() * 1000)
    # refused for an unknown SKU: Walmart's clock runs; ship by in 2 h (inside the 6 h margin)
    orders.set_state("PO-REFUSED", "failed_unknown_sku", error="line 1: SKU NOPE is not in Commerce",
                     order_date=now - 22 * HOUR_MS)
    orders.set_walmart_progress("PO-REFUSED", now + 2 * HOUR_MS, 1)
    # imported and acknowledged, not shipped, ship-by 3.5 days ago: late, and 12 h from auto-cancel
    orders.set_state("PO-SLOW", "acknowledged", order_date=now - 5 * DAY_MS)
    orders.set_walmart_progress("PO-SLOW", now - int(3.5 * DAY_MS), 2)
    # shipped on Walmart (nothing open) or cancelled: nothing at risk whatever the dates
    orders.set_state("PO-SHIPPED", "acknowledged", order_date=now - 5 * DAY_MS)
    orders.set_walmart_progress("PO-SHIPPED", now - 3 * DAY_MS, 0)
    orders.set_state("PO-CANCELLED", "cancelled_out_of_stock", order_date=now - 5 * DAY_MS)
    orders.set_walmart_progress("PO-CANCELLED", now - 3 * DAY_MS, 1)
    # a day left to ship: not yet
    orders.set_state("PO-FINE", "acknowledged", order_date=now - HOUR_MS)
    orders.set_walmart_progress("PO-FINE", now + DAY_MS, 1)

    at_risk = {(o.purchase_order_id, o.deadline): o for o in builder.at_risk_orders()}
    assert set(at_risk) == {("PO-REFUSED", "ship_by"), ("PO-REFUSED", "acknowledge"), ("PO-SLOW", "ship_by"),
                            ("PO-SLOW", "auto_cancel")}
    refused = at_risk[("PO-REFUSED", "ship_by")]
    assert refused.state == "at_risk" and 1.9 * 3600 < refused.left_s <= 2 * 3600 + 1
    assert refused.reason == "line 1: SKU NOPE is not in Commerce"
    assert refused.due_at[-6] in "+-"  # a time with its timezone offset
    assert at_risk[("PO-SLOW", "ship_by")].state == "late"
    assert at_risk[("PO-SLOW", "auto_cancel")].state == "at_risk"
    assert 11.9 * 3600 < at_risk[("PO-SLOW", "auto_cancel")].left_s <= 12 * 3600 + 1

    ship_by, auto_cancel = builder._ship_deadlines()
    assert (ship_by.stage, ship_by.status, ship_by.over, ship_by.counts) == \
        ("deadline:ship_by", "ERR", True, {"at_risk": 1, "late": 1})
    assert ship_by.detail.startswith("1 late, 1 at risk; first PO PO-SLOW (acknowledged), 84.0 h late"), ship_by.detail
    assert (auto_cancel.status, auto_cancel.counts) == ("WARN", {"at_risk": 1, "late": 0})
    metrics = SidecarMetrics(CollectorRegistry())
    publish(LagReport(generated_at="now", window_s=1, stages=[ship_by, auto_cancel]), metrics)
    assert metrics.orders_at_deadline.labels("ship_by", "late")._value.get() == 1
    assert metrics.orders_at_deadline.labels("auto_cancel", "at_risk")._value.get() == 1

    orders.set_walmart_progress("PO-SLOW", None, 0)  # Walmart now shows it shipped
    ship_by, auto_cancel = builder._ship_deadlines()
    assert ship_by.counts == {"at_risk": 1, "late": 0} and auto_cancel.status == "OK"
    assert "not in Commerce: line 1: SKU NOPE is not in Commerce" in ship_by.detail
