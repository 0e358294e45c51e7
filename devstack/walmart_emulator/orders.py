"""Walmart purchase orders with per-quantity line statuses, as the Orders API exposes them.

A line of 3 can be 1 Shipped + 1 Cancelled + 1 Acknowledged at once, so each line keeps a list
of (status, quantity, cancellation reason, tracking) entries and every operation moves quantity
between them: acknowledge Created -> Acknowledged (only while every unit of the PO is Created or
Acknowledged: Walmart refuses it once any is shipped or cancelled); cancel Created/Acknowledged -> Cancelled
(never shipped quantity); ship Created/Acknowledged -> Shipped (over-ship and already-shipped
refused); deliver Shipped -> Delivered; refund only against shipped/delivered quantity, with
negative amounts no larger than what was charged. Errors carry Walmart's codes and messages.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from devstack.oracles.carriers import walmart_carriers

CANCEL_REASONS = frozenset({
    "CUSTOMER_REQUESTED_SELLER_TO_CANCEL", "SELLER_CANCEL_PRICING_ERROR",
    "SELLER_CANCEL_OUT_OF_STOCK", "SELLER_CANCEL_FRAUD_STOP_SHIPMENT",
    "SELLER_CANCEL_ADDRESS_NOT_SERVICEABLE",
})
REFUND_REASONS = frozenset({
    "BillingError", "TaxExemptCustomer", "ItemNotAsAdvertised", "IncorrectItemReceived",
    "CancelledYetShipped", "ItemNotReceivedByCustomer", "IncorrectShippingPrice", "DamagedItem",
    "DefectiveItem", "CustomerChangedMind", "CustomerReceivedItemLate",
    "Missing Parts / Instructions", "Finance -> Goodwill", "Finance -> Rollback", "Buyer canceled",
    "Customer returned item", "General adjustment", "Merchandise not received",
    "Quality -> Missing Parts / Instructions", "Shipping & Delivery -> Damaged",
    "Shipping & Delivery -> Shipping Price Discrepancy", "Others",
})
METHOD_CODES = frozenset({"Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value"})
# days after the order to Walmart's estimated ship date and estimated delivery date, per ship method
# (the emulator's own promise table; Walmart computes them from the seller's lag time and shipping
# templates). Standard keeps the emulator's earlier one day / five days.
METHOD_PROMISE_DAYS = {"Value": (2, 7), "Standard": (1, 5), "Express": (1, 2), "OneDay": (0, 1),
                       "Freight": (3, 10), "WhiteGlove": (3, 10)}
# Walmart auto-cancels a seller-fulfilled line not shipped with valid tracking by the estimated ship
# date + 4 calendar days (walmart-api-notes.md, Performance alarms / PO_LINE_AUTOCANCELLED)
AUTO_CANCEL_AFTER_SHIP_BY_MS = 4 * 86_400_000
SELLER_FULFILLED, WFS_FULFILLED = "SellerFulfilled", "WFSFulfilled"
SHIP_NODE_TYPES = (SELLER_FULFILLED, WFS_FULFILLED, "3PLFulfilled")
OPEN = ("Created", "Acknowledged")
SHIPPED = ("Shipped", "Delivered")
# past acknowledgement: Walmart's lifecycle goes Created -> Acknowledged -> Shipped -> Delivered,
# with Cancelled (and Refund) beside it; an acknowledge meeting any of these is refused
BEYOND_ACKNOWLEDGED = ("Shipped", "Delivered", "Cancelled", "Refund")


class OrderError(Exception):
    """A refusal of the Orders API: 400 INVALID_REQUEST_CONTENT.GMP_ORDER_API unless told."""

    def __init__(self, description: str, code: str = "INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                 status: int = 400, field: str = "data"):
        self.description, self.code, self.status, self.field = description, code, status, field
        super().__init__(description)


# Walmart's clock against this host's: set by a test of a sidecar whose clock is skewed (a host
# clock minutes ahead lost every new order when the poll watermark was the local clock)
CLOCK_OFFSET_S = [0.0]


def now_ms() -> int:
    """Walmart's wall clock (this host's, plus the configured offset)."""
    return int((time.time() + CLOCK_OFFSET_S[0]) * 1000)


@dataclass
class LineStatus:
    status: str
    quantity: int
    cancellation_reason: str | None = None
    tracking: dict[str, Any] | None = None


@dataclass
class OrderLine:
    number: str
    sku: str
    product_name: str
    quantity: int
    unit_price: float
    tax: float
    statuses: list[LineStatus]
    status_date: int
    intent_to_cancel: bool = False
    refunds: list[dict[str, Any]] = field(default_factory=list)
    shipping: float = 0.0  # the line's SHIPPING charge
    method_code: str | None = None  # the line's own ship method; the order's when None

    def quantity_in(self, *statuses: str) -> int:
        return sum(s.quantity for s in self.statuses if s.status in statuses)

    def move(self, from_statuses: tuple[str, ...], quantity: int, to: LineStatus) -> None:
        """Take ``quantity`` out of ``from_statuses`` (earliest first) into ``to``."""
        remaining = quantity
        for entry in self.statuses:
            if remaining and entry.status in from_statuses:
                taken = min(entry.quantity, remaining)
                entry.quantity -= taken
                remaining -= taken
        self.statuses = [s for s in self.statuses if s.quantity > 0]
        merged = next((s for s in self.statuses if s.status == to.status and s.tracking == to.tracking
                       and s.cancellation_reason == to.cancellation_reason), None)
        if merged:
            merged.quantity += quantity
        else:
            self.statuses.append(LineStatus(to.status, quantity, to.cancellation_reason, to.tracking))
        self.status_date = now_ms()

    def charged(self) -> float:
        return round(self.unit_price * self.quantity, 2)


@dataclass
class Order:
    purchase_order_id: str
    customer_order_id: str
    order_date: int
    last_modified: int
    lines: list[OrderLine]
    method_code: str = "Standard"
    ship_node: str = "default"
    customer_email: str = ""
    address2: str = ""  # the shopper's second address line (a hostile one can be huge)
    fulfilled_by: str = SELLER_FULFILLED  # shipNode.type: WFSFulfilled orders Walmart ships itself

    @property
    def estimated_ship_date(self) -> int:
        return self.order_date + METHOD_PROMISE_DAYS.get(self.method_code, (1, 5))[0] * 86_400_000

    @property
    def estimated_delivery_date(self) -> int:
        return self.order_date + METHOD_PROMISE_DAYS.get(self.method_code, (1, 5))[1] * 86_400_000

    def _seller_action(self, action: str) -> None:
        """Walmart fulfils a WFS order itself: the seller's acknowledge, cancel and ship calls are
        not for it (walmart-api-notes.md: "not for WFS", "WFS orders use another endpoint")."""
        if self.fulfilled_by == WFS_FULFILLED:
            raise OrderError(f"PO {self.purchase_order_id} is fulfilled by Walmart (WFS); it cannot be {action} "
                             "by the seller", field="purchaseOrderId")

    def walmart_ships(self, tracking_number: str = "WFS-1") -> None:
        """Walmart ships a WFS order from its own warehouse (the seller never does)."""
        if self.fulfilled_by != WFS_FULFILLED:
            raise OrderError(f"PO {self.purchase_order_id} is the seller's to ship")
        tracking = {"shipDateTime": now_ms(), "carrierName": {"carrier": "FedEx"}, "methodCode": self.method_code,
                    "trackingNumber": tracking_number}
        for line in self.lines:
            open_quantity = line.quantity_in(*OPEN)
            if open_quantity:
                line.move(OPEN, open_quantity, LineStatus("Shipped", open_quantity, tracking=tracking))
        self.touch()

    def auto_cancel_late(self, now: int) -> list[str]:
        """Walmart's ship-by rule: the open units of every line of a seller-fulfilled PO not shipped
        by the estimated ship date + 4 days are cancelled (reason AUTO_CANCEL). Returns the lines."""
        if self.fulfilled_by == WFS_FULFILLED or now < self.estimated_ship_date + AUTO_CANCEL_AFTER_SHIP_BY_MS:
            return []
        cancelled = []
        for line in self.lines:
            open_quantity = line.quantity_in(*OPEN)
            if open_quantity:
                line.move(OPEN, open_quantity, LineStatus("Cancelled", open_quantity,
                                                          cancellation_reason="AUTO_CANCEL"))
                cancelled.append(line.number)
        if cancelled:
            self.touch()
        return cancelled

    def line(self, number: str) -> OrderLine:
        for line in self.lines:
            if line.number == str(number):
                return line
        raise OrderError(f"Invalid lineNumber {number} for PO {self.purchase_order_id}",
                         code="INVALID_REQUEST_CONTENT.GMP_ORDER_API", field="lineNumber")

    def has_status(self, status: str) -> bool:
        return any(line.quantity_in(status) for line in self.lines)

    def touch(self) -> None:
        self.last_modified = now_ms()

    # operations ---------------------------------------------------------------------------
    def acknowledge(self) -> None:
        """Walmart acknowledges the whole PO or nothing: re-acknowledging is allowed, but not once
        any unit is shipped or cancelled ("Some or all qty in higher status")."""
        self._seller_action("acknowledged")
        if any(line.quantity_in(*BEYOND_ACKNOWLEDGED) for line in self.lines) \
                or not any(line.quantity_in(*OPEN) for line in self.lines):
            raise OrderError("Some or all qty in higher status")
        for line in self.lines:
            created = line.quantity_in("Created")
            if created:
                line.move(("Created",), created, LineStatus("Acknowledged", created))
        self.touch()

    def cancel(self, lines: list[dict[str, Any]]) -> None:
        self._seller_action("cancelled")
        plan = []
        for request in lines:
            line = self.line(request.get("lineNumber"))
            for status in request.get("orderLineStatuses", {}).get("orderLineStatus", []):
                reason = status.get("cancellationReason")
                quantity = _quantity(status)
                if status.get("status") != "Cancelled":
                    raise OrderError("status must be Cancelled", field="status")
                if reason not in CANCEL_REASONS:
                    raise OrderError(f"Invalid cancellationReason {reason}", field="cancellationReason")
                if reason == "CUSTOMER_REQUESTED_SELLER_TO_CANCEL" and not line.intent_to_cancel:
                    raise OrderError("CUSTOMER_REQUESTED_SELLER_TO_CANCEL is only for lines the "
                                     "customer asked to cancel", field="cancellationReason")
                if quantity > line.quantity_in(*OPEN):
                    state = "SHIPPED" if line.quantity_in(*SHIPPED) else "CANCELLED"
                    raise OrderError(f"The Line: {line.number} of PO: {self.purchase_order_id} is in "
                                     f"{state} status and cannot be cancelled", field="lineNumber")
                plan.append((line, quantity, reason))
        for line, quantity, reason in plan:
            line.move(OPEN, quantity, LineStatus("Cancelled", quantity, cancellation_reason=reason))
        self.touch()

    def ship(self, lines: list[dict[str, Any]]) -> None:
        self._seller_action("shipped")
        plan = []
        for request in lines:
            line = self.line(request.get("lineNumber"))
            if not request.get("sellerOrderId"):
                raise OrderError("sellerOrderId is required", code="INVALID_REQUEST_CONTENT.GMP_ORDER_API",
                                 field="sellerOrderId")
            # a line the customer asked to cancel ships only with the boolean override (the spec:
            # "needs to be passed as true during shipping" for intent-to-cancel orders)
            if line.intent_to_cancel and request.get("intentToCancelOverride") is not True:
                raise OrderError(f"The Line: {line.number} of PO: {self.purchase_order_id} has a "
                                 "customer cancellation request; set intentToCancelOverride to ship it",
                                 field="intentToCancelOverride")
            for status in request.get("orderLineStatuses", {}).get("orderLineStatus", []):
                quantity = _quantity(status)
                tracking = _tracking(status.get("trackingInfo"))
                open_quantity = line.quantity_in(*OPEN)
                if open_quantity == 0 and line.quantity_in(*SHIPPED):
                    raise OrderError(f"The Line: {line.number} of PO: {self.purchase_order_id} is in "
                                     "SHIPPED status", field="lineNumber")
                if quantity > open_quantity:
                    raise OrderError("Qty OverShipped : Some or All Line(s)/Qty cannot be Shipped "
                                     "as it exceeds the ordered quantity", field="statusQuantity")
                plan.append((line, quantity, tracking))
        for line, quantity, tracking in plan:
            line.move(OPEN, quantity, LineStatus("Shipped", quantity, tracking=tracking))
        self.touch()

    def customer_cancel(self, line_number: str) -> str:
        """A shopper cancels a line: quantity the seller has not acknowledged Walmart cancels itself;
        for acknowledged quantity it can only ask the seller (intentToCancel). Returns which."""
        line = self.line(line_number)
        created = line.quantity_in("Created")
        if created:
            line.move(("Created",), created, LineStatus("Cancelled", created, cancellation_reason="CUSTOMER_CANCEL"))
            outcome = "cancelled"
        elif line.quantity_in("Acknowledged"):
            line.intent_to_cancel = True
            outcome = "intent_to_cancel"
        else:
            raise OrderError(f"The Line: {line.number} of PO: {self.purchase_order_id} has nothing left to cancel")
        self.touch()
        return outcome

    def walmart_cancel(self, line_number: str, reason: str = "AUTO_CANCEL") -> None:
        """Walmart cancels a line's open quantity itself (unshipped 30 days, fraud, a customer
        cancelling before the seller acknowledged)."""
        line = self.line(line_number)
        open_quantity = line.quantity_in(*OPEN)
        if not open_quantity:
            raise OrderError(f"The Line: {line.number} of PO: {self.purchase_order_id} has nothing left to cancel")
        line.move(OPEN, open_quantity, LineStatus("Cancelled", open_quantity, cancellation_reason=reason))
        self.touch()

    def deliver(self) -> None:
        for line in self.lines:
            shipped = line.quantity_in("Shipped")
            if shipped:
                line.move(("Shipped",), shipped, LineStatus("Delivered", shipped))
        self.touch()

    def refund(self, lines: list[dict[str, Any]], refund_ids: itertools.count) -> None:
        plan = []
        full_flags = {bool(r.get("isFullRefund")) for r in lines}
        if len(full_flags) > 1:
            raise OrderError("A request cannot mix full and partial refund lines", field="isFullRefund")
        for request in lines:
            line = self.line(request.get("lineNumber"))
            if not line.quantity_in(*SHIPPED):
                raise OrderError(f"The Line: {line.number} of PO: {self.purchase_order_id} is not "
                                 "shipped and cannot be refunded", field="lineNumber")
            for refund in request.get("refunds", {}).get("refund", []):
                charges = refund.get("refundCharges", {}).get("refundCharge", [])
                total = 0.0
                for charge in charges:
                    if charge.get("refundReason") not in REFUND_REASONS:
                        raise OrderError(f"Invalid refundReason {charge.get('refundReason')}",
                                         field="refundReason")
                    amount = charge.get("charge", {}).get("chargeAmount", {}).get("amount")
                    if not isinstance(amount, (int, float)) or amount >= 0:
                        raise OrderError("refund amounts must be negative", field="chargeAmount")
                    total += -amount
                already = sum(-c["charge"]["chargeAmount"]["amount"] for r in line.refunds
                              for c in r["refundCharges"]["refundCharge"])
                if round(total + already, 2) > line.charged() + line.shipping + line.tax + 1e-9:
                    raise OrderError("Refund amount exceeds the amount charged for the line",
                                     field="chargeAmount")
                plan.append((line, refund))
        for line, refund in plan:
            line.refunds.append({"refundId": str(next(refund_ids)),
                                 "refundComments": refund.get("refundComments", ""),
                                 "refundCharges": refund.get("refundCharges", {"refundCharge": []})})
        self.touch()

    # representation ---------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        return {
            "purchaseOrderId": self.purchase_order_id,
            "customerOrderId": self.customer_order_id,
            "customerEmailId": self.customer_email or f"{self.customer_order_id}@relay.walmart.com",
            "orderDate": self.order_date,
            "shipNode": {"type": self.fulfilled_by,
                         "name": "Walmart Fulfillment Services" if self.fulfilled_by == WFS_FULFILLED else "Seller",
                         "id": self.ship_node},
            "shippingInfo": {
                "phone": "2025550123",
                "estimatedDeliveryDate": self.estimated_delivery_date,
                "estimatedShipDate": self.estimated_ship_date,
                "methodCode": self.method_code,
                "postalAddress": {"name": "Jane Doe", "address1": "702 SW 8th St", "city": "Bentonville",
                                  "state": "AR", "postalCode": "72716", "country": "USA",
                                  "addressType": "RESIDENTIAL", **({"address2": self.address2} if self.address2 else {})},
            },
            "orderLines": {"orderLine": [_line_json(line, self.method_code) for line in self.lines]},
            "orderSummary": {"totalAmount": {
                "currencyAmount": round(sum(l.charged() + l.shipping + l.tax for l in self.lines), 2),
                "currencyUnit": "USD"}},
        }


def _line_json(line: OrderLine, order_method: str) -> dict[str, Any]:
    statuses = []
    for entry in line.statuses:
        status: dict[str, Any] = {"status": entry.status,
                                  "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(entry.quantity)}}
        if entry.cancellation_reason:
            status["cancellationReason"] = entry.cancellation_reason
        if entry.tracking:
            status["trackingInfo"] = entry.tracking
        statuses.append(status)
    body: dict[str, Any] = {
        "lineNumber": line.number,
        "item": {"productName": line.product_name, "sku": line.sku},
        "charges": {"charge": [{
            "chargeType": "PRODUCT", "chargeName": "ItemPrice",
            "chargeAmount": {"currency": "USD", "amount": line.charged()},
            "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": line.tax}}}] + ([{
            "chargeType": "SHIPPING", "chargeName": "Shipping",
            "chargeAmount": {"currency": "USD", "amount": line.shipping}}] if line.shipping else [])},
        "orderLineQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.quantity)},
        "statusDate": line.status_date,
        "orderLineStatuses": {"orderLineStatus": statuses},
        # Walmart stamps each line's ship method upper-case (the orders spec's example: VALUE)
        "fulfillment": {"fulfillmentOption": "S2H", "shipMethod": (line.method_code or order_method).upper(),
                        "pickUpDateTime": line.status_date},
    }
    if line.intent_to_cancel:
        body["intentToCancel"] = "Y"
    if line.refunds:
        body["refund"] = {"refundId": line.refunds[-1]["refundId"],
                          "refundComments": line.refunds[-1]["refundComments"],
                          "refundCharges": {"refundCharge": [c for r in line.refunds
                                                             for c in r["refundCharges"]["refundCharge"]]}}
    return body


def _quantity(status: dict[str, Any]) -> int:
    raw = (status.get("statusQuantity") or {}).get("amount")
    try:
        quantity = int(str(raw))
    except ValueError:
        raise OrderError(f"statusQuantity.amount {raw!r} is not a whole number",
                         field="statusQuantity") from None
    if quantity <= 0:
        raise OrderError("statusQuantity.amount must be positive", field="statusQuantity")
    return quantity


def _tracking(info: Any) -> dict[str, Any]:
    if not isinstance(info, dict):
        raise OrderError("trackingInfo is required", field="trackingInfo")
    for required in ("shipDateTime", "carrierName", "methodCode", "trackingNumber"):
        if not info.get(required):
            raise OrderError(f"trackingInfo.{required} is required", field=f"trackingInfo.{required}")
    carrier = info["carrierName"]
    if carrier.get("carrier") is not None:
        if carrier["carrier"] not in walmart_carriers():
            raise OrderError(f"Invalid carrier {carrier['carrier']}", field="carrierName.carrier")
    elif carrier.get("otherCarrier"):
        if not info.get("trackingURL"):
            raise OrderError("trackingURL is required with otherCarrier", field="trackingInfo.trackingURL")
    else:
        raise OrderError("carrierName needs carrier or otherCarrier", field="carrierName")
    if info["methodCode"] not in METHOD_CODES:
        raise OrderError(f"Invalid methodCode {info['methodCode']}", field="trackingInfo.methodCode")
    return {k: info[k] for k in ("shipDateTime", "carrierName", "methodCode", "trackingNumber",
                                 "trackingURL") if k in info}
