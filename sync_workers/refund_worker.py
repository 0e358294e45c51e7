"""`walmart-sync work refund`: refund on Walmart what Commerce credit memos refunded.

Refund events name Commerce orders. For Walmart ones the worker totals the order's credit memos
per order item, reads the Walmart order, and lets mappings/refunds.py decide what is still owed:
refunds (product, tax, shipping) for quantity Commerce shipped, cancellations for quantity it
refunded without shipping. Being state-based, a replay after a crash refunds nothing twice.

A refund of shipped quantity whose shipment has not reached Walmart yet (the shipment worker is
behind, or retrying) is retried later rather than refused: Walmart would reject it now and
accept it in a few seconds. Credit memos of Walmart returns are refunded through the returns API
by the return importer and skipped here.
"""

from __future__ import annotations

from typing import Any

from mappings.refunds import CreditedItem, WalmartLine, plan_refund
from sync_workers.consumer import TransientError
from sync_workers.order_map import MappedOrder
from sync_workers.order_worker import OrderWorker
from sync_workers.walmart.orders import CancelLine, RefundLine, WalmartOrder

class RefundWorker(OrderWorker):
    name = "refund"
    families = ("refund",)
    action = "refund"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.refunded_lines = 0
        self.cancelled_lines = 0

    def _credited(self, order: MappedOrder) -> tuple[list[CreditedItem], float]:
        excluded = self.orders.return_creditmemos(order.purchase_order_id)
        skip = f" AND c.entity_id NOT IN ({', '.join(str(int(i)) for i in excluded)})" if excluded else ""
        with self.commerce.cursor() as cur:
            cur.execute("SELECT item_id, qty_shipped, qty_canceled FROM sales_order_item WHERE order_id = %s",
                        (order.commerce_order_id,))
            order_items = {int(i): (int(s or 0), int(c or 0)) for i, s, c in cur.fetchall()}
            cur.execute("SELECT ci.order_item_id, SUM(ci.qty), SUM(COALESCE(ci.row_total, 0) - "
                        "COALESCE(ci.discount_amount, 0)), SUM(COALESCE(ci.tax_amount, 0)) "
                        "FROM sales_creditmemo_item ci JOIN sales_creditmemo c ON c.entity_id = ci.parent_id "
                        f"WHERE c.order_id = %s{skip} GROUP BY ci.order_item_id", (order.commerce_order_id,))
            memo_items = {int(i): (int(q or 0), float(a or 0), float(t or 0)) for i, q, a, t in cur.fetchall()}
            cur.execute(f"SELECT COALESCE(SUM(c.shipping_amount), 0) FROM sales_creditmemo c "
                        f"WHERE c.order_id = %s{skip}", (order.commerce_order_id,))
            shipping = float(cur.fetchone()[0] or 0)
        items = []
        for item_id, line_number in order.lines.items():
            shipped, canceled = order_items.get(item_id, (0, 0))
            qty, amount, tax = memo_items.get(item_id, (0, 0.0, 0.0))
            items.append(CreditedItem(line_number, shipped, canceled, qty, amount, tax))
        return items, shipping

    @staticmethod
    def _walmart_lines(walmart: WalmartOrder) -> dict[str, WalmartLine]:
        return {line.lineNumber: WalmartLine(
            line_number=line.lineNumber, quantity=int(line.orderLineQuantity.amount),
            shipped=line.quantity("Shipped", "Delivered"), cancelled=line.quantity("Cancelled"),
            open=line.quantity("Created", "Acknowledged"), refunded_product=line.refunded("PRODUCT"),
            refunded_tax=line.refunded_tax(), refunded_shipping=line.refunded("SHIPPING"),
            shipping_charged=line.charged("SHIPPING")) for line in walmart.orderLines.orderLine}

    def reconcile(self, order: MappedOrder) -> None:
        items, shipping = self._credited(order)
        if not any(item.refunded_qty for item in items) and not shipping:
            return
        walmart = self.client.orders.get(order.purchase_order_id)
        plan = plan_refund(items, self._walmart_lines(walmart), shipping)
        reason = self.settings.mapping.refund_reason
        if plan.cancels:
            self.client.orders.cancel(order.purchase_order_id, [
                CancelLine(line, quantity, self.settings.mapping.cancel_reason) for line, quantity in plan.cancels])
            self.cancelled_lines += len(plan.cancels)
            self.log.info("refunded before shipping: cancelled on Walmart", po=order.purchase_order_id,
                          lines=len(plan.cancels))
        if plan.refunds:
            self.client.orders.refund(order.purchase_order_id, [
                RefundLine(r.line_number, r.product, reason, f"Commerce credit memo, order "
                           f"{order.commerce_increment_id or order.commerce_order_id}", r.tax, r.shipping)
                for r in plan.refunds])
            self.refunded_lines += len(plan.refunds)
            self.log.info("refund reported", po=order.purchase_order_id, lines=len(plan.refunds),
                          amount=round(sum(r.product + r.tax + r.shipping for r in plan.refunds), 2))
        if plan.waiting:
            raise TransientError(f"PO {order.purchase_order_id} lines {', '.join(plan.waiting)}: refunded "
                                 "quantity is shipped in Commerce but not yet on Walmart; retrying")
