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
from typing import Any

import requests

from devstack.oracles.msi import expected_walmart_quantity, salable_quantities
from devstack.oracles.prices import final_prices

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

    def salable(self, sku: str) -> int:
        mapping = self.settings.mapping
        with self.env.admin_connection() as conn:
            found = salable_quantities(conn, [sku], mapping.stock_id, mapping.msi_enabled,
                                       store_id=mapping.store_id, website_id=mapping.website_id)[sku]
        return expected_walmart_quantity(found, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity)

    def effective(self, sku: str) -> float:
        with self.env.admin_connection() as conn:
            mapping = self.settings.mapping
            price = final_prices(conn, [sku], mapping.store_id, zone=mapping.store_timezone,
                                 website_id=mapping.website_id, customer_group_id=mapping.customer_group_id)[sku]
        return float(price) if price is not None else 0.0

    def walmart_quantity(self, sku: str) -> int | None:
        self.walmart._complete_due_feeds(self.seller)
        return self.seller.inventory.get((sku, "default"))

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
    def stock_recount(self, sku: str, quantity: int) -> None:
        label = f"Commerce: warehouse recount, {sku} in wh_east is now {quantity}"
        self.say(f"  {label}")
        started = time.monotonic()
        self._sql("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES ('wh_east', %s, %s, 1) "
                  "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = 1", (sku, quantity))
        want = self.salable(sku)
        self._wait(label, started, lambda: self.walmart_quantity(sku) == want,
                   lambda _: f"Walmart quantity of {sku} is {want} (MSI salable quantity of the Walmart stock)")

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

    def walmart_order(self, lines: list[tuple[str, int, float]], shipping: float = 0.0) -> tuple[Any, int] | None:
        described = ", ".join(f"{q} x {sku}" for sku, q, _p in lines)
        order = self.walmart.create_order(CLIENT, [{"sku": sku, "quantity": q, "unitPrice": p, "shippingPrice":
                                                    shipping if n == 0 else 0.0}
                                                   for n, (sku, q, p) in enumerate(lines)])
        po = order.purchase_order_id
        label = f"Walmart: a shopper orders {described} (PO {po})"
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
        want = self.salable(sku)
        self._wait(label, started, lambda: self.walmart_quantity(sku) == want,
                   lambda _: f"Walmart quantity of {sku} is {want}")

    def ship(self, order: Any, order_id: int) -> None:
        label = f"Commerce: the merchant invoices and ships PO {order.purchase_order_id} with UPS tracking"
        self.say(f"  {label}")
        started = time.monotonic()
        self._merchant(f"/order/{order_id}/invoice", {"capture": True})
        self._merchant(f"/order/{order_id}/ship", {"tracks": [{"track_number": "1Z999AA10123456784",
                                                              "title": "UPS", "carrier_code": "ups"}]})
        self._wait(label, started, lambda: all(line.quantity_in("Shipped") == line.quantity for line in order.lines),
                   lambda _: "every line Shipped on Walmart with carrier UPS and the tracking number")

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
