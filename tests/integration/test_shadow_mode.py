"""Shadow mode on the real stack, then live: Commerce (MariaDB, binlog), the listener, Kafka, the
inventory and price workers, the order poller and importer, the reconciler, the Walmart emulator and
the Commerce REST emulator, one small catalogue (20 products).

In shadow mode a stock change, a price change and a Walmart order reach no Walmart write at all:
the emulator counts, on arrival, every request to an endpoint that changes the account
(``writes_received``, its own list), and it stays empty; no Commerce order is placed. The report
(`walmart-sync shadow report --json`, and the status page's section) lists the quantity and the
price the sidecar would send, what Walmart shows instead (read back by the reconciler), an item
Walmart took off the site, and the PO it would import. Flipping ``walmart.mode`` to live then sends
them: the values reach Walmart, the PO nobody took is imported and acknowledged, and a PO the "old
integration" acknowledged meanwhile is left to it (one Commerce order per PO).

Expected values are worked out by hand: MSI's rule (stock 2 = wh_east + wh_west, in-stock quantities
at enabled sources: Magento\\InventoryIndexer\\Indexer\\Stock\\IndexStructure's source items) gives
5; the price is the one set.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.shadow import ShadowLedger
from sync_workers.stores.value_state import connect_state
from tests.integration.test_inventory_worker import set_source
from tests.integration.test_price_worker import set_value
from tests.support.cdc_helpers import wait_for
from tests.support.order_helpers import order_pipeline, state_of

SKU, UNPUBLISHED, ORDERED = "WS-000003", "WS-000007", "WS-000006"
REASON = "Reasonable Price Not Satisfied"


def held(settings, kind: str, key: str) -> str | None:
    entries = {e.key: e for e in ShadowLedger(connect_state(settings)).entries(kind)}
    return entries[key].value if key in entries else None


def commerce_orders(env, po: str) -> int:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM sales_order WHERE ext_order_id = %s", (po,))
        return int(cur.fetchone()[0])


def report_json(env, settings) -> dict:
    """`walmart-sync shadow report --json`, run as the merchant runs it."""
    walmart = settings.walmart
    done = subprocess.run(
        [sys.executable, "-m", "walmart_sync.cli", "--config", str(env.config_path), "--log-level", "error",
         "--set", f"walmart.base_url={walmart.base_url}", "--set", "walmart.client_id=local-client",
         "--set", f"walmart.mode={walmart.mode}", "shadow", "report", "--json"],
        capture_output=True, text=True, timeout=60, env={**os.environ, "WALMART_SYNC_WALMART__CLIENT_SECRET": "local-secret"})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_shadow_mode_sends_nothing_reports_the_differences_and_live_sends_them(stack, tmp_path) -> None:
    from operations.status_page import StatusSource, render
    from walmart_sync.components import build_checker, build_poller, build_worker

    with order_pipeline(stack, tmp_path, workers=("order_import", "inventory", "price"), listener=True,
                        worker_settings={"feed_poll_s": 0.2}, walmart={"mode": "shadow"}) as \
            (env, settings, walmart, _merchant, runners):
        seller = walmart.seller("local-client")
        with walmart._lock:
            seller.inventory[(SKU, "default")] = 42  # what Walmart shows today (the old integration's doing)
        walmart.unpublish("local-client", UNPUBLISHED, [REASON])
        with env.admin_connection() as conn, conn.cursor() as cur:
            set_source(cur, SKU, "wh_east", 5, 1)
            set_source(cur, SKU, "wh_west", 3, 0)  # out of stock there: does not count
            set_value(cur, env, "decimal", "price", SKU, "24.99")
        order = walmart.create_order("local-client", [{"sku": ORDERED, "quantity": 1}])
        taken = walmart.create_order("local-client", [{"sku": ORDERED, "quantity": 2}])

        wait_for(lambda: held(settings, "quantity", SKU) == "5", 60, "the quantity shadow mode would send")
        wait_for(lambda: held(settings, "price", SKU) == "24.99", 60, "the price shadow mode would send")
        wait_for(lambda: held(settings, "order_import", order.purchase_order_id)
                 and held(settings, "order_import", taken.purchase_order_id), 60, "the POs it would import")

        reconciler = build_checker("reconciler", settings)
        wait_for(lambda: reconciler.reconcile_slice() is not None and reconciler.cycles >= 1, 60,
                 "the reconciler to read the whole catalogue back")

        # nothing reached Walmart, nothing became a Commerce order
        assert sum(walmart.writes_received.values()) == 0, walmart.writes_received
        assert seller.inventory[(SKU, "default")] == 42
        assert seller.items[SKU]["price"]["amount"] == 10.0
        assert all(s.status == "Created" for o in (order, taken) for line in o.lines for s in line.statuses)
        assert commerce_orders(env, order.purchase_order_id) == 0
        assert state_of(settings, order.purchase_order_id) is None

        report = report_json(env, settings)
        rows = {row["sku"]: row for row in report["skus"]}
        row = rows[SKU]
        assert row["would_send"]["quantity"]["value"] == "5" and row["walmart"]["quantity"] == "42"
        assert row["would_send"]["price"]["value"] == "24.99" and row["walmart"]["price"] == "10.00"
        assert row["would_send"]["quantity"]["latency_ms"] is not None  # from the binlog commit to the would-send
        assert rows[UNPUBLISHED]["published"] == "UNPUBLISHED"
        assert any(REASON in reason for reason in rows[UNPUBLISHED]["differences"])
        orders = {o["key"]: o for o in report["orders"]}
        assert set(orders[order.purchase_order_id]["would"]) == {"order_import", "acknowledge"}
        assert orders[order.purchase_order_id]["would"]["order_import"]["latency_ms"] >= 0
        assert report["summary"]["quantity"]["held_back"] >= 1 and report["walmart_read_back"].startswith("whole")

        from operations.sku_lookup import look_up_sku
        from plumbing.db import connect_commerce
        looked = look_up_sku(settings, SKU, connect_commerce(settings), connect_state(settings), None)
        assert looked.findings[0].startswith("shadow mode") and looked.withheld["quantity"].startswith("5 ")
        assert looked.withheld["price"].startswith("24.99 ")

        page = render(StatusSource(settings).data())
        assert 'id="shadow-mode"' in page and f'data-shadow-sku="{SKU}"' in page
        assert f'data-shadow-order="{order.purchase_order_id}"' in page

        # the old integration (still running in a trial) takes one PO before the switch
        with walmart._lock:
            for line in walmart.seller("local-client").orders[taken.purchase_order_id].lines:
                line.statuses[0].status = "Acknowledged"

        # live: one setting
        for runner in runners:
            runner.stop()
        live = settings.model_copy(update={"walmart": settings.walmart.model_copy(update={"mode": "live"})})
        live_runners = [build_poller("order_poller", live)] + [build_worker(w, live)
                                                               for w in ("order_import", "inventory", "price")]
        threads = [threading.Thread(target=r.run, daemon=True) for r in live_runners]
        for thread in threads:
            thread.start()
        try:
            wait_for(lambda: seller.inventory.get((SKU, "default")) == 5, 60, "the held-back quantity on Walmart")
            wait_for(lambda: seller.prices.get(SKU, {}).get("currentPrice", {}).get("amount") == 24.99, 60,
                     "the held-back price on Walmart")
            wait_for(lambda: (s := state_of(live, order.purchase_order_id)) and s.status == "acknowledged", 60,
                     "the PO nobody took imported and acknowledged")
            assert commerce_orders(env, order.purchase_order_id) == 1
            wait_for(lambda: (s := state_of(live, taken.purchase_order_id))
                     and s.status == "left_to_old_integration", 60, "the PO the old integration took left to it")
            assert commerce_orders(env, taken.purchase_order_id) == 0
            assert OrderMap(connect_state(live)).commerce_order_of(taken.purchase_order_id) is None
            assert walmart.writes_received["inventory_put"] + walmart.writes_received["feed_submit"] >= 1
            assert walmart.writes_received["order_acknowledge"] == 1
            released = {e.key for e in ShadowLedger(connect_state(live)).entries("quantity") if not e.pending}
            assert SKU in released
        finally:
            for runner in live_runners:
                runner.stop()
            for thread in threads:
                thread.join(30)
