"""Walmart Orders API calls: listing with cursors, acknowledge, cancel, ship, refund.

Acknowledging is safe to repeat. Cancelling, shipping and refunding are not (a second ship of a
line that shipped is refused; a second refund pays twice), so after an ambiguous failure (a
timeout, a dropped connection, a 5xx) the client reads the order back and retries only if the
change is not there: each operation lands exactly once. The comparison needs the order as it was
before the write; a caller that just read the order to decide what to send passes it as
``before``, so a write costs no second read of Walmart's small order budget.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from domain.walmart_orders import WalmartOrder
from sync_workers.walmart.errors import WalmartNotFound
from sync_workers.walmart.models import land_once, path_segment


@dataclass(frozen=True)
class ShipLine:
    line_number: str
    quantity: int
    seller_order_id: str
    tracking_number: str
    carrier: str | None = None          # one of Walmart's carrier names
    other_carrier: str | None = None    # with tracking_url, for carriers outside the list
    tracking_url: str | None = None
    method_code: str = "Standard"
    ship_time_ms: int | None = None
    # the customer asked to cancel this line and it shipped anyway: Walmart refuses the shipment
    # for good without it (400 INVALID_REQUEST_CONTENT)
    intent_to_cancel_override: bool = False


@dataclass(frozen=True)
class CancelLine:
    line_number: str
    quantity: int
    reason: str = "SELLER_CANCEL_OUT_OF_STOCK"


@dataclass(frozen=True)
class RefundLine:
    line_number: str
    amount: float                       # positive here; sent negative as Walmart requires
    reason: str = "CustomerChangedMind"
    comments: str = ""
    tax: float = 0.0
    shipping: float = 0.0                # refunded shipping charge, positive here too


class OrdersApi:
    def __init__(self, client: Any):
        self.client = client

    # reads ---------------------------------------------------------------------------------------
    def _pages(self, api: str, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        next_params: dict[str, Any] | str = params
        while True:
            try:
                if isinstance(next_params, str):  # nextCursor is a query string, appended as is
                    response = self.client._send(api, "GET", path + next_params)
                else:
                    response = self.client._send(api, "GET", path, params=next_params)
            except WalmartNotFound as exc:
                if exc.has_code("CONTENT_NOT_FOUND"):
                    return  # Walmart's way of saying: no orders match
                raise
            listing = response.json()["list"]
            yield from listing["elements"].get("order", [])
            cursor = listing["meta"].get("nextCursor")
            if not cursor:
                return
            next_params = cursor

    def list_orders(self, limit: int = 100, **filters: Any) -> Iterator[WalmartOrder]:
        for document in self.order_documents(limit, **filters):
            yield WalmartOrder.model_validate(document)

    def order_documents(self, limit: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Orders as Walmart sent them, unvalidated: the poller passes a malformed one on to the
        importer, which dead-letters it, instead of failing every poll on it."""
        return self._pages("orders", "/v3/orders", {"limit": limit, **_clean(filters)})

    def list_released(self, limit: int = 100, **filters: Any) -> Iterator[WalmartOrder]:
        for document in self._pages("orders_released", "/v3/orders/released", {"limit": limit, **_clean(filters)}):
            yield WalmartOrder.model_validate(document)

    def document(self, purchase_order_id: str) -> dict[str, Any]:
        """One order as Walmart sent it, unvalidated (for the importer, like ``order_documents``)."""
        response = self.client._send("order", "GET", f"/v3/orders/{path_segment(purchase_order_id)}")
        return dict(response.json()["order"])

    def get(self, purchase_order_id: str) -> WalmartOrder:
        response = self.client._send("order", "GET", f"/v3/orders/{path_segment(purchase_order_id)}")
        return WalmartOrder.model_validate(response.json()["order"])

    # writes --------------------------------------------------------------------------------------
    def acknowledge(self, purchase_order_id: str) -> WalmartOrder:
        response = self.client._send("order_acknowledge", "POST",
                                     f"/v3/orders/{path_segment(purchase_order_id)}/acknowledge", idempotent=True)
        return WalmartOrder.model_validate(response.json()["order"])

    def _exactly_once(self, api: str, purchase_order_id: str, action: str, body: dict[str, Any],
                      applied: Any, before: WalmartOrder | None) -> WalmartOrder:
        if before is None:
            before = self.get(purchase_order_id)
        elif before.purchaseOrderId != purchase_order_id:
            raise ValueError(f"the order read before the {action} is PO {before.purchaseOrderId}, "
                             f"not {purchase_order_id}")

        def send() -> WalmartOrder:
            response = self.client._send(api, "POST", f"/v3/orders/{path_segment(purchase_order_id)}/{action}",
                                         json=body, idempotent=False)
            return WalmartOrder.model_validate(response.json()["order"])

        def landed() -> WalmartOrder | None:
            current = self.get(purchase_order_id)
            return current if applied(before, current) else None

        return land_once(self.client, f"{action} of PO {purchase_order_id}", send, landed)

    def cancel(self, purchase_order_id: str, lines: list[CancelLine],
               before: WalmartOrder | None = None) -> WalmartOrder:
        body = {"orderCancellation": {"orderLines": {"orderLine": [{
            "lineNumber": line.line_number,
            "orderLineStatuses": {"orderLineStatus": [{
                "status": "Cancelled", "cancellationReason": line.reason,
                "statusQuantity": {"unitOfMeasurement": "EA", "amount": str(line.quantity)}}]},
        } for line in lines]}}}

        def applied(before: WalmartOrder, now: WalmartOrder) -> bool:
            return all(now.line(l.line_number).quantity("Cancelled")
                       >= before.line(l.line_number).quantity("Cancelled") + l.quantity for l in lines)

        return self._exactly_once("order_cancel", purchase_order_id, "cancel", body, applied, before)

    def ship(self, purchase_order_id: str, lines: list[ShipLine],
             before: WalmartOrder | None = None) -> WalmartOrder:
        body = {"orderShipment": {"orderLines": {"orderLine": [_ship_line(line) for line in lines]}}}

        def applied(before: WalmartOrder, now: WalmartOrder) -> bool:
            return all(now.line(l.line_number).quantity("Shipped", "Delivered")
                       >= before.line(l.line_number).quantity("Shipped", "Delivered") + l.quantity
                       for l in lines)

        return self._exactly_once("order_shipping", purchase_order_id, "shipping", body, applied, before)

    def refund(self, purchase_order_id: str, lines: list[RefundLine],
               before: WalmartOrder | None = None) -> WalmartOrder:
        body = {"orderRefund": {"purchaseOrderId": purchase_order_id, "orderLines": {"orderLine": [{
            "lineNumber": line.line_number, "isFullRefund": False,
            "refunds": {"refund": [{"refundComments": line.comments or line.reason,
                                    "refundCharges": {"refundCharge": _refund_charges(line)}}]},
        } for line in lines]}}}

        def applied(before: WalmartOrder, now: WalmartOrder) -> bool:
            return all(now.line(l.line_number).refunded() >= before.line(l.line_number).refunded()
                       + abs(l.amount) + abs(l.shipping) - 0.005 for l in lines)

        return self._exactly_once("order_refund", purchase_order_id, "refund", body, applied, before)


