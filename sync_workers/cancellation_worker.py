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

import pymysql

from config import Settings
from sync_workers.consumer import DeadLetter, Record, TransientError
from sync_workers.order_map import MappedOrder, OrderMap
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError
from sync_workers.walmart.orders import CancelLine
from walmart_sync.logs import get_logger


class CancellationWorker:
    name = "cancellation"
    families = ("cancellation",)

    def __init__(self, settings: Settings, client: WalmartClient, commerce: Any, orders: OrderMap):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.orders = orders
        self.log = get_logger("worker.cancellation")
        self.cancelled_lines = 0

    def tick(self) -> None:
        pass

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        by_order: dict[int, list[Record]] = {}
        dead = []
        for record in records:
            order_id = (record.event or {}).get("order_id")
            if not isinstance(order_id, int):
                dead.append(DeadLetter(record, "cancellation event without an order id", "UNKNOWN_ORDER"))
                continue
            by_order.setdefault(order_id, []).append(record)
        try:
            self.commerce.ping(reconnect=True)
            mapped = self.orders.for_commerce_orders(sorted(by_order))
            for order_id, order in mapped.items():
                try:
                    self._reconcile(order)
                except WalmartClientError as exc:
                    code = exc.details[0].code if exc.details else None
                    dead += [DeadLetter(r, f"Walmart refused the cancellation of PO {order.purchase_order_id}: "
                                           f"{exc}", code) for r in by_order[order_id]]
        except WalmartServerError as exc:
            raise TransientError(f"Walmart: {exc}") from exc
        except pymysql.MySQLError as exc:
            raise TransientError(f"database: {exc.args[-1]}") from exc
        return dead

    def _reconcile(self, order: MappedOrder) -> None:
        with self.commerce.cursor() as cur:
            cur.execute("SELECT item_id, qty_canceled FROM sales_order_item WHERE order_id = %s",
                        (order.commerce_order_id,))
            cancelled_in_commerce = {int(item): int(qty or 0) for item, qty in cur.fetchall()}
        walmart = self.client.orders.get(order.purchase_order_id)
        lines = []
        for item_id, line_number in order.lines.items():
            line = walmart.line(line_number)
            wanted = min(cancelled_in_commerce.get(item_id, 0), int(line.orderLineQuantity.amount))
            missing = wanted - line.quantity("Cancelled")
            cancellable = min(missing, line.quantity("Created", "Acknowledged"))
            if missing > cancellable:
                self.log.warning("cancelled in Commerce but already shipped on Walmart; left to refunds",
                                 po=order.purchase_order_id, line=line_number, quantity=missing - cancellable)
            if cancellable > 0:
                reason = ("CUSTOMER_REQUESTED_SELLER_TO_CANCEL" if line.intentToCancel
                          else self.settings.mapping.cancel_reason)
                lines.append(CancelLine(line_number, cancellable, reason))
        if lines:
            self.client.orders.cancel(order.purchase_order_id, lines)
            self.cancelled_lines += len(lines)
            self.log.info("cancellation reported", po=order.purchase_order_id, lines=len(lines))
