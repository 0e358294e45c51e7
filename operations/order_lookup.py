"""``walmart-sync order <PO or Commerce increment id>``: where one Walmart order stands, on both sides.

"Where is PO Y?" is answered from four places: the importer's state (walmart_order_state: imported,
waiting, or refused and why), the mapping to the Commerce order and its lines, Commerce's order
(its state and, per item, what was shipped, cancelled and refunded), and Walmart's order now (one
read: line statuses). Walmart's clock runs whatever the sidecar does, so its deadlines are shown
beside: acknowledge within 4 hours of the order, ship by the estimated ship date, and Walmart
cancels a line not shipped 4 days after it (walmart-api-notes: "Performance alarms").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel

from plumbing.db import DbConnection
from sync_workers.stores.order_map import OrderMap
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartNotFound, WalmartServerError
from sync_workers.walmart.orders import OrdersApi

ACKNOWLEDGE_WITHIN = timedelta(hours=4)
AUTO_CANCEL_AFTER_SHIP_BY = timedelta(days=4)


class LineView(BaseModel):
    number: str
    sku: str
    quantity: int
    commerce_item_id: int | None = None
    commerce_shipped: int | None = None
    commerce_cancelled: int | None = None
    commerce_refunded: int | None = None
    walmart: dict[str, int] = {}  # quantity per Walmart line status


class OrderLookup(BaseModel):
    query: str
    purchase_order_id: str | None = None
    import_status: str | None = None
    import_error: str | None = None
    commerce_order_id: int | None = None
    commerce_increment_id: str | None = None
    commerce_state: str | None = None
    commerce_status: str | None = None
    order_date: datetime | None = None
    acknowledge_by: datetime | None = None
    ship_by: datetime | None = None
    auto_cancel_at: datetime | None = None
    lines: list[LineView] = []
    walmart_error: str | None = None
    findings: list[str] = []


def _ms(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _find_po(query: str, state: DbConnection, commerce: DbConnection) -> tuple[str | None, int | None]:
    """A PO as itself, or a Commerce increment id through the mapping or the order's ext_order_id."""
    with state.cursor() as cur:
        cur.execute("SELECT purchase_order_id, commerce_order_id FROM walmart_order_map "
                    "WHERE purchase_order_id = %s OR commerce_increment_id = %s LIMIT 1", (query, query))
        row = cur.fetchone()
        if row:
            return str(row[0]), int(row[1]) if row[1] is not None else None
        cur.execute("SELECT purchase_order_id, commerce_order_id FROM walmart_order_state "
                    "WHERE purchase_order_id = %s", (query,))
        row = cur.fetchone()
        if row:
            return str(row[0]), int(row[1]) if row[1] is not None else None
    with commerce.cursor() as cur:
        cur.execute("SELECT ext_order_id, entity_id FROM sales_order WHERE increment_id = %s OR ext_order_id = %s "
                    "LIMIT 1", (query, query))
        row = cur.fetchone()
    if row and row[0]:
        return str(row[0]), int(row[1])
    return None, None


def _commerce_side(found: OrderLookup, commerce: DbConnection, items: dict[int, LineView]) -> None:
    with commerce.cursor() as cur:
        cur.execute("SELECT increment_id, state, status FROM sales_order WHERE entity_id = %s",
                    (found.commerce_order_id,))
        row = cur.fetchone()
        if row:
            found.commerce_increment_id, found.commerce_state, found.commerce_status = row
        if items:
            cur.execute("SELECT item_id, qty_shipped, qty_canceled, qty_refunded FROM sales_order_item "
                        f"WHERE item_id IN ({', '.join(['%s'] * len(items))})", tuple(items))
            for item_id, shipped, cancelled, refunded in cur.fetchall():
                line = items[int(item_id)]
                line.commerce_shipped, line.commerce_cancelled, line.commerce_refunded = (
                    int(shipped or 0), int(cancelled or 0), int(refunded or 0))


def _walmart_side(found: OrderLookup, walmart: WalmartClient, lines: dict[str, LineView]) -> None:
    try:
        order = OrdersApi(walmart).get(str(found.purchase_order_id))
    except WalmartNotFound:
        found.walmart_error = "Walmart does not know this PO"
        return
    except (WalmartClientError, WalmartServerError) as exc:
        found.walmart_error = str(exc)
        return
    found.order_date = _ms(order.orderDate)
    found.ship_by = _ms(order.shippingInfo.get("estimatedShipDate"))
    for line in order.orderLines.orderLine:
        view = lines.setdefault(line.lineNumber, LineView(number=line.lineNumber, sku=line.item.sku,
                                                          quantity=int(line.orderLineQuantity.amount)))
        for status in line.orderLineStatuses.orderLineStatus:
            view.walmart[status.status] = view.walmart.get(status.status, 0) + int(status.statusQuantity.amount)


