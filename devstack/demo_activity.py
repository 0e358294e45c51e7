"""Scripted store activity for the demo: what a merchant's Commerce and Walmart's shoppers do, and
how long walmart-sync takes to make the other side follow.

Each step changes one side the way it really changes (rows Magento writes, the Commerce REST API
the merchant's admin calls, a Walmart order or return) and then waits for the other side to show
it, printing the time it took.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import requests

from devstack.oracles.msi import expected_walmart_quantity, salable_quantities
from devstack.oracles.prices import final_prices, regular_prices, store_timezone
from devstack.oracles.selling import price_under, quantity_under, rules_for

CLIENT = "local-client"


@dataclass
class StepResult:
    label: str
    outcome: str
    seconds: float | None  # None: it did not happen within the timeout


class StoreActivity:
    """The demo's cast: the Commerce database (rows), the merchant (Commerce REST) and Walmart
    (the emulator), and the sidecar's settings (stock, store, safety buffer). What Walmart should
    end up showing is Magento's answer (devstack/oracles), not the workers' own reading of it."""

    def __init__(self, env: Any, settings: Any, walmart: Any, commerce_url: str, token: str,
                 say: Callable[[str], None], timeout_s: float = 60.0):
        self.env = env
        self.settings = settings
        self.walmart = walmart
        self.rest = f"{commerce_url}/rest/{settings.commerce_api.store_code}/V1"
        self.headers = {"Authorization": f"Bearer {token}"}
        self.say = say
        self.timeout_s = timeout_s
        self.results: list[StepResult] = []
        self.seller = walmart.seller(CLIENT)
        self.linked = "row_id" if env.edition == "adobe_commerce" else "entity_id"

    # helpers -------------------------------------------------------------------------------------
    def _sql(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def _merchant(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(self.rest + path, json=body or {}, headers=self.headers, timeout=30)
        response.raise_for_status()
        return response.json()

    def _wait(self, label: str, started: float, done: Callable[[], Any], outcome: Callable[[Any], str]) -> Any:
        deadline = started + self.timeout_s
        while time.monotonic() < deadline:
            found = done()
            if found:
                seconds = time.monotonic() - started
                text = outcome(found)
                self.results.append(StepResult(label, text, seconds))
                self.say(f"    -> {text} after {seconds:.2f} s")
                return found
            time.sleep(0.02)
        self.results.append(StepResult(label, "did not happen", None))
        self.say(f"    -> NOT within {self.timeout_s:.0f} s")
        return None

    @property
    def nodes(self) -> dict[str, list[str] | None]:
        """Walmart ship node -> the MSI sources behind it (None: the stock's every source)."""
        workers = self.settings.workers
        return {n: list(s) for n, s in workers.ship_nodes.items()} or {workers.ship_node or "default": None}

    def rule(self, sku: str) -> dict[str, Any]:
        """The SKU's selling rule, chosen by the oracle's own code (devstack/oracles/selling.py)."""
        with self.env.admin_connection() as conn:
            return rules_for(conn, self.settings.selling.model_dump(), [sku])[sku]

    def salable(self, sku: str, node: str | None = None) -> int:
        """What Walmart should show at ``node`` (the only one when None): Magento's salable quantity
        of the node's sources, the safety buffer off, then the selling rule."""
        mapping = self.settings.mapping
        sources = self.nodes[node or next(iter(self.nodes))]
        with self.env.admin_connection() as conn:
            found = salable_quantities(conn, [sku], mapping.stock_id, mapping.msi_enabled, store_id=mapping.store_id,
                                       website_id=mapping.website_id, sources=sources)[sku]
        return quantity_under(self.rule(sku), expected_walmart_quantity(
            found, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity))

    def salable_at_nodes(self, sku: str) -> dict[str, int]:
        return {node: self.salable(sku, node) for node in self.nodes}

    def effective(self, sku: str) -> float:
        with self.env.admin_connection() as conn:
            mapping = self.settings.mapping
            price = final_prices(conn, [sku], mapping.store_id, zone=mapping.store_timezone,
                                 website_id=mapping.website_id, customer_group_id=mapping.customer_group_id)[sku]
        return float(price_under(self.rule(sku), price)) if price is not None else 0.0

    def walmart_quantity(self, sku: str, node: str | None = None) -> int | None:
        self.walmart._complete_due_feeds(self.seller)
        return self.seller.inventory.get((sku, node or next(iter(self.nodes))))

    def walmart_at_nodes(self, sku: str) -> dict[str, int | None]:
        return {node: self.walmart_quantity(sku, node) for node in self.nodes}

    def _nodes_text(self, quantities: dict[str, int]) -> str:
        if len(quantities) == 1:
            return str(next(iter(quantities.values())))
        return ", ".join(f"node {node} {qty}" for node, qty in quantities.items())

    def walmart_price(self, sku: str) -> float | None:
        return (self.seller.prices.get(sku) or {}).get("currentPrice", {}).get("amount")

    def commerce_order(self, po: str) -> tuple[int, str] | None:
        rows = self._sql("SELECT entity_id, increment_id FROM sales_order WHERE ext_order_id = %s", (po,))
        return (int(rows[0][0]), rows[0][1]) if rows else None

    def items(self, order_id: int) -> list[int]:
        return [int(r[0]) for r in self._sql("SELECT item_id FROM sales_order_item WHERE order_id = %s "
                                             "ORDER BY item_id", (order_id,))]

    def _product(self, sku: str) -> str:
        if self.linked == "row_id":
            return ("(SELECT row_id FROM catalog_product_entity WHERE sku = %s AND created_in <= UNIX_TIMESTAMP() "
                    "AND updated_in > UNIX_TIMESTAMP())")
        return "(SELECT entity_id FROM catalog_product_entity WHERE sku = %s)"

    # the steps -------------------------------------------------------------------------------------
    def stock_recount(self, sku: str, quantity: int, source: str = "wh_east") -> None:
        label = f"Commerce: warehouse recount, {sku} in {source} is now {quantity}"
        self.say(f"  {label}")
        started = time.monotonic()
        self._sql("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, 1) "
                  "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = 1", (source, sku, quantity))
        want = self.salable_at_nodes(sku)
        what = ("MSI salable quantity of the Walmart stock" if len(want) == 1 else
                "each node: MSI salable quantity of its own sources")
        self._wait(label, started, lambda: self.walmart_at_nodes(sku) == want,
                   lambda _: f"Walmart quantity of {sku} is {self._nodes_text(want)} ({what})")

    def price_change(self, sku: str, attribute: str, value: float) -> None:
        label = f"Commerce: {attribute} of {sku} set to {value}"
        self.say(f"  {label}")
        started = time.monotonic()
        attribute_id = self.env.seed.attribute_ids[attribute]
        self._sql(f"INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, {self.linked}, value) "
                  f"SELECT %s, 0, {self._product(sku)}, %s ON DUPLICATE KEY UPDATE value = VALUES(value)",
                  (attribute_id, sku, value))
        want = self.effective(sku)
        self._wait(label, started, lambda: self.walmart_price(sku) == want,
                   lambda _: f"Walmart price of {sku} is {want:.2f} (the effective price)")

    def walmart_order(self, lines: list[tuple[str, int, float]], shipping: float = 0.0,
                      ship_node: str | None = None) -> tuple[Any, int] | None:
        described = ", ".join(f"{q} x {sku}" for sku, q, _p in lines)
        order = self.walmart.create_order(CLIENT, [{"sku": sku, "quantity": q, "unitPrice": p, "shippingPrice":
                                                    shipping if n == 0 else 0.0}
                                                   for n, (sku, q, p) in enumerate(lines)],
                                          **({"ship_node": ship_node} if ship_node else {}))
        po = order.purchase_order_id
        label = f"Walmart: a shopper orders {described} (PO {po}" + (f", ship node {ship_node})" if ship_node else ")")
        self.say(f"  {label}")
        started = time.monotonic()
        found = self._wait(label, started, lambda: self.commerce_order(po) and not any(
            line.quantity_in("Created") for line in order.lines) and self.commerce_order(po),
            lambda f: f"Commerce order {f[1]} placed (stock reserved) and the PO acknowledged on Walmart")
        return (order, found[0]) if found else None

    def reservation_reaches_walmart(self, sku: str) -> None:
        label = f"  the order's reservation lowers {sku}'s salable quantity"
        self.say(label)
        started = time.monotonic()
        want = self.salable_at_nodes(sku)
        self._wait(label, started, lambda: self.walmart_at_nodes(sku) == want,
                   lambda _: f"Walmart quantity of {sku} is {self._nodes_text(want)}"
                             + (" (MSI reserves per stock: every node holds the unit back)" if len(want) > 1 else ""))

    def order_source(self, po: str) -> tuple[str | None, str | None]:
        """(ship node, MSI source) the importer gave the order (the module's marketplace order row)."""
        rows = self._sql("SELECT ship_node, source_code FROM walmart_sync_marketplace_order WHERE purchase_order_id = %s",
                         (po,))
        return (rows[0][0], rows[0][1]) if rows else (None, None)

    def ship(self, order: Any, order_id: int, source: str | None = None) -> None:
        label = (f"Commerce: the merchant invoices and ships PO {order.purchase_order_id} with UPS tracking"
                 + (f" from source {source}" if source else ""))
        self.say(f"  {label}")
        started = time.monotonic()
        self._merchant(f"/order/{order_id}/invoice", {"capture": True})
        body: dict[str, Any] = {"tracks": [{"track_number": "1Z999AA10123456784", "title": "UPS",
                                            "carrier_code": "ups"}]}
        if source:  # MSI's InventoryShipping: the source the shipment deducts
            body["arguments"] = {"extension_attributes": {"source_code": source}}
        self._merchant(f"/order/{order_id}/ship", body)
        self._wait(label, started, lambda: all(line.quantity_in("Shipped") == line.quantity for line in order.lines),
                   lambda _: "every line Shipped on Walmart with carrier UPS and the tracking number")
        if source and len(self.nodes) > 1:
            sku = order.lines[0].sku
            label = f"  the shipment deducts {source}: {sku}'s nodes show their own sources again"
            self.say(label)
            started = time.monotonic()
            want = self.salable_at_nodes(sku)
            self._wait(label, started, lambda: self.walmart_at_nodes(sku) == want,
                       lambda _: f"Walmart quantity of {sku} is {self._nodes_text(want)}")

    def promotion(self, sku: str, price: float, special: float, days: int) -> None:
        """A special price for the coming ``days`` (store's clock), with ``price.promotions``: it goes
        to Walmart as a REDUCED promotion with the regular price as its was-price."""
        label = f"Commerce: {sku} at {price:.2f} gets a special price of {special:.2f} for {days} days"
        self.say(f"  {label}")
        started = time.monotonic()
        with self.env.admin_connection() as conn:  # the store's clock judges the window (prices.py)
            zone = ZoneInfo(self.settings.mapping.store_timezone or store_timezone(conn, self.settings.mapping.store_id))
        today = datetime.now(zone).replace(tzinfo=None, hour=0, minute=0, second=0, microsecond=0)
        ids = self.env.seed.attribute_ids
        for code, table, value in (("price", "decimal", price), ("special_from_date", "datetime", today),
                                   ("special_to_date", "datetime", today + timedelta(days=days)),
                                   ("special_price", "decimal", special)):
            self._sql(f"INSERT INTO catalog_product_entity_{table} (attribute_id, store_id, {self.linked}, value) "
                      f"SELECT %s, 0, {self._product(sku)}, %s ON DUPLICATE KEY UPDATE value = VALUES(value)",
                      (ids[code], sku, value))
        regular, reduced = self.effective_regular(sku), self.effective(sku)

        def landed() -> Any:
            held = getattr(self.seller.promotions.get(sku), "promotions", [])
            if self.walmart_price(sku) == regular and held and held[0].amount == reduced:
                return held[0]
            return None

        def described(promo: Any) -> str:
            def utc(at: float) -> str:
                return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M")
            return (f"Walmart holds BASE {regular:.2f} and a {promo.price_type} promotion {promo.amount:.2f} was "
                    f"{promo.comparison:.2f} (both under the SKU's selling rule), {utc(promo.starts)} to "
                    f"{utc(promo.ends)} UTC (Walmart starts a promotion 4 h after it is sent at the soonest)")
        self._wait(label, started, landed, described)

    def effective_regular(self, sku: str) -> float:
        """Magento's price with no dated price in force, under the SKU's selling rule (Walmart's BASE)."""
        mapping = self.settings.mapping
        with self.env.admin_connection() as conn:
            price = regular_prices(conn, [sku], mapping.store_id, zone=mapping.store_timezone,
                                   website_id=mapping.website_id, customer_group_id=mapping.customer_group_id)[sku]
        return float(price_under(self.rule(sku), price)) if price is not None else 0.0

    def cancel(self, order: Any, order_id: int) -> None:
        label = f"Commerce: the merchant cancels PO {order.purchase_order_id}"
        self.say(f"  {label}")
        started = time.monotonic()
        self._merchant(f"/orders/{order_id}/cancel")
        self._wait(label, started, lambda: all(line.quantity_in("Cancelled") == line.quantity for line in order.lines),
                   lambda _: f"every line Cancelled on Walmart ({self.settings.mapping.cancel_reason})")

    def refund(self, order: Any, order_id: int, item: int, qty: int) -> None:
        label = f"Commerce: a credit memo refunds {qty} unit(s) of PO {order.purchase_order_id}"
        self.say(f"  {label}")
        started = time.monotonic()
        self._merchant(f"/order/{order_id}/refund", {"items": [{"order_item_id": item, "qty": qty}], "arguments": {
            "extension_attributes": {"return_to_stock_items": [item]}}})
        line = order.lines[0]
        self._wait(label, started, lambda: line.refunds, lambda _: "refund on Walmart: " + ", ".join(
            f"{c['charge']['chargeType']} {c['charge']['chargeAmount']['amount']}"
            for r in line.refunds for c in r["refundCharges"]["refundCharge"]))

    def customer_cancels(self, order: Any, order_id: int) -> None:
        label = f"Walmart: the shopper asks to cancel PO {order.purchase_order_id}"
        self.say(f"  {label}")
        started = time.monotonic()
        self.walmart.customer_cancel(CLIENT, order.purchase_order_id, "1")
        self._wait(label, started, lambda: order.lines[0].quantity_in("Cancelled") == order.lines[0].quantity,
                   lambda _: "Commerce order cancelled, and the cancellation confirmed to Walmart "
                             "(CUSTOMER_REQUESTED_SELLER_TO_CANCEL)")

    def walmart_return(self, order: Any, order_id: int, item: int, rma: bool) -> None:
        returned = self.walmart.create_return(CLIENT, order.purchase_order_id,
                                              [{"lineNumber": "1", "quantity": 1, "returnReason": "DEFECTIVE"}])
        rid = returned.return_order_id
        label = f"Walmart: the shopper returns 1 x {order.lines[0].sku} of PO {order.purchase_order_id} (return {rid})"
        self.say(f"  {label}")
        started = time.monotonic()
        if rma:
            self._wait(label, started, lambda: self._sql("SELECT increment_id FROM magento_rma WHERE order_id = %s",
                                                         (order_id,)),
                       lambda rows: f"Commerce RMA {rows[0][0]} authorized for the returned unit")
        else:
            self._wait(label, started, lambda: self._return_status(rid) == "recorded",
                       lambda _: "return recorded for the merchant (Open Source has no RMA module)")
        refund = f"Commerce: the merchant's credit memo refunds the returned unit (return {rid})"
        self.say(f"  {refund}")
        started = time.monotonic()
        self._merchant(f"/order/{order_id}/refund", {"items": [{"order_item_id": item, "qty": 1}], "arguments": {
            "extension_attributes": {"return_to_stock_items": [item]}}})
        line = returned.lines[0]
        self._wait(refund, started, lambda: line.refunded == 1,
                   lambda _: "Walmart return refunded through the Returns API (not the order refund)")

    def _return_status(self, return_id: str) -> str | None:
        rows = self._sql(f"SELECT status FROM `{self.env.state_db}`.walmart_return_map WHERE return_order_id = %s",
                         (return_id,))
        return rows[0][0] if rows else None
