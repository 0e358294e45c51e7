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
