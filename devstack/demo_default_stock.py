"""The demo's second pass: a single-source merchant on Magento's default stock (issue 16).

The main pass sells website walmart_us from stock 2 (two warehouses, two Walmart ship nodes). Most
single-warehouse stores never create a stock: their website ``base`` sells from the default stock 1,
whose one source is ``default``, and Magento keeps the legacy ``cataloginventory_stock_item`` and
the stock index ``cataloginventory_stock_status`` (the view ``inventory_stock_1`` reads it) in step
with that source. This pass runs a second walmart-sync deployment for that merchant beside the
first, as an operator would deploy one per Walmart seller account: its own least-privilege user and
state store, its own topics, a second seller account on the same Walmart emulator, and a config for
website base / store 1 / stock 1. Eight products Walmart's catalogue has for that seller, a recount
of the default source and a product disabled for all store views, then the agreement check.

The SKUs are ones the main pass does not list (every 7th product is missing from the main seller's
catalogue), so neither deployment's changes touch what the other one is judged on.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pymysql

from devstack.agreement import Check, check_inventory_and_price
from devstack.commerce_db import grant_sidecar_user
from devstack.oracles.msi import expected_walmart_quantity, salable_quantities

CLIENT = "base-client"
USER = "walmart_sync_base"
SKUS = [f"WS-{n:06d}" for n in range(7, 57, 7)]  # WS-000007 ... WS-000056: not on the main seller's account
RECOUNTED, DISABLED = SKUS[0], SKUS[1]
STATUS_DISABLED = 2  # Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Status::STATUS_DISABLED


@dataclass
class Row:
    sku: str
    change: str
    commerce: int
    walmart: int | None
    seconds: float | None


class DefaultStockPass:
    def __init__(self, env: Any, walmart: Any, walmart_url: str, rate_limits: dict[str, Any],
                 say: Callable[[str], None], timeout_s: float = 60.0):
        self.env, self.walmart, self.say, self.timeout_s = env, walmart, say, timeout_s
        secret = secrets.token_urlsafe(18)
        walmart.credentials[CLIENT] = secret
        walmart.seed_items(CLIENT, SKUS)  # the merchant's existing listings (set up long ago: prices taken)
        password = secrets.token_urlsafe(18)
        sidecar = grant_sidecar_user(env.endpoints.mysql, USER, password, env.commerce_db, f"{env.commerce_db}_base_sync")
        self.settings = env.settings(
            # a replica of the same server beside the first deployment's listener: its own server id
            # (MariaDB refuses or drops a second replica with the same one)
            commerce_db={"user": USER, "password": password, "server_id": 4208},
            state_store={"dsn": f"mysql://{USER}:{password}@{sidecar.host}:{sidecar.port}/{env.commerce_db}_base_sync"},
            kafka={"topic_prefix": f"walmart-sync-{env.commerce_db}-base"},
            walmart={"base_url": walmart_url, "client_id": CLIENT, "client_secret": secret, "rate_limits": rate_limits},
            mapping={"website_code": "base", "website_id": 1, "store_id": 1, "stock_id": 1},
            workers={"push_skus": SKUS, "coalesce_ms": 100, "feed_poll_s": 0.5},
            cdc={"checkpoint_interval_ms": 200})
        self.seller = walmart.seller(CLIENT)
        self.linked = "row_id" if env.edition == "adobe_commerce" else "entity_id"

    # Commerce, as Magento writes it ----------------------------------------------------------------
    def _recount(self, sku: str, quantity: int) -> None:
        """A source item save on the default source: MSI's ``SetDataToLegacyCatalogInventory``
        (InventoryCatalog\\Model\\SourceItemsSaveSynchronization) copies it to the legacy stock item
        (``SetDataToLegacyStockItem``) and the stock index row (``SetDataToLegacyStockStatus``), in
        the same transaction."""
        in_stock = int(quantity > 0)
        with self.env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
            cur.execute("UPDATE inventory_source_item SET quantity = %s, status = %s WHERE source_code = 'default' "
                        "AND sku = %s", (quantity, in_stock, sku))
            cur.execute("UPDATE cataloginventory_stock_item i JOIN catalog_product_entity p ON p.entity_id = i.product_id "
                        "SET i.qty = %s, i.is_in_stock = %s WHERE p.sku = %s AND i.stock_id = 1 AND i.website_id = 0",
                        (quantity, in_stock, sku))
            cur.execute("UPDATE cataloginventory_stock_status s JOIN catalog_product_entity p "
                        "ON p.entity_id = s.product_id SET s.qty = %s, s.stock_status = %s "
                        "WHERE p.sku = %s AND s.stock_id = 1", (quantity, in_stock, sku))
            conn.commit()

    def _disable(self, sku: str) -> None:
        """Enable Product = No for all store views (the status row of store 0); the stock indexer on
        save (``CatalogInventory\\Model\\Indexer\\Stock\\Action\\Row``) deletes the product's index row
        and, its select (``DefaultStock::_getStockStatusSelect``) taking enabled products only,
        writes none back."""
        status = self.env.seed.attribute_ids["status"]
        with self.env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
            cur.execute(f"UPDATE catalog_product_entity_int v JOIN catalog_product_entity p ON p.{self.linked} = "
                        f"v.{self.linked} SET v.value = %s WHERE v.attribute_id = %s AND v.store_id = 0 AND p.sku = %s",
                        (STATUS_DISABLED, status, sku))
            cur.execute("DELETE s FROM cataloginventory_stock_status s JOIN catalog_product_entity p "
                        "ON p.entity_id = s.product_id WHERE p.sku = %s AND s.stock_id = 1", (sku,))
            conn.commit()

    # what Walmart should show, by the oracle ---------------------------------------------------------
    def expected(self, sku: str) -> int:
        mapping = self.settings.mapping
        with self.env.admin_connection() as conn:
            found = salable_quantities(conn, [sku], mapping.stock_id, mapping.msi_enabled, store_id=mapping.store_id,
                                       website_id=mapping.website_id)[sku]
        return expected_walmart_quantity(found, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity)

    def walmart_quantity(self, sku: str) -> int | None:
        self.walmart._complete_due_feeds(self.seller)
        return self.seller.inventory.get((sku, "default"))

    def _wait(self, done: Callable[[], bool]) -> float | None:
        started = time.monotonic()
        while time.monotonic() - started < self.timeout_s:
            if done():
                return time.monotonic() - started
            time.sleep(0.02)
        return None

    def _checks(self) -> tuple[Check, Check]:
        with self.env.admin_connection() as commerce:
            return check_inventory_and_price(self.settings, self.walmart, CLIENT, commerce, SKUS)

    # the pass ----------------------------------------------------------------------------------------
    def run(self) -> list[Check]:
        from cdc_listener.listener import Listener
        from cdc_listener.metrics import ListenerMetrics
        from walmart_sync.components import build_components
        from walmart_sync.supervisor import Component, Supervisor, listener_ready

        say = self.say
        started = time.monotonic()
        say(f"default stock: a single-source merchant (website base, stock 1, source default) with its own "
            f"walmart-sync and Walmart seller account ({CLIENT}, {len(SKUS)} listings)")
        # a deployment of its own: its metrics are its own too (this process already serves the first one's)
        listener = Listener(self.settings, None, ListenerMetrics())
        capture = Supervisor([Component("listener", listener.run, listener.stop, lambda: listener_ready(listener))])
        workers = Supervisor(build_components(self.settings, ["inventory", "price"]))
        components = [*capture.components, *workers.components]
        capture.start()
        try:
            # the listener's first start asks for a full comparison (cdc_checkpoint.resync_due); workers
            # started after it take that at their first tick instead of at their next look 30 s on
            self._wait(self._resync_asked)
            workers.start()
            if self._wait(lambda: all(c.ready()[0] for c in components)) is None:
                say("  not every component became ready: " + ", ".join(
                    f"{c.name} ({c.ready()[1]})" for c in components if not c.ready()[0]))
                return [Check("default stock", lost=["the second deployment did not start"])]
            first = self._wait(lambda: all(c.ok for c in self._checks()))
            say(f"  listener, inventory and price workers ready after {time.monotonic() - started:.1f} s; the first "
                f"full comparison put "
                f"stock 1's salable quantity and the price of every listing on Walmart "
                + (f"{first:.1f} s later" if first is not None else f"NOT within {self.timeout_s:.0f} s"))
            rows = [self._step(RECOUNTED, "default source recounted to 7", lambda: self._recount(RECOUNTED, 7)),
                    self._step(DISABLED, "disabled for all store views", lambda: self._disable(DISABLED))]
            say(f"  {'SKU':<10} {'Commerce change':<32} {'stock 1 salable':>15} {'Walmart':>8} {'after':>8}")
            for row in rows:
                after = f"{row.seconds:.2f} s" if row.seconds is not None else "NOT"
                say(f"  {row.sku:<10} {row.change:<32} {row.commerce:>15} {str(row.walmart):>8} {after:>8}")
            checks = [*self._converged()]
            for check in checks:
                say(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<12} {check.describe()}")
            agree = all(c.ok for c in checks) and all(r.seconds is not None for r in rows)
            say(("AGREE (default stock)" if agree else "DISAGREE (default stock)")
                + f": the second pass took {time.monotonic() - started:.1f} s")
            return checks if all(r.seconds is not None for r in rows) else [
                *checks, Check("default stock", lost=[r.change for r in rows if r.seconds is None])]
        finally:
            for supervisor in (workers, capture):
                supervisor.stop()
                supervisor.wait(30)

    def _resync_asked(self) -> bool:
        try:
            with self.env.admin_connection() as conn, conn.cursor() as cur:
                cur.execute(f"SELECT COUNT(*) FROM `{self.env.commerce_db}_base_sync`.cdc_checkpoint WHERE resync_due = 1")
                return bool(cur.fetchone()[0])
        except pymysql.err.ProgrammingError:  # no such table yet: it appears with the listener's first start
            return False

    def _step(self, sku: str, change: str, act: Callable[[], None]) -> Row:
        started = time.monotonic()
        act()
        want = self.expected(sku)
        took = self._wait(lambda: self.walmart_quantity(sku) == want)
        seconds = None if took is None else time.monotonic() - started
        return Row(sku, change, want, self.walmart_quantity(sku), seconds)

    def _converged(self, timeout_s: float = 30.0) -> tuple[Check, Check]:
        deadline = time.monotonic() + timeout_s
        while True:
            checks = self._checks()
            if all(c.ok for c in checks) or time.monotonic() > deadline:
                return checks
            time.sleep(0.3)
