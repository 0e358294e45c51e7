"""`walmart-sync work cancellation`: cancel on Walmart what was cancelled in Commerce.

Cancellation events name Commerce orders. For Walmart ones (the order map) the worker compares,
per PO line, the Commerce item's qty_canceled with the quantity Walmart shows Cancelled and
cancels the difference, limited to what is still open on Walmart (Created or Acknowledged):
shipped quantity cannot be cancelled and is left to refunds. A line the customer asked to cancel
(intentToCancel) uses CUSTOMER_REQUESTED_SELLER_TO_CANCEL; others ``mapping.cancel_reason``. Being
state-based, replaying the same events cancels nothing twice.
"""

from __future__ import annotations

from typing import Any

from config.components import consumed_by
from sync_workers.push.order_worker import OrderWorker
from sync_workers.stores.order_map import MappedOrder
from sync_workers.walmart.orders import CancelLine


class CancellationWorker(OrderWorker):
    name = "cancellation"
    families = consumed_by("cancellation")
    action = "cancellation"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.cancelled_lines = 0

    def reconcile(self, order: MappedOrder) -> None:
        with self.commerce.cursor() as cur:
            cur.execute("SELECT item_id, qty_canceled, qty_ordered FROM sales_order_item WHERE order_id = %s",
                        (order.commerce_order_id,))
            commerce = {int(item): (int(cancelled or 0), int(ordered or 0)) for item, cancelled, ordered in cur.fetchall()}
        walmart = self.client.orders.get(order.purchase_order_id)
        lines = []
        for item_id, line_number in order.lines.items():
            line = walmart.line(line_number)
            walmart_quantity = int(line.orderLineQuantity.amount)
            cancelled, ordered = commerce.get(item_id, (0, walmart_quantity))
            # Commerce ordered what was still open at import: the rest Walmart had already cancelled
            wanted = min(walmart_quantity, max(0, walmart_quantity - ordered) + cancelled)
            missing = wanted - line.quantity("Cancelled")
            cancellable = min(missing, line.quantity("Created", "Acknowledged"))
            if missing > cancellable:
                self.log.warning("cancelled in Commerce but already shipped on Walmart; left to refunds",
                                 po=order.purchase_order_id, line=line_number, quantity=missing - cancellable)
            if cancellable > 0:
                # intentToCancel is a string on Walmart's side: "N" is no request (it was once taken
                # for one, and Walmart refuses CUSTOMER_REQUESTED_SELLER_TO_CANCEL without it)
                reason = ("CUSTOMER_REQUESTED_SELLER_TO_CANCEL" if line.customer_asked_to_cancel
                          else self.settings.mapping.cancel_reason)
                lines.append(CancelLine(line_number, cancellable, reason))
        if lines:
            self.client.orders.cancel(order.purchase_order_id, lines, before=walmart)
            self.cancelled_lines += len(lines)
            self.log.info("cancellation reported", po=order.purchase_order_id, lines=len(lines))
