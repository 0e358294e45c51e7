"""A Walmart purchase order as the Commerce cart that becomes its Commerce order (pure).

Prices are Walmart's (the PRODUCT charge per unit), shipping is the sum of SHIPPING charges, the
customer is a guest with Walmart's relay e-mail, the address is Walmart's shipping address. Only
quantity still open on Walmart (Created or Acknowledged) is ordered: a line Walmart already
cancelled is not bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

COUNTRIES = {"USA": "US", "US": "US", "CAN": "CA", "MEX": "MX"}


class OrderShapeError(ValueError):
    """The Walmart order lacks what a Commerce order needs; the message says what."""


@dataclass(frozen=True)
class CartLine:
    line_number: str
    sku: str
    qty: int
    unit_price: float


@dataclass(frozen=True)
class CartRequest:
    lines: list[CartLine]
    address: dict[str, Any]
    shipping_amount: float
    email: str


def _charges(line: dict[str, Any], charge_type: str) -> float:
    total = 0.0
    for charge in (line.get("charges") or {}).get("charge") or []:
        if charge.get("chargeType") == charge_type:
            total += float((charge.get("chargeAmount") or {}).get("amount") or 0)
    return round(total, 2)


def _open_quantity(line: dict[str, Any]) -> int:
    statuses = ((line.get("orderLineStatuses") or {}).get("orderLineStatus")) or []
    return sum(int((s.get("statusQuantity") or {}).get("amount") or 0) for s in statuses
               if s.get("status") in ("Created", "Acknowledged"))


def walmart_order_to_cart(order: dict[str, Any]) -> CartRequest:
    po = order.get("purchaseOrderId")
    lines = ((order.get("orderLines") or {}).get("orderLine")) or []
    if not po or not lines:
        raise OrderShapeError("order without purchaseOrderId or order lines")
    cart_lines, shipping = [], 0.0
    for line in lines:
        sku = (line.get("item") or {}).get("sku")
        try:
            ordered = int((line.get("orderLineQuantity") or {}).get("amount"))
        except (TypeError, ValueError):
            raise OrderShapeError(f"line {line.get('lineNumber')}: orderLineQuantity is not a number") from None
        if not sku or ordered <= 0 or ordered > 10_000:
            raise OrderShapeError(f"line {line.get('lineNumber')}: sku {sku!r}, quantity {ordered} is not orderable")
        qty = _open_quantity(line)
        if qty <= 0:
            continue
        product = _charges(line, "PRODUCT")
        if product < 0:
            raise OrderShapeError(f"line {line.get('lineNumber')}: negative product charge")
        cart_lines.append(CartLine(str(line.get("lineNumber")), sku, qty, round(product / ordered, 2)))
        shipping += _charges(line, "SHIPPING")
    info = order.get("shippingInfo") or {}
    postal = info.get("postalAddress") or {}
    name = (postal.get("name") or "").split()
    if not postal.get("address1") or not postal.get("city") or not postal.get("postalCode"):
        raise OrderShapeError("shipping address lacks address1, city or postalCode")
    address = {"firstname": name[0] if name else "Walmart", "lastname": " ".join(name[1:]) or "Customer",
               "street": [s for s in (postal.get("address1"), postal.get("address2")) if s],
               "city": postal["city"], "region": postal.get("state") or "", "postcode": postal["postalCode"],
               "country_id": COUNTRIES.get(str(postal.get("country") or "USA").upper(), "US"),
               "telephone": info.get("phone") or "0000000000",
               "email": order.get("customerEmailId") or f"{order.get('customerOrderId')}@relay.walmart.com"}
    return CartRequest(cart_lines, address, round(shipping, 2), address["email"])