def _refund_charges(line: RefundLine) -> list[dict[str, Any]]:
    charges = []
    if line.amount or line.tax or not line.shipping:
        charges.append({"refundReason": line.reason, "charge": {
            "chargeType": "PRODUCT", "chargeName": "ItemPrice",
            "chargeAmount": {"currency": "USD", "amount": -abs(line.amount)},
            "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": -abs(line.tax)}}}})
    if line.shipping:
        charges.append({"refundReason": line.reason, "charge": {
            "chargeType": "SHIPPING", "chargeName": "Shipping Price",
            "chargeAmount": {"currency": "USD", "amount": -abs(line.shipping)},
            "tax": {"taxName": "Tax1", "taxAmount": {"currency": "USD", "amount": 0.0}}}})
    return charges


def _ship_line(line: ShipLine) -> dict[str, Any]:
    carrier = {"carrier": line.carrier} if line.carrier else {"otherCarrier": line.other_carrier}
    tracking: dict[str, Any] = {"shipDateTime": line.ship_time_ms or int(time.time() * 1000),
                                "carrierName": carrier, "methodCode": line.method_code,
                                "trackingNumber": line.tracking_number}
    if line.tracking_url:
        tracking["trackingURL"] = line.tracking_url
    override = {"intentToCancelOverride": True} if line.intent_to_cancel_override else {}
    return {"lineNumber": line.line_number, "sellerOrderId": line.seller_order_id, **override,
            "orderLineStatuses": {"orderLineStatus": [{
                "status": "Shipped", "statusQuantity": {"unitOfMeasurement": "EACH", "amount": str(line.quantity)},
                "trackingInfo": tracking}]}}


def _clean(filters: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in filters.items() if v is not None}
