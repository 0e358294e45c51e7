"""Walmart return orders: INITIATED (customer created) -> DELIVERED (at the return centre) ->
COMPLETED (refunded), as GET /v3/returns and POST /v3/returns/{id}/refund expose them.

A return is created against shipped or delivered quantity of a purchase order's line; the seller
refunds per return line and quantity, never more than was returned; when every line is fully
refunded the return is COMPLETED. Dates are ISO-8601 strings here, unlike orders' epoch-ms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from devstack.walmart_emulator.orders import Order, OrderError

RETURN_REASONS = frozenset({
    "ARRIVED_LATE", "AUTO_RETURN", "BOUGHT_ANOTHER_SIZE_OR_COLOR", "BOUGHT_SOMEWHERE_ELSE",
    "DAMAGED", "DEFECTIVE", "DUPLICATE_ITEM", "INADEQUATE_QUALITY", "INCORRECT_ITEM",
    "LOST_AFTER_DELIVERY", "LOST_IN_TRANSIT", "LOWER_PRICE", "MISSING_PARTS", "NOT_AS_DESCRIBED",
    "NO_LONGER_WANTED", "RETURN_TO_SENDER", "SHIPPING_BOX_DAMAGED", "TRIED_TO_CANCEL",
    "WRONG_SIZE/POOR_FIT",
})


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class ReturnLine:
    number: int
    purchase_order_id: str
    order_line: str
    sku: str
    product_name: str
    quantity: int
    unit_price: float
    reason: str
    status: str = "INITIATED"
    status_time: str = ""
    refunded: int = 0

    def to_json(self) -> dict[str, Any]:
        refund_status = ("REFUND_COMPLETED" if self.refunded >= self.quantity
                         else "REFUND_INITIATED" if self.refunded else "NOT_REFUNDED")
        return {
            "returnOrderLineNumber": self.number,
            "salesOrderLineNumber": int(self.order_line),
            "purchaseOrderId": self.purchase_order_id,
            "purchaseOrderLineNumber": int(self.order_line),
            "returnReason": self.reason,
            "item": {"sku": self.sku, "productName": self.product_name, "condition": "New"},
            "unitPrice": {"currencyAmount": self.unit_price, "currencyUnit": "USD"},
            "quantity": {"unitOfMeasure": "EACH", "measurementValue": self.quantity},
            "refundedQty": self.refunded,
            "cancellableQty": 0 if self.status != "INITIATED" else self.quantity - self.refunded,
            "status": self.status,
            "statusTime": self.status_time,
            "currentDeliveryStatus": "DELIVERED" if self.status != "INITIATED" else "NOT_SHIPPED",
            "currentRefundStatus": refund_status,
            "refundChannel": "SELLER_MANUAL_REFUND",
        }


@dataclass
class ReturnOrder:
    return_order_id: str
    customer_order_id: str
    created: str
    last_modified: str
    lines: list[ReturnLine]

    @property
    def status(self) -> str:
        statuses = {line.status for line in self.lines}
        for status in ("INITIATED", "DELIVERED"):
            if status in statuses:
                return status
        return "COMPLETED"

    def line(self, number: Any) -> ReturnLine:
        for line in self.lines:
            if str(line.number) == str(number):
                return line
        raise OrderError(f"Invalid returnOrderLineNumber {number}", field="returnOrderLineNumber")

    def deliver(self) -> None:
        stamp = iso_now()
        for line in self.lines:
            if line.status == "INITIATED":
                line.status, line.status_time = "DELIVERED", stamp
        self.last_modified = stamp

    def refund(self, customer_order_id: str, refund_lines: list[dict[str, Any]]) -> None:
        if customer_order_id != self.customer_order_id:
            raise OrderError("customerOrderId does not match the return", field="customerOrderId")
        plan = []
        for request in refund_lines:
            line = self.line(request.get("returnOrderLineNumber"))
            quantity = request.get("quantity", {}).get("measurementValue")
            if not isinstance(quantity, (int, float)) or quantity <= 0 or int(quantity) != quantity:
                raise OrderError("quantity.measurementValue must be a positive whole number",
                                 field="quantity")
            if line.refunded + int(quantity) > line.quantity:
                raise OrderError(f"Refund quantity exceeds the returned quantity of line {line.number}",
                                 field="quantity")
            plan.append((line, int(quantity)))
        stamp = iso_now()
        for line, quantity in plan:
            line.refunded += quantity
            if line.refunded >= line.quantity:
                line.status, line.status_time = "COMPLETED", stamp
        self.last_modified = stamp

    def to_json(self) -> dict[str, Any]:
        total = sum(line.unit_price * line.quantity for line in self.lines)
        return {
            "returnOrderId": self.return_order_id,
            "customerEmailId": f"{self.customer_order_id}@relay.walmart.com",
            "customerName": {"firstName": "Jane", "lastName": "Doe"},
            "customerOrderId": self.customer_order_id,
            "returnOrderDate": self.created,
            "returnByDate": self.created,
            "refundMode": "POST_DELIVERY",
            "returnType": "REFUND",
            "totalRefundAmount": {"currencyAmount": round(total, 2), "currencyUnit": "USD"},
            "returnChannel": {"channelName": "ONLINE"},
            "returnOrderLines": [line.to_json() for line in self.lines],
        }


def create_return(return_order_id: str, order: Order, lines: list[dict[str, Any]]) -> ReturnOrder:
    """A customer's return of shipped quantity of ``order``'s lines."""
    created = iso_now()
    return_lines = []
    for number, request in enumerate(lines, start=1):
        order_line = order.line(str(request.get("lineNumber", "1")))
        quantity = int(request.get("quantity", 1))
        reason = request.get("returnReason", "NO_LONGER_WANTED")
        if reason not in RETURN_REASONS:
            raise OrderError(f"Invalid returnReason {reason}", field="returnReason")
        if quantity <= 0 or quantity > order_line.quantity_in("Shipped", "Delivered"):
            raise OrderError("Only shipped quantity can be returned", field="quantity")
        return_lines.append(ReturnLine(number, order.purchase_order_id, order_line.number, order_line.sku,
                                       order_line.product_name, quantity, order_line.unit_price, reason,
                                       status_time=created))
    return ReturnOrder(return_order_id, order.customer_order_id, created, created, return_lines)
