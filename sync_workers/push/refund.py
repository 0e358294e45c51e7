"""`walmart-sync work refund`: refund on Walmart what Commerce credit memos refunded.

Refund events name Commerce orders. For Walmart ones the worker totals the order's credit memos
per order item, reads the Walmart order, and lets mappings/refunds.py decide what is still owed:
refunds (product, tax, shipping) for quantity Commerce shipped, cancellations for quantity it
refunded without shipping. Being state-based, a replay after a crash refunds nothing twice.

A refund of shipped quantity whose shipment has not reached Walmart yet (the shipment worker is
behind, or retrying) is retried later rather than refused: Walmart would reject it now and
accept it in a few seconds.

Units a Walmart customer returned (the return importer records them) are refunded through the
Returns API instead: the first time the worker sees a credit memo item it decides, once, how many
of its units refund a return (those returned and not yet covered by an earlier credit memo), and
Walmart is asked to refund those return lines; the rest of the memo goes through the order.
"""

from __future__ import annotations

from typing import Any

from config.components import consumed_by
from domain.walmart_orders import WalmartOrder
from mappings.refunds import (
    CreditedItem,
    MemoItem,
    ReturnedUnits,
    WalmartLine,
    order_share,
    plan_refund,
    return_refund_targets,
    route_to_returns,
)
from plumbing.db import scalar
from sync_workers.push.order_worker import OrderWorker
from sync_workers.runtime.errors import NotYet
from sync_workers.stores.order_map import MappedOrder
from sync_workers.stores.return_map import ReturnMap
from sync_workers.walmart.orders import CancelLine, RefundLine


