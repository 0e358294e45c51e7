"""A Walmart purchase order as the Commerce cart that becomes its Commerce order (pure).

Prices are Walmart's (the PRODUCT charge per unit), tax is Walmart's (the charges' tax, which
Walmart collects and remits as marketplace facilitator, so Commerce must not compute its own),
shipping is the sum of SHIPPING charges, the
customer is a guest with Walmart's relay e-mail, the address is Walmart's shipping address. Only
quantity still open on Walmart (Created or Acknowledged) is ordered: a line Walmart already
cancelled is not bought.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.walmart_orders import OrderLine, WalmartOrder
from mappings.shipping import DEFAULT_SHIP_METHOD_MAP, commerce_ship_method

COUNTRIES = {"USA": "US", "US": "US", "CAN": "CA", "MEX": "MX"}


class OrderShapeError(ValueError):
    """The Walmart order lacks what a Commerce order needs; the message says what."""


@dataclass(frozen=True)
class CartLine:
    line_number: str
    sku: str
    qty: int
    unit_price: float
    tax: float = 0.0  # Walmart's tax on this quantity of the line
    shipping: float = 0.0  # the line's SHIPPING charge
    shipping_tax: float = 0.0  # Walmart's tax on it


@dataclass(frozen=True)
class CartRequest:
    lines: list[CartLine]
    address: dict[str, Any]
    shipping_amount: float
    email: str
    shipping_tax: float = 0.0


def _charges(line: OrderLine, charge_type: str, tax: bool = False) -> float:
    """The line's charges of one type, or (``tax``) the tax on them."""
    total = 0.0
    for charge in line.charges.get("charge") or []:
        if charge.get("chargeType") == charge_type:
            amount = ((charge.get("tax") or {}).get("taxAmount") or {}) if tax else (charge.get("chargeAmount") or {})
            try:
                total += float(amount.get("amount") or 0)
            except (TypeError, ValueError):
                raise OrderShapeError(f"line {line.lineNumber}: {charge_type} charge amount is not a number") \
                    from None
    return round(total, 2)


# the units a Commerce order is made of: those still open on Walmart (the seller ships them); of a
# WFS order every unit Walmart sold, shipped or not: Walmart ships it, often before it is polled, and
# Commerce keeps the record of the sale
SELLER_OPEN = ("Created", "Acknowledged")
WFS_SOLD = ("Created", "Acknowledged", "Shipped", "Delivered")


def walmart_order_to_cart(order: WalmartOrder) -> CartRequest:
    statuses = WFS_SOLD if order.fulfilled_by_walmart else SELLER_OPEN
    lines = order.orderLines.orderLine
    if not order.purchaseOrderId or not lines:
        raise OrderShapeError("order without purchaseOrderId or order lines")
    cart_lines, shipping, shipping_tax = [], 0.0, 0.0
    for line in lines:
        sku = line.item.sku
        try:
            ordered = int(line.orderLineQuantity.amount or 0)
            qty = line.quantity(*statuses)
        except (TypeError, ValueError):
            raise OrderShapeError(f"line {line.lineNumber}: a quantity is not a number") from None
        if not sku or ordered <= 0 or ordered > 10_000:
            raise OrderShapeError(f"line {line.lineNumber}: sku {sku!r}, quantity {ordered} is not orderable")
        if qty <= 0:
            continue
        product = _charges(line, "PRODUCT")
        tax = _charges(line, "PRODUCT", tax=True)
        if product < 0 or tax < 0:
            raise OrderShapeError(f"line {line.lineNumber}: negative product charge or tax")
        line_shipping, line_shipping_tax = _charges(line, "SHIPPING"), _charges(line, "SHIPPING", tax=True)
        cart_lines.append(CartLine(str(line.lineNumber), sku, qty, round(product / ordered, 2),
                                   round(tax * qty / ordered, 2), line_shipping, line_shipping_tax))
        shipping += line_shipping
        shipping_tax += line_shipping_tax
    info = order.shippingInfo or {}
    postal = info.get("postalAddress") or {}
    name = (postal.get("name") or "").split()
    if not postal.get("address1") or not postal.get("city") or not postal.get("postalCode"):
        raise OrderShapeError("shipping address lacks address1, city or postalCode")
    email = order.customerEmailId or f"{order.customerOrderId}@relay.walmart.com"
    address = {"firstname": name[0] if name else "Walmart", "lastname": " ".join(name[1:]) or "Customer",
               "street": [s for s in (postal.get("address1"), postal.get("address2")) if s],
               "city": postal["city"], "region": postal.get("state") or "", "postcode": postal["postalCode"],
               "country_id": COUNTRIES.get(str(postal.get("country") or "USA").upper(), "US"),
               "telephone": info.get("phone") or "0000000000", "email": email}
    return CartRequest(cart_lines, address, round(shipping, 2), email, round(shipping_tax, 2))


