"""Walmart Returns API calls: listing with cursors, and refunds that land exactly once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sync_workers.walmart.models import WalmartModel, land_once, path_segment


class ReturnQuantity(WalmartModel):
    unitOfMeasure: str
    measurementValue: float


class ReturnItem(WalmartModel):
    sku: str | None = None
    productName: str | None = None


class ReturnLine(WalmartModel):
    returnOrderLineNumber: int
    purchaseOrderId: str | None = None
    purchaseOrderLineNumber: int | None = None
    returnReason: str | None = None
    item: ReturnItem | None = None
    quantity: ReturnQuantity
    refundedQty: float | None = None
    status: str | None = None


class ReturnOrder(WalmartModel):
    returnOrderId: str
    customerOrderId: str
    returnOrderDate: str | None = None
    returnOrderLines: list[ReturnLine]

    @property
    def overall_status(self) -> str:
        """INITIATED while any line is, then DELIVERED while any line is, else COMPLETED (or the
        lines' common status, e.g. CANCELLED)."""
        statuses = {line.status or "INITIATED" for line in self.returnOrderLines}
        for status in ("INITIATED", "DELIVERED"):
            if status in statuses:
                return status
        return statuses.pop() if len(statuses) == 1 else "COMPLETED"

    def line(self, number: int) -> ReturnLine:
        return next(l for l in self.returnOrderLines if l.returnOrderLineNumber == number)


class ReturnsApi:
    def __init__(self, client: Any):
        self.client = client

    def list_returns(self, limit: int = 100, **filters: Any) -> Iterator[ReturnOrder]:
        for document in self.return_documents(limit, **filters):
            yield ReturnOrder.model_validate(document)

    def return_documents(self, limit: int = 100, **filters: Any) -> Iterator[dict[str, Any]]:
        """Returns as Walmart sent them, unvalidated (see OrdersApi.order_documents)."""
        params: dict[str, Any] | str = {"limit": limit, **{k: v for k, v in filters.items() if v is not None}}
        while True:
            if isinstance(params, str):
                response = self.client._send("returns", "GET", "/v3/returns" + params)
            else:
                response = self.client._send("returns", "GET", "/v3/returns", params=params)
            body = response.json()
            yield from body.get("returnOrders", [])
            cursor = body.get("meta", {}).get("nextCursor")
            if not cursor:
                return
            params = cursor

    def get(self, return_order_id: str) -> ReturnOrder:
        found = next(self.list_returns(returnOrderId=return_order_id), None)
        if found is None:
            raise KeyError(f"return {return_order_id} not found")
        return found

    def refund(self, return_order_id: str, customer_order_id: str, lines: list[tuple[int, int]],
               before: ReturnOrder | None = None) -> dict[str, Any]:
        """Refund ``(returnOrderLineNumber, quantity)`` pairs; re-reads after ambiguous failures.

        ``before`` is the return as the caller just read it to decide the lines (GET /v3/returns is
        50/min): given, the return is not read again before the refund, only after an ambiguous
        failure to see whether it landed."""
        body = {"customerOrderId": customer_order_id, "refundLines": [
            {"returnOrderLineNumber": number,
             "quantity": {"unitOfMeasure": "EACH", "measurementValue": quantity}}
            for number, quantity in lines]}
        if before is None:
            before = self.get(return_order_id)
        elif before.returnOrderId != return_order_id:
            raise ValueError(f"the return read before the refund is {before.returnOrderId}, not {return_order_id}")

        def send() -> dict[str, Any]:
            return self.client._send("return_refund", "POST", f"/v3/returns/{path_segment(return_order_id)}/refund",
                                     json=body, idempotent=False).json()

        earlier = before

        def landed() -> dict[str, Any] | None:
            now = self.get(return_order_id)
            done = all((now.line(n).refundedQty or 0) >= (earlier.line(n).refundedQty or 0) + q
                       for n, q in lines)
            return body if done else None

        return land_once(self.client, f"refund of return {return_order_id}", send, landed)
