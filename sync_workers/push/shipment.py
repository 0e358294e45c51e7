"""`walmart-sync work shipment`: report Commerce shipments of Walmart orders to Walmart.

Shipment events name Commerce orders. For the ones that came from Walmart (the order map), the
worker reads the order's shipments, items and first tracks from the database, reads the Walmart
order, and ships per PO line exactly the quantity Commerce shipped with tracking beyond what
Walmart already shows shipped (mappings/shipping.py). Being state-based, a replay after a crash
between Walmart's update and the offset commit ships nothing twice; a shipment whose track comes
later is reported when the track arrives. Walmart refusing for good dead-letters the records.

A line the customer asked to cancel (Walmart's ``intentToCancel``) is shipped with
``intentToCancelOverride``: the worker only ever reports units a Commerce shipment holds, so the
goods have left and Walmart must charge for them, not cancel them. Without the override Walmart
refuses the shipment for good, and the customer would keep goods never charged. Units not shipped
in Commerce are never overridden; the cancellation worker cancels those (docs/orders.md).

Each line is reported with its own ship method (``fulfillment.shipMethod``, else the order's
``shippingInfo.methodCode``, else ``mapping.walmart_method_code``): an Express line shipped as
Standard is a late shipment in Walmart's measure. WFS orders are never reported (OrderWorker).
"""

from __future__ import annotations

from typing import Any

from config.components import consumed_by
from mappings.shipping import CommerceShipment, line_method_code, lines_to_ship, walmart_carrier
from sync_workers.push.order_worker import OrderWorker
from sync_workers.walmart.orders import ShipLine


class ShipmentWorker(OrderWorker):
    name = "shipment"
    families = consumed_by("shipment")
    action = "shipment"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.shipped_lines = 0

    def _shipments(self, order_id: int) -> list[CommerceShipment]:
        with self.commerce.cursor() as cur:
            cur.execute("SELECT s.entity_id, si.order_item_id, si.qty FROM sales_shipment s "
                        "JOIN sales_shipment_item si ON si.parent_id = s.entity_id WHERE s.order_id = %s",
                        (order_id,))
            items: dict[int, dict[int, int]] = {}
            for shipment_id, item_id, qty in cur.fetchall():
                items.setdefault(shipment_id, {})[int(item_id)] = int(qty)
            cur.execute("SELECT parent_id, track_number, carrier_code, title FROM sales_shipment_track "
                        "WHERE order_id = %s ORDER BY entity_id", (order_id,))
            tracks: dict[int, tuple[str, str, str]] = {}
            for shipment_id, number, code, title in cur.fetchall():
                tracks.setdefault(shipment_id, (number, code, title))
        return [CommerceShipment(sid, quantities, *tracks.get(sid, (None, None, None)))
                for sid, quantities in items.items()]

    def reconcile(self, order: Any) -> None:
        shipments = self._shipments(order.commerce_order_id)
        walmart = self.client.orders.get(order.purchase_order_id)
        shipped = {line.lineNumber: line.quantity("Shipped", "Delivered") for line in walmart.orderLines.orderLine}
        todo = lines_to_ship(shipments, order.lines, shipped)
        if not todo:
            return
        mapping = self.settings.mapping
        lines = []
        asked_to_cancel = {line.lineNumber for line in walmart.orderLines.orderLine if line.customer_asked_to_cancel}
        method_of = {line.lineNumber: line_method_code(line.ship_method, walmart.ship_method, mapping.walmart_method_code)
                     for line in walmart.orderLines.orderLine}
        for shipment, line_number, quantity in todo:
            carrier = walmart_carrier(shipment.carrier_code, shipment.title, mapping.carrier_map,
                                      mapping.tracking_url_template, shipment.track_number or "")
            lines.append(ShipLine(
                line_number=line_number, quantity=quantity,
                seller_order_id=order.commerce_increment_id or str(order.commerce_order_id),
                tracking_number=shipment.track_number or "", carrier=carrier.get("carrier"),
                other_carrier=carrier.get("otherCarrier"), tracking_url=carrier.get("trackingURL"),
                method_code=method_of.get(line_number, mapping.walmart_method_code),
                intent_to_cancel_override=line_number in asked_to_cancel))
        overridden = sorted({line.line_number for line in lines if line.intent_to_cancel_override})
        if overridden:
            self.log.warning("shipped in Commerce although the customer asked to cancel: reported to Walmart "
                             "with intentToCancelOverride", po=order.purchase_order_id, lines=overridden)
        self.client.orders.ship(order.purchase_order_id, lines, before=walmart)
        self.shipped_lines += len(lines)
        self.log.info("shipment reported", po=order.purchase_order_id, lines=len(lines))