class RefundWorker(OrderWorker):
    name = "refund"
    families = consumed_by("refund")
    action = "refund"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.returns = ReturnMap(self.orders.conn)
        self.refunded_lines = 0
        self.cancelled_lines = 0
        self.return_refunds = 0

    def _read_commerce(self, order: MappedOrder) -> tuple[list[MemoItem], float, dict[int, tuple[int, int, int]]]:
        """The order's credit memo items, refunded shipping, and (shipped, canceled, ordered) per order item."""
        with self.commerce.cursor() as cur:
            cur.execute("SELECT item_id, qty_shipped, qty_canceled, qty_ordered FROM sales_order_item "
                        "WHERE order_id = %s", (order.commerce_order_id,))
            order_items = {int(i): (int(s or 0), int(c or 0), int(o or 0)) for i, s, c, o in cur.fetchall()}
            cur.execute("SELECT ci.parent_id, ci.order_item_id, SUM(ci.qty), SUM(COALESCE(ci.row_total, 0) - "
                        "COALESCE(ci.discount_amount, 0)), SUM(COALESCE(ci.tax_amount, 0)) "
                        "FROM sales_creditmemo_item ci JOIN sales_creditmemo c ON c.entity_id = ci.parent_id "
                        "WHERE c.order_id = %s GROUP BY ci.parent_id, ci.order_item_id", (order.commerce_order_id,))
            memo_items = [MemoItem(int(m), int(i), int(q or 0), float(a or 0), float(t or 0))
                          for m, i, q, a, t in cur.fetchall() if int(q or 0) > 0]
            shipping = float(scalar(cur, "SELECT COALESCE(SUM(shipping_amount), 0) FROM sales_creditmemo "
                                         "WHERE order_id = %s", (order.commerce_order_id,)) or 0)
        return memo_items, shipping, order_items

    @staticmethod
    def _walmart_lines(walmart: WalmartOrder) -> dict[str, WalmartLine]:
        return {line.lineNumber: WalmartLine(
            line_number=line.lineNumber, quantity=int(line.orderLineQuantity.amount),
            shipped=line.quantity("Shipped", "Delivered"), cancelled=line.quantity("Cancelled"),
            open=line.quantity("Created", "Acknowledged"), refunded_product=line.refunded("PRODUCT"),
            refunded_tax=line.refunded_tax(), refunded_shipping=line.refunded("SHIPPING"),
            shipping_charged=line.charged("SHIPPING")) for line in walmart.orderLines.orderLine}

    def reconcile(self, order: MappedOrder) -> None:
        memo_items, shipping, order_items = self._read_commerce(order)
        if not memo_items and not shipping:
            return
        lines = self.returns.lines_of_order(order.commerce_order_id)
        returned = [ReturnedUnits(l.return_order_id, l.line_number, l.commerce_item_id, l.quantity)
                    for l in lines if l.commerce_item_id is not None]
        routes = self.returns.routes(order.commerce_order_id)
        if returned:
            new = route_to_returns(memo_items, returned, routes)
            self.returns.add_routes(order.commerce_order_id, new)
            routes = routes | new
            confirmed = {(l.return_order_id, l.line_number): l.refunded_qty for l in lines}
            self._refund_returns(order, returned, routes, confirmed)
        self._refund_order(order, memo_items, routes, shipping, order_items)

    def _refund_returns(self, order: MappedOrder, returned: list[ReturnedUnits], routes: dict[tuple[int, int], int],
                        confirmed: dict[tuple[str, int], int]) -> None:
        """Return lines Walmart should show refunded, compared with what it last confirmed; only a
        return with something due is read back (GET /v3/returns is 50/min) and refunded."""
        targets = return_refund_targets(returned, routes)
        due = sorted({key[0] for key, want in targets.items() if want > confirmed.get(key, 0)})
        for return_order_id in due:
            walmart = self.client.returns.get(return_order_id)
            send, now = [], {}
            for line in walmart.returnOrderLines:
                have = int(line.refundedQty or 0)
                want = targets.get((return_order_id, line.returnOrderLineNumber), 0)
                if want > have:
                    send.append((line.returnOrderLineNumber, want - have))
                now[line.returnOrderLineNumber] = max(want, have)
            if send:
                self.client.returns.refund(return_order_id, walmart.customerOrderId, send, before=walmart)
                self.return_refunds += 1
                self.log.info("return refunded on Walmart", po=order.purchase_order_id, return_order=return_order_id,
                              lines=len(send), units=sum(q for _, q in send))
            self.returns.set_refunded(return_order_id, now)

    def _refund_order(self, order: MappedOrder, memo_items: list[MemoItem], routes: dict[tuple[int, int], int],
                      shipping: float, order_items: dict[int, tuple[int, int, int]]) -> None:
        share = order_share(memo_items, routes)
        if not share and not shipping:
            return
        returned_units: dict[int, int] = {}
        for (_memo, item), qty in routes.items():
            returned_units[item] = returned_units.get(item, 0) + qty
        items = []
        for item_id, line_number in order.lines.items():
            shipped, canceled, ordered = order_items.get(item_id, (0, 0, 0))
            qty, amount, tax = share.get(item_id, (0, 0.0, 0.0))
            # units refunded through a return are shipped units this refund cannot claim again
            items.append(CreditedItem(line_number, shipped - returned_units.get(item_id, 0), canceled, qty,
                                      amount, tax, ordered))
        walmart = self.client.orders.get(order.purchase_order_id)
        plan = plan_refund(items, self._walmart_lines(walmart), shipping)
        reason = self.settings.mapping.refund_reason
        if plan.cancels:  # the cancel answers with the order as it is now: the refund's "before"
            walmart = self.client.orders.cancel(order.purchase_order_id, [
                CancelLine(line, quantity, self.settings.mapping.cancel_reason) for line, quantity in plan.cancels],
                before=walmart)
            self.cancelled_lines += len(plan.cancels)
            self.log.info("refunded before shipping: cancelled on Walmart", po=order.purchase_order_id,
                          lines=len(plan.cancels))
        if plan.refunds:
            self.client.orders.refund(order.purchase_order_id, [
                RefundLine(r.line_number, r.product, reason, f"Commerce credit memo, order "
                           f"{order.commerce_increment_id or order.commerce_order_id}", r.tax, r.shipping)
                for r in plan.refunds], before=walmart)
            self.refunded_lines += len(plan.refunds)
            self.log.info("refund reported", po=order.purchase_order_id, lines=len(plan.refunds),
                          amount=round(sum(r.product + r.tax + r.shipping for r in plan.refunds), 2))
        if plan.waiting:
            raise NotYet(f"PO {order.purchase_order_id} lines {', '.join(plan.waiting)}: refunded quantity is "
                         "shipped in Commerce but not yet on Walmart", self.settings.workers.park_retry_s)
