"""Commerce shipments and tracks -> Walmart shipping lines (pure).

A Commerce track has a carrier_code (ups, usps, fedex, dhl, custom...) and a title; Walmart wants
one of its carrier names, or ``otherCarrier`` plus a tracking URL. The configured carrier map
decides; anything unmapped goes as otherCarrier with the track's title and a URL from the
configured template. The quantity to ship per PO line is what Commerce shipped with tracking
minus what Walmart already shows shipped, so replaying the same change ships nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mappings.carriers import WALMART_CARRIERS

# trackingInfo.methodCode: Walmart's ship methods (orders spec, shippingInfo.methodCode)
WALMART_METHOD_CODES = ("Standard", "Express", "OneDay", "Freight", "WhiteGlove", "Value")
# what the companion module's carrier takes as a method code (commerce-module/Logic/ShippingMethodCode.php)
SHIP_METHOD_CODE = r"^[a-z0-9_]{1,40}$"
# Walmart ship method -> the module's carrier method code; the module's own names for them
# (contract.json carrier.method_of_ship_method), so the map changes nothing until an operator edits it
DEFAULT_SHIP_METHOD_MAP = {"Value": "walmart_value", "Standard": "walmart_standard", "Express": "walmart_express",
                           "OneDay": "walmart_oneday", "Freight": "walmart_freight",
                           "WhiteGlove": "walmart_whiteglove"}


def commerce_ship_method(walmart_method: str | None, table: dict[str, str], default: str) -> str:
    """The Commerce (module carrier) method code for a Walmart order's ship method; Walmart's
    spelling is matched without regard to case, since line-level methods come upper-case."""
    by_lower = {k.lower(): v for k, v in table.items()}
    return by_lower.get((walmart_method or "").strip().lower(), default)


def line_method_code(line_ship_method: str | None, order_method: str | None, default: str) -> str:
    """The methodCode a line is shipped with: its own ship method (``fulfillment.shipMethod``,
    upper-case, e.g. ``EXPRESS``) when it is one of Walmart's codes, else the order's
    (``shippingInfo.methodCode``), else the configured one. Walmart measures a seller on shipping
    each line the way the customer bought it; a fixed code misreports every Express line."""
    by_lower = {code.lower(): code for code in WALMART_METHOD_CODES}
    for candidate in (line_ship_method, order_method):
        found = by_lower.get((candidate or "").strip().lower())
        if found:
            return found
    return default


@dataclass(frozen=True)
class CommerceShipment:
    shipment_id: int
    item_quantities: dict[int, int]  # Commerce order item id -> quantity in this shipment
    track_number: str | None
    carrier_code: str | None
    title: str | None


def walmart_carrier(carrier_code: str | None, title: str | None, carrier_map: dict[str, str],
                    url_template: str, track_number: str) -> dict[str, Any]:
    """carrierName (and trackingURL when needed) for a Commerce track."""
    mapped = carrier_map.get((carrier_code or "").lower())
    if mapped in WALMART_CARRIERS:
        return {"carrier": mapped}
    return {"otherCarrier": (title or carrier_code or "Other").strip()[:50],
            "trackingURL": url_template.format(number=track_number)}


def lines_to_ship(shipments: list[CommerceShipment], line_of_item: dict[int, str],
                  walmart_shipped: dict[str, int]) -> list[tuple[CommerceShipment, str, int]]:
    """(shipment, line number, quantity) still to report, oldest shipment first.

    Only shipments with a tracking number count (Walmart requires one). For each line, the
    quantity already shipped on Walmart covers the oldest shipments first.
    """
    covered = dict(walmart_shipped)
    out = []
    for shipment in sorted(shipments, key=lambda s: s.shipment_id):
        if not shipment.track_number:
            continue
        for item_id, quantity in sorted(shipment.item_quantities.items()):
            line = line_of_item.get(item_id)
            if line is None or quantity <= 0:
                continue
            already = min(covered.get(line, 0), quantity)
            covered[line] = covered.get(line, 0) - already
            if quantity - already > 0:
                out.append((shipment, line, quantity - already))
    return out