def _iso(ms: int | None) -> str | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def marketplace_order_request(order: WalmartOrder, cart: CartRequest, store_code: str,
                              ship_methods: dict[str, str] | None = None,
                              default_ship_method: str = "marketplace",
                              source_code: str | None = None) -> dict[str, Any]:
    """The body of the companion module's ``POST /V1/walmart-sync/orders`` (commerce-module/
    contract.json, routes.place): one call places the whole PO, keyed by its purchase order id.

    The ship method and Walmart's ship-by / deliver-by dates go with it: the module shows them on
    the order (its comment, its order attributes) and gives the order the carrier method the
    operator mapped the Walmart method to, so the warehouse picks Express before Value. A WFS
    order (Walmart ships it) says so, and the module places it without checking or reserving stock;
    the ship node Walmart assigned and the MSI source behind it (``source_code``) are shown for the
    shipment."""
    info = order.shippingInfo or {}
    table = DEFAULT_SHIP_METHOD_MAP if ship_methods is None else ship_methods
    address = {k: v for k, v in cart.address.items() if k != "email"}
    address["region"] = address.get("region") or None
    return {"order": {
        "purchase_order_id": order.purchaseOrderId,
        "customer_order_id": order.customerOrderId or None,
        "order_date": datetime.fromtimestamp(order.orderDate / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "store_code": store_code,
        "currency_code": "USD",
        "customer_email": cart.email,
        "customer_firstname": address["firstname"],
        "customer_lastname": address["lastname"],
        "shipping_address": address,
        "ship_method": info.get("methodCode") or None,
        "shipping_method_code": commerce_ship_method(order.ship_method, table, default_ship_method),
        "estimated_ship_date": _iso(order.ship_by_ms),
        "estimated_delivery_date": _iso(order.deliver_by_ms),
        "fulfillment": "WFSFulfilled" if order.fulfilled_by_walmart else "SellerFulfilled",
        "ship_node": order.ship_node_id,
        "source_code": source_code,
        "lines": [{"line_number": line.line_number, "sku": line.sku, "qty": line.qty, "unit_price": line.unit_price,
                   "tax_amount": line.tax, "shipping_amount": line.shipping,
                   "shipping_tax_amount": line.shipping_tax} for line in cart.lines]}}


# Walmart-side changes after import ----------------------------------------------------------------
# Walmart cancels lines on its own (a customer cancelling before the seller acknowledged, Walmart's
# auto-cancel of unshipped orders) and customers ask to cancel acknowledged lines (intentToCancel).
# Commerce must follow: what Walmart cancelled must not be shipped, and an intent to cancel is
# honoured (or shown to the merchant) before the warehouse ships it.

@dataclass(frozen=True)
class CommerceItemQty:
    """A Commerce order item of a Walmart PO line (sales_order_item quantities)."""

    line_number: str
    ordered: int
    shipped: int
    canceled: int
    refunded: int


@dataclass(frozen=True)
class WalmartLineQty:
    line_number: str
    quantity: int          # orderLineQuantity
    cancelled: int         # Cancelled on Walmart
    intent_to_cancel: bool


@dataclass(frozen=True)
class FollowUp:
    walmart_cancelled: dict[str, int]  # line -> units Walmart cancelled that Commerce still has open
    intent_lines: list[str]            # lines the customer asked to cancel, still open in Commerce
    cancel_order: bool                 # every unit still open in Commerce is to be cancelled

    def __bool__(self) -> bool:
        return bool(self.walmart_cancelled or self.intent_lines)

    def note(self, purchase_order_id: str) -> str:
        parts = []
        if self.walmart_cancelled:
            parts.append("Walmart cancelled " + ", ".join(f"{q} unit(s) of line {n}"
                                                          for n, q in sorted(self.walmart_cancelled.items())))
        if self.intent_lines:
            parts.append("the customer asked Walmart to cancel line(s) " + ", ".join(sorted(self.intent_lines)))
        return f"Walmart PO {purchase_order_id}: " + "; ".join(parts) + ". Do not ship these units."


def walmart_side_signature(lines: list[WalmartLineQty]) -> str:
    """What Walmart says about cancellations; a change means Commerce must be looked at again."""
    cancelled = ",".join(f"{l.line_number}={l.cancelled}" for l in lines if l.cancelled)
    intents = ",".join(l.line_number for l in lines if l.intent_to_cancel)
    return f"c:{cancelled};i:{intents}" if cancelled or intents else ""


def walmart_side_follow_up(items: list[CommerceItemQty], lines: list[WalmartLineQty],
                           honour_intent: bool) -> FollowUp:
    by_line = {l.line_number: l for l in lines}
    cancelled: dict[str, int] = {}
    intents: list[str] = []
    to_cancel_all = True
    anything = False
    for item in items:
        line = by_line.get(item.line_number)
        never_shipped_refund = max(0, item.refunded - item.shipped)
        closed = item.canceled + never_shipped_refund
        still_open = max(0, item.ordered - item.shipped - closed)
        if line is None:
            to_cancel_all = to_cancel_all and still_open == 0
            continue
        # units Walmart had already cancelled when the order was imported were never ordered here
        closed_on_walmart_by_commerce = closed + (line.quantity - item.ordered)
        extra = max(0, min(line.cancelled - closed_on_walmart_by_commerce, still_open))
        if extra:
            cancelled[item.line_number] = extra
        intent = line.intent_to_cancel and still_open - extra > 0
        if intent:
            intents.append(item.line_number)
        covered = extra + (still_open - extra if intent and honour_intent else 0)
        anything = anything or covered > 0
        to_cancel_all = to_cancel_all and covered == still_open
    return FollowUp(cancelled, intents, anything and to_cancel_all)