def _when(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "-"
    left = at - now
    hours = abs(left.total_seconds()) / 3600
    span = f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"
    return f"{at:%Y-%m-%d %H:%M} UTC ({'in ' + span if left.total_seconds() >= 0 else span + ' ago'})"


def _findings(found: OrderLookup, now: datetime) -> list[str]:
    words: list[str] = []
    if found.purchase_order_id is None:
        return [f"no Walmart order {found.query!r} is known: not a PO the order poller has seen, nor a Commerce "
                "order made from one. `walmart-sync lag` shows when Walmart's orders were last polled"]
    po = found.purchase_order_id
    waiting: dict[str, int] = {}  # units per Walmart status, over every line
    for line in found.lines:
        for status, n in line.walmart.items():
            waiting[status] = waiting.get(status, 0) + n
    if found.commerce_order_id is None:
        why = f"{found.import_status}" + (f": {found.import_error}" if found.import_error else "")
        words.append(f"PO {po} is not a Commerce order: {why or 'not imported yet'}")
        if found.import_status and found.import_status.startswith("failed"):
            words.append("Walmart's deadlines run anyway: fix the cause (a missing SKU, a refusal) and replay its "
                         "dead letter (`walmart-sync dlq list order_import`), or cancel it in Seller Center")
    else:
        words.append(f"PO {po} is Commerce order {found.commerce_increment_id} ({found.commerce_state})")
    if waiting.get("Created") and found.acknowledge_by is not None:
        late = found.acknowledge_by < now
        words.append(f"{waiting['Created']} unit(s) not acknowledged on Walmart; due {_when(found.acknowledge_by, now)}"
                     + (": LATE" if late else ""))
    open_units = waiting.get("Created", 0) + waiting.get("Acknowledged", 0)
    if open_units and found.ship_by is not None:
        words.append(f"{open_units} unit(s) to ship by {_when(found.ship_by, now)}; Walmart cancels them "
                     f"{_when(found.auto_cancel_at, now)}" + (": PAST THE SHIP-BY DATE" if found.ship_by < now else ""))
    differs = False
    for line in found.lines:
        if line.commerce_shipped is None:
            continue
        on_walmart = {"shipped": line.walmart.get("Shipped", 0) + line.walmart.get("Delivered", 0)
                      + line.walmart.get("Refund", 0), "cancelled": line.walmart.get("Cancelled", 0)}
        in_commerce = {"shipped": line.commerce_shipped,
                       "cancelled": (line.commerce_cancelled or 0)}
        for what, worker in (("shipped", "shipment"), ("cancelled", "cancellation")):
            if in_commerce[what] > on_walmart[what]:
                differs = True
                words.append(f"line {line.number} ({line.sku}): Commerce {what} {in_commerce[what]}, Walmart shows "
                             f"{on_walmart[what]}: the {worker} worker has not reported it (`walmart-sync lag`, "
                             f"`walmart-sync dlq list {worker}`)")
    if found.walmart_error:
        words.append(f"Walmart could not be asked: {found.walmart_error}")
    if not differs and found.commerce_order_id is not None and found.lines and not found.walmart_error:
        words.append("Walmart shows every shipment and cancellation Commerce made")
    return words


def look_up_order(query: str, commerce: DbConnection, state: DbConnection, walmart: WalmartClient | None,
                  now: datetime | None = None) -> OrderLookup:
    now = now or datetime.now(UTC)
    found = OrderLookup(query=query)
    orders = OrderMap(state)  # creates the tables on a fresh state schema
    po, commerce_id = _find_po(query, orders.conn, commerce)
    if po is None:
        found.findings = _findings(found, now)
        return found
    found.purchase_order_id, found.commerce_order_id = po, commerce_id
    with orders.conn.cursor() as cur:
        cur.execute("SELECT status, last_error, order_date, commerce_order_id FROM walmart_order_state "
                    "WHERE purchase_order_id = %s", (po,))
        row = cur.fetchone()
        if row:
            found.import_status, found.import_error = row[0], row[1]
            found.order_date = _ms(row[2])
            found.commerce_order_id = found.commerce_order_id or (int(row[3]) if row[3] is not None else None)
        cur.execute("SELECT line_number, sku, quantity, commerce_item_id FROM walmart_order_line_map "
                    "WHERE purchase_order_id = %s ORDER BY line_number", (po,))
        lines = {str(n): LineView(number=str(n), sku=sku, quantity=int(q), commerce_item_id=item)
                 for n, sku, q, item in cur.fetchall()}
    if found.commerce_order_id is not None:
        _commerce_side(found, commerce, {line.commerce_item_id: line for line in lines.values()
                                         if line.commerce_item_id is not None})
    if walmart is not None:
        _walmart_side(found, walmart, lines)
    found.lines = sorted(lines.values(), key=lambda line: (len(line.number), line.number))
    if found.order_date is not None:
        found.acknowledge_by = found.order_date + ACKNOWLEDGE_WITHIN
    if found.ship_by is not None:
        found.auto_cancel_at = found.ship_by + AUTO_CANCEL_AFTER_SHIP_BY
    found.findings = _findings(found, now)
    return found


def render(found: OrderLookup, now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    lines = [f"Walmart order {found.purchase_order_id or found.query}", ""]
    lines += [f"  * {line}" for line in found.findings]
    if found.purchase_order_id is None:
        return "\n".join(lines)
    lines.append("")
    lines.append(f"  import         {found.import_status or '-'}" + (f": {found.import_error}" if found.import_error else ""))
    if found.commerce_order_id is not None:
        lines.append(f"  Commerce       order {found.commerce_increment_id} (entity {found.commerce_order_id}), "
                     f"{found.commerce_state}/{found.commerce_status}")
    lines.append(f"  ordered        {_when(found.order_date, now)}")
    lines.append(f"  acknowledge by {_when(found.acknowledge_by, now)}")
    lines.append(f"  ship by        {_when(found.ship_by, now)}; auto-cancel {_when(found.auto_cancel_at, now)}")
    for line in found.lines:
        walmart = ", ".join(f"{status} {n}" for status, n in line.walmart.items()) or "-"
        commerce = ("-" if line.commerce_shipped is None else
                    f"shipped {line.commerce_shipped}, cancelled {line.commerce_cancelled}, "
                    f"refunded {line.commerce_refunded}")
        lines.append(f"  line {line.number:<9} {line.sku} x{line.quantity}: Walmart {walmart}; Commerce {commerce}")
    return "\n".join(lines)
