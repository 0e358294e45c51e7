"""`walmart-sync work order_import`: each Walmart purchase order becomes exactly one Commerce order.

Steps for a PO, each safe to repeat after a crash at any point:

1. Already mapped -> only make sure Walmart has the acknowledgement.
   Steps 2-4 hold a lock named after the PO in the state store: two replicas of the importer can
   handle one PO at once after a rebalance (the old owner still placing it), and the second must
   wait for the first instead of placing a cart of its own.
2. Look for an order Commerce already has for it: by ``ext_order_id`` (set right after placing),
   else by the cart recorded before placing (``sales_order.quote_id``). A crash between placing
   and recording is found here, so the order is never created twice.
3. Otherwise: a cart (recorded in ``walmart_order_state`` before anything is added), the items at
   Walmart's prices, Walmart's shipping address and charge, the offline payment method; place it.
4. Set ``ext_order_id``, record the PO <-> order and line <-> item mapping, acknowledge the PO.

5. Later polls of the PO: lines Walmart cancelled on its own and lines the customer asked to cancel
   (intentToCancel) are followed in Commerce: the order is cancelled there when nothing else of
   it is open (the cancellation worker then confirms intents to Walmart), else the merchant gets a
   comment on the order. What was acted on is recorded, so repeated polls act once.

Commerce refusing for stock cancels the Walmart lines with ``workers.out_of_stock_cancel_reason``;
an unknown SKU or a malformed order goes to the dead-letter topic; both are visible in
``walmart_order_state`` with the reason. Commerce or Walmart unavailable retries the batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from config import Settings
from config.components import consumed_by
from domain.walmart_orders import WalmartOrder
from mappings.orders import (
    CommerceItemQty,
    OrderShapeError,
    WalmartLineQty,
    walmart_order_to_cart,
    walmart_side_follow_up,
    walmart_side_signature,
)
from plumbing.db import DbConnection
from plumbing.locks import NamedLock
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from sync_workers.commerce.client import CommerceClient, CommerceClientError
from sync_workers.pull.importing import import_documents
from sync_workers.runtime.errors import NotYet, TransientError
from sync_workers.runtime.loop import DeadLetter, Record
from sync_workers.stores.order_map import OrderMap, oversized
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError
from sync_workers.walmart.orders import CancelLine

OUT_OF_STOCK = "The requested qty is not available"
# statuses of a PO whose acknowledgement is behind it
SETTLED = frozenset({"acknowledged", "past_acknowledgement", "cancelled_by_walmart", "cancelled_on_request",
                     "walmart_changes_noted"})
# statuses after which Walmart's 4-hour acknowledge clock no longer runs: acknowledged, or cancelled
# on Walmart (out of stock, nothing left open); a refused or malformed PO is not among them
ACKNOWLEDGE_SETTLED = SETTLED | {"cancelled_out_of_stock", "skipped_nothing_open"}


def walmart_progress(raw: dict[str, Any]) -> tuple[int | None, int | None]:
    """(estimatedShipDate in ms, units neither shipped, delivered nor cancelled) of a Walmart order
    document, each None where the document does not say (a malformed one)."""
    ship_by = (raw.get("shippingInfo") or {}).get("estimatedShipDate") if isinstance(raw, dict) else None
    try:
        ship_by_ms = None if ship_by is None else int(ship_by)
    except (TypeError, ValueError):
        ship_by_ms = None
    try:
        order = WalmartOrder.model_validate(raw)
    except ValidationError:
        return ship_by_ms, None
    return ship_by_ms, sum(line.quantity("Created", "Acknowledged") for line in order.orderLines.orderLine)


class OrderImporter:
    name = "order_import"
    event_fields: tuple[str, ...] | None = None  # documents are read whole
    backlog_records = 0
    families = consumed_by("order_import")
    # how long a PO another replica is importing is waited for before the batch is retried: short
    # enough to stay well inside max.poll.interval.ms, long enough for one import to finish
    place_wait_s = 5.0

    def __init__(self, settings: Settings, walmart: WalmartClient, commerce: CommerceClient, orders: OrderMap):
        self.settings = settings
        self.walmart = walmart
        self.commerce = commerce
        self.orders = orders
        self.log = get_logger("worker.order_import")
        self.imported = 0
        self.acknowledged = 0
        self.cancelled_out_of_stock = 0

    def connections(self) -> list[DbConnection]:
        return [self.orders.conn]

    def tick(self) -> None:
        pass

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        return import_documents(records, "order", "purchaseOrderId", "MALFORMED_ORDER", self._import_tracked)

    def _import_tracked(self, po: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        """The import, then Walmart's ship-by date and the units still open on Walmart recorded
        for the deadline guard (`lag`, the status page), whatever the import's outcome: Walmart's
        clock runs for a PO refused for an unknown SKU too."""
        try:
            return self._import(po, raw)
        finally:
            ship_by, open_units = walmart_progress(raw)
            try:
                self.orders.set_walmart_progress(po[:32], ship_by, open_units)
            except Exception as exc:  # the deadline view is not worth failing an import for
                self.log.warning("ship-by date not recorded", po=po, error=str(exc))

    def _import(self, po: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        """Returns (reason, code) when the order cannot be imported; raises when it is worth retrying."""
        try:
            order = WalmartOrder.model_validate(raw)
            longest_line = max((line.lineNumber for line in order.orderLines.orderLine), key=len, default="")
            too_long = oversized({"purchaseOrderId": order.purchaseOrderId, "customerOrderId": order.customerOrderId,
                                  "lineNumber": longest_line})
            if too_long:
                return (f"Walmart order {po[:40]} cannot be recorded: {', '.join(too_long)}; nothing was created "
                        "in Commerce", "FIELD_TOO_LONG")
            cart = walmart_order_to_cart(order)
        except (ValidationError, OrderShapeError) as exc:
            reason = f"malformed Walmart order {po}: {str(exc).splitlines()[0]}"
            self.orders.set_state(po, "failed_malformed", error=reason)
            return reason, "MALFORMED_ORDER"
        commerce_id = self.orders.commerce_order_of(po)
        if commerce_id is None:
            if not cart.lines:
                self.orders.set_state(po, "skipped_nothing_open", error="no open quantity on Walmart")
                return None
            with self._importing(po) as lock:
                commerce_id = self.orders.commerce_order_of(po)  # imported by another replica while we waited
                if commerce_id is None:
                    found = self._existing(po)
                    if found is None:
                        found = self._placement_in_flight(po)
                    if found is None:
                        outcome = self._create(po, order, cart, lock)
                        if outcome is None or isinstance(outcome, tuple):
                            return outcome  # cancelled for stock, or refused
                        found = outcome
                    commerce_id = int(found["entity_id"])
                    if found.get("ext_order_id") != po:
                        found = self.commerce.set_ext_order_id(commerce_id, po)
                    self._record(po, order, found)
                    self.imported += 1
                    METRICS.order_import_delay.observe(max(0.0, time.time() - order.orderDate / 1000))
                    self.log.info("order imported", po=po, commerce_order=found.get("increment_id"))
        self._acknowledge(po, order, commerce_id)
        self._follow(po, order, commerce_id)
        return None

    @contextmanager
    def _importing(self, po: str) -> Iterator[NamedLock]:
        """The PO's lock, held from looking for its Commerce order to recording it. Released when
        the connection goes, so a replica that died holding it blocks nobody; one frozen holding
        it holds the PO (and only it) until it thaws and finishes, or is killed."""
        lock = NamedLock(self.orders.conn, f"order_import.{po}")
        if not lock.try_acquire(self.place_wait_s):
            raise TransientError(f"Walmart order {po} is being imported by another replica; trying again")
        try:
            yield lock
        finally:
            lock.release()

    def _existing(self, po: str) -> dict[str, Any] | None:
        found = self.commerce.find_orders("ext_order_id", po)
        if found:
            return found[0]
        state = self.orders.state(po)
        if state is not None and state.cart_id:
            placed = self.commerce.find_orders("quote_id", state.cart_id)
            if placed:
                self.log.info("found the order placed before a crash", po=po, cart=state.cart_id)
                return placed[0]
        return None

    def _placement_in_flight(self, po: str) -> dict[str, Any] | None:
        """Never a second placement while the first may still commit.

        A placement slower than the client's timeout commits later: a retry that made a new cart
        and placed it again made duplicate Commerce orders (10 POs became 18 at 4 s before commit,
        2 s timeout). While the last placement may still be committing the PO waits (parked, its
        partition going on); after that the same cart is placed again, which Magento refuses when
        the first placement went through (the cart is no longer active) and the order is then found
        by its cart.
        """
        state = self.orders.state(po)
        if state is None or state.status != "placing" or not state.cart_id:
            return None
        settle_s = 2 * self.settings.commerce_api.request_timeout_s + 5
        age = float(state.age_s) if state.age_s is not None else settle_s
        if age < settle_s:
            raise NotYet(f"PO {po}: cart {state.cart_id} may still be committing its placement",
                         retry_after_s=max(1.0, settle_s - age))
        try:
            order_id = self.commerce.place_order(state.cart_id, self.settings.mapping.payment_method)
        except CommerceClientError:
            placed = self.commerce.find_orders("quote_id", state.cart_id)
            if placed:
                self.log.info("the earlier placement went through", po=po, cart=state.cart_id)
                return placed[0]
            return None  # the cart is gone without an order: start again
        return self.commerce.get_order(order_id)

    def _create(self, po: str, order: WalmartOrder, cart: Any, lock: NamedLock) -> dict[str, Any] | tuple[str, str] | None:
        mapping = self.settings.mapping
        cart_id = self.commerce.create_cart()
        self.orders.set_state(po, "creating", cart_id=cart_id, order_date=order.orderDate)
        step = "the shipping information"
        try:
            for line in cart.lines:
                step = f"line {line.line_number} (SKU {line.sku})"
                self.commerce.add_item(cart_id, line.sku, line.qty, line.unit_price, line.tax)
            step = "the shipping information"
            self.commerce.set_shipping(cart_id, cart.address, mapping.shipping_carrier_code,
                                       mapping.shipping_method_code, cart.shipping_amount, cart.shipping_tax)
            step = "placing the order"
            if not lock.still_held():  # the state store connection dropped: another replica may be placing it
                raise TransientError(f"lost the import lock of Walmart order {po} before placing it; trying again")
            self.orders.set_state(po, "placing", cart_id=cart_id)  # from here the order may exist
            order_id = self.commerce.place_order(cart_id, mapping.payment_method)
        except CommerceClientError as exc:
            if exc.message.startswith(OUT_OF_STOCK):
                self._out_of_stock(po, order, exc)
                return None
            code = "UNKNOWN_SKU" if exc.status == 404 else "COMMERCE_REFUSED"
            reason = f"Commerce refused Walmart order {po} at {step}: {exc.message}"
            self.orders.set_state(po, "failed_" + code.lower(), error=reason)
            return reason, code
        return self.commerce.get_order(order_id)

    def _out_of_stock(self, po: str, order: WalmartOrder, exc: CommerceClientError) -> None:
        reason = self.settings.workers.out_of_stock_cancel_reason
        lines = [CancelLine(line.lineNumber, line.quantity("Created", "Acknowledged"), reason)
                 for line in order.orderLines.orderLine if line.quantity("Created", "Acknowledged")]
        try:
            if lines:
                self.walmart.orders.cancel(po, lines)
        except WalmartClientError as refused:
            self.orders.set_state(po, "failed_cancel", error=f"out of stock; Walmart refused the cancel: {refused}")
            return None
        self.cancelled_out_of_stock += 1
        self.orders.set_state(po, "cancelled_out_of_stock", error=f"Commerce: {exc.message}")
        self.log.warning("Commerce is out of stock; cancelled on Walmart", po=po, lines=len(lines), reason=reason)
        return None

    def _record(self, po: str, order: WalmartOrder, found: dict[str, Any]) -> None:
        items = list(found.get("items") or [])
        lines = []
        for line in order.orderLines.orderLine:
            match = next((i for i in items if i.get("sku") == line.item.sku), None)
            if match is not None:
                items.remove(match)
            lines.append((line.lineNumber, int(match["item_id"]) if match else None, line.item.sku,
                          int(line.orderLineQuantity.amount)))
        self.orders.record(po, order.customerOrderId, int(found["entity_id"]), found.get("increment_id"), lines)
        self.orders.set_state(po, "created", commerce_order_id=int(found["entity_id"]))

    def _acknowledge(self, po: str, order: WalmartOrder, commerce_id: int) -> None:
        current = self.orders.state(po)
        if current is not None and current.status in SETTLED:
            return  # an older poll of the PO still saying Created
        if order.past_acknowledgement():
            # Walmart refuses the acknowledge of a PO with a unit shipped or cancelled (a customer
            # cancelling a line before the import): asking would only spend the budget on a refusal
            self.orders.set_state(po, "past_acknowledgement", commerce_order_id=commerce_id,
                                  error="not acknowledged: some units are already shipped or cancelled on Walmart, "
                                        "which then refuses an acknowledgement; the rest can still be shipped")
            self.log.info("not acknowledged: part of the PO is past acknowledgement on Walmart", po=po)
            return
        if not order.awaits_acknowledgement():
            self.orders.set_state(po, "acknowledged", commerce_order_id=commerce_id)
            return
        try:
            self.walmart.orders.acknowledge(po)
        except WalmartClientError as exc:
            self.orders.set_state(po, "created", commerce_order_id=commerce_id, error=f"acknowledge refused: {exc}")
            return
        self.acknowledged += 1
        self.orders.set_state(po, "acknowledged", commerce_order_id=commerce_id)

    def _follow(self, po: str, order: WalmartOrder, commerce_id: int) -> None:
        lines = [WalmartLineQty(l.lineNumber, int(l.orderLineQuantity.amount), l.quantity("Cancelled"),
                                l.customer_asked_to_cancel)
                 for l in order.orderLines.orderLine]
        signature = walmart_side_signature(lines)
        current = self.orders.state(po)
        if not signature or (current is not None and current.walmart_followed == signature):
            return
        found = self.commerce.get_order(commerce_id)
        mapped = self.orders.for_commerce_orders([commerce_id]).get(commerce_id)
        item_lines = mapped.lines if mapped else {}
        items = [CommerceItemQty(item_lines[int(i["item_id"])], int(i.get("qty_ordered") or 0),
                                 int(i.get("qty_shipped") or 0), int(i.get("qty_canceled") or 0),
                                 int(i.get("qty_refunded") or 0))
                 for i in found.get("items") or [] if int(i["item_id"]) in item_lines]
        follow = walmart_side_follow_up(items, lines, self.settings.workers.intent_to_cancel == "cancel")
        if follow:
            note = follow.note(po)
            cancelled = (follow.cancel_order and found.get("state") not in ("canceled", "closed", "complete")
                         and self.commerce.cancel_order(commerce_id))
            self.commerce.comment_order(commerce_id, note + (" The order was cancelled by walmart-sync."
                                                             if cancelled else ""))
            status = ("walmart_changes_noted" if not cancelled else
                      "cancelled_by_walmart" if not follow.intent_lines else "cancelled_on_request")
            self.orders.set_state(po, status, commerce_order_id=commerce_id, error=note)
            self.log.warning("Walmart-side cancellation followed in Commerce", po=po, commerce_order=commerce_id,
                             cancelled=bool(cancelled), detail=note)
        self.orders.set_followed(po, signature)
