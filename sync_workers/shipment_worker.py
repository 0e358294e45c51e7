"""`walmart-sync work shipment`: report Commerce shipments of Walmart orders to Walmart.

Shipment events name Commerce orders. For the ones that came from Walmart (the order map), the
worker reads the order's shipments, items and first tracks from the database, reads the Walmart
order, and ships per PO line exactly the quantity Commerce shipped with tracking beyond what
Walmart already shows shipped (mappings/shipping.py). Being state-based, a replay after a crash
between Walmart's update and the offset commit ships nothing twice; a shipment whose track comes
later is reported when the track arrives. Walmart refusing for good dead-letters the records.
"""

from __future__ import annotations

from typing import Any

import pymysql

from config import Settings
from mappings.shipping import CommerceShipment, lines_to_ship, walmart_carrier
from sync_workers.consumer import DeadLetter, Record, TransientError
from sync_workers.order_map import OrderMap
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError
from sync_workers.walmart.orders import ShipLine
from walmart_sync.logs import get_logger


class ShipmentWorker:
    name = "shipment"
    families = ("shipment",)

    def __init__(self, settings: Settings, client: WalmartClient, commerce: Any, orders: OrderMap):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.orders = orders
        self.log = get_logger("worker.shipment")
        self.shipped_lines = 0

    def tick(self) -> None:
        pass

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        by_order: dict[int, list[Record]] = {}
        dead = []
        for record in records:
            order_id = (record.event or {}).get("order_id")
            if not isinstance(order_id, int):
                dead.append(DeadLetter(record, "shipment event without an order id", "UNKNOWN_ORDER"))
                continue
            by_order.setdefault(order_id, []).append(record)
        try:
            self.commerce.ping(reconnect=True)
            mapped = self.orders.for_commerce_orders(sorted(by_order))
        except pymysql.MySQLError as exc:
            raise TransientError(f"database: {exc.args[-1]}") from exc
        for order_id, order in mapped.items():
            try:
                self._reconcile(order)
            except WalmartClientError as exc:
                code = exc.details[0].code if exc.details else None
                dead += [DeadLetter(r, f"Walmart refused the shipment of PO {order.purchase_order_id}: {exc}",
                                    code) for r in by_order[order_id]]
            except WalmartServerError as exc:
                raise TransientError(f"Walmart: {exc}") from exc
            except pymysql.MySQLError as exc:
                raise TransientError(f"database: {exc.args[-1]}") from exc
        return dead

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

    def _reconcile(self, order: Any) -> None:
        shipments = self._shipments(order.commerce_order_id)
        walmart = self.client.orders.get(order.purchase_order_id)
        shipped = {line.lineNumber: line.quantity("Shipped", "Delivered") for line in walmart.orderLines.orderLine}
        todo = lines_to_ship(shipments, order.lines, shipped)
        if not todo:
            return
        mapping = self.settings.mapping
        lines = []
        for shipment, line_number, quantity in todo:
            carrier = walmart_carrier(shipment.carrier_code, shipment.title, mapping.carrier_map,
                                      mapping.tracking_url_template, shipment.track_number or "")
            lines.append(ShipLine(
                line_number=line_number, quantity=quantity,
                seller_order_id=order.commerce_increment_id or str(order.commerce_order_id),
                tracking_number=shipment.track_number or "", carrier=carrier.get("carrier"),
                other_carrier=carrier.get("otherCarrier"), tracking_url=carrier.get("trackingURL"),
                method_code=mapping.walmart_method_code))
        self.client.orders.ship(order.purchase_order_id, lines)
        self.shipped_lines += len(lines)
        self.log.info("shipment reported", po=order.purchase_order_id, lines=len(lines))
