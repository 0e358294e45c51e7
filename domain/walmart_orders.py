"""Walmart's purchase order, as the Orders API returns it: the one model of it in the sidecar.

The poller publishes orders as Walmart sent them; the importer, the cart mapping and the order
workers all read them through these classes. They type the fields the sidecar uses and keep the
rest (``extra="allow"``): Walmart adds fields, and a new one must not make an order unreadable.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

# line statuses after Acknowledged in Walmart's lifecycle (Created -> Acknowledged -> Shipped ->
# Delivered, Cancelled beside it)
BEYOND_ACKNOWLEDGED = ("Shipped", "Delivered", "Cancelled", "Refund")


class WalmartDocument(BaseModel):
    """Walmart's response bodies: the fields the sidecar uses are typed, the rest kept."""

    model_config = ConfigDict(extra="allow")


class StatusQuantity(WalmartDocument):
    unitOfMeasurement: str
    amount: str


class LineStatus(WalmartDocument):
    status: Literal["Created", "Acknowledged", "Shipped", "Delivered", "Cancelled", "Refund"]
    statusQuantity: StatusQuantity
    cancellationReason: str | None = None
    trackingInfo: dict[str, Any] | None = None


class LineStatuses(WalmartDocument):
    orderLineStatus: list[LineStatus]


class OrderItem(WalmartDocument):
    productName: str
    sku: str


class OrderLine(WalmartDocument):
    lineNumber: str
    item: OrderItem
    orderLineQuantity: StatusQuantity
    orderLineStatuses: LineStatuses
    statusDate: int
    charges: dict[str, Any]
    refund: dict[str, Any] | None = None
    intentToCancel: str | None = None
    fulfillment: dict[str, Any] | None = None

    @property
    def ship_method(self) -> str | None:
        """The line's own ship method (``fulfillment.shipMethod``, upper-case on Walmart)."""
        return (self.fulfillment or {}).get("shipMethod") or None

    @property
    def customer_asked_to_cancel(self) -> bool:
        """Walmart flags a line the customer asked to cancel after acknowledgement (``"Y"``)."""
        return str(self.intentToCancel or "").strip().upper() in ("Y", "YES", "TRUE")

    def quantity(self, *statuses: str) -> int:
        return sum(int(s.statusQuantity.amount) for s in self.orderLineStatuses.orderLineStatus
                   if s.status in statuses)

    def charged(self, charge_type: str) -> float:
        return round(sum(float(c["chargeAmount"]["amount"]) for c in self.charges.get("charge", [])
                         if c.get("chargeType") == charge_type), 2)

    def refunded(self, charge_type: str | None = None) -> float:
        """Refunded so far (positive), of one charge type or all."""
        charges = (self.refund or {}).get("refundCharges", {}).get("refundCharge", [])
        return round(sum(-float(c["charge"]["chargeAmount"]["amount"]) for c in charges
                         if charge_type is None or c["charge"].get("chargeType") == charge_type), 2)

    def refunded_tax(self) -> float:
        charges = (self.refund or {}).get("refundCharges", {}).get("refundCharge", [])
        return round(sum(-float(((c["charge"].get("tax") or {}).get("taxAmount") or {}).get("amount", 0))
                         for c in charges), 2)


class OrderLines(WalmartDocument):
    orderLine: list[OrderLine]


class WalmartOrder(WalmartDocument):
    purchaseOrderId: str
    customerOrderId: str
    customerEmailId: str
    orderDate: int
    shippingInfo: dict[str, Any]
    orderLines: OrderLines
    shipNode: dict[str, Any] | None = None

    @property
    def ship_method(self) -> str | None:
        return (self.shippingInfo or {}).get("methodCode") or None

    def _info_ms(self, key: str) -> int | None:
        value = (self.shippingInfo or {}).get(key)
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    @property
    def ship_by_ms(self) -> int | None:
        """``estimatedShipDate``: Walmart auto-cancels a line not shipped with tracking 4 days after it."""
        return self._info_ms("estimatedShipDate")

    @property
    def deliver_by_ms(self) -> int | None:
        return self._info_ms("estimatedDeliveryDate")

    @property
    def fulfilled_by_walmart(self) -> bool:
        """A Walmart Fulfillment Services order (``shipNode.type`` WFSFulfilled): Walmart ships it
        from its own stock; the seller neither acknowledges, ships nor cancels it."""
        return str((self.shipNode or {}).get("type") or "").strip() == "WFSFulfilled"

    @property
    def ship_node_id(self) -> str | None:
        return str((self.shipNode or {}).get("id") or "") or None

    def line(self, number: str) -> OrderLine:
        return next(line for line in self.orderLines.orderLine if line.lineNumber == str(number))

    def awaits_acknowledgement(self) -> bool:
        """Units still Created, none past Acknowledged: the one state Walmart acknowledges in.

        POST /v3/orders/{po}/acknowledge takes the whole PO; Walmart allows it again while the PO
        is Created/Acknowledged, and refuses it ("Some or all qty in higher status") once any unit
        is shipped or cancelled, a line a customer cancelled before acknowledgement included."""
        lines = self.orderLines.orderLine
        return (any(line.quantity("Created") for line in lines)
                and not any(line.quantity(*BEYOND_ACKNOWLEDGED) for line in lines))

    def past_acknowledgement(self) -> bool:
        """Units still Created beside units shipped or cancelled: Walmart no longer takes an
        acknowledgement for this PO, and the Created units can still be shipped or cancelled."""
        lines = self.orderLines.orderLine
        return (any(line.quantity("Created") for line in lines)
                and any(line.quantity(*BEYOND_ACKNOWLEDGED) for line in lines))
