"""`walmart-sync work return_import`: each Walmart return becomes an RMA in Commerce, once.

A return names purchase orders and their lines; those the order importer mapped give the Commerce
order and items. On Adobe Commerce (``commerce_api.rma``) the return becomes one authorized RMA per
Commerce order, with Walmart's return id, reason and quantities in its comment, so the merchant's
usual workflow (receive, approve, credit memo) runs; when Walmart reports the goods delivered to
the return centre the RMA's items are marked received. Open Source has no RMA module: the return is
recorded in the state schema for support staff and the status page, and the merchant refunds with a
credit memo as usual. Either way the refund worker sends that credit memo back through Walmart's
Returns API.

Exactly once: the RMA is looked up by its comment (``Walmart return <id>``) on the order before one
is created, so a crash between creating it and recording it finds it instead of creating another.
A return of an order the sidecar never imported, or a malformed one, goes to the dead-letter topic
and is visible in ``walmart_return_map``.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import ValidationError

from config import Settings
from config.components import consumed_by
from domain.shadow import WouldSend
from plumbing.db import DbConnection
from plumbing.logs import get_logger
from sync_workers.commerce.client import CommerceClient, CommerceClientError
from sync_workers.pull.importing import import_documents
from sync_workers.runtime.loop import DeadLetter, Record
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.return_map import ReturnLineRecord, ReturnMap
from sync_workers.stores.shadow import ShadowLedger
from sync_workers.walmart.returns import ReturnOrder
from sync_workers.walmart.shadow import short_payload

NO_RMA_MODULE = "Request does not match any route."
RECEIVED_AT_WALMART = ("DELIVERED", "COMPLETED")


def rma_marker(return_order_id: str) -> str:
    return f"Walmart return {return_order_id} "


class ReturnImporter:
    name = "return_import"
    event_fields: tuple[str, ...] | None = None  # documents are read whole
    backlog_records = 0
    families = consumed_by("return_import")

    def __init__(self, settings: Settings, commerce: CommerceClient, orders: OrderMap, returns: ReturnMap):
        self.settings = settings
        self.commerce = commerce
        self.orders = orders
        self.returns = returns
        self.log = get_logger("worker.return_import")
        self.rma_available = settings.commerce_api.rma != "off"
        self.rmas_created = 0
        self.recorded = 0

    def connections(self) -> list[DbConnection]:
        return [self.orders.conn, self.returns.conn]

    def tick(self) -> None:
        pass

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        if self.settings.walmart.mode == "shadow":
            return import_documents(records, "return", "returnOrderId", "MALFORMED_RETURN", self._would_import)
        return import_documents(records, "return", "returnOrderId", "MALFORMED_RETURN", self._import)

    def _would_import(self, return_id: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        """Shadow mode (docs/shadow.md): the old integration handles returns, whose orders it imported;
        the return is recorded as what the importer would have followed, and nothing else."""
        lines = [{"po": line.get("purchaseOrderId"), "line": line.get("purchaseOrderLineNumber"),
                  "qty": (line.get("quantity") or {}).get("measurementValue")}
                 for line in raw.get("returnOrderLines") or [] if isinstance(line, dict)]
        count = f"{len(lines)} line{'s' if len(lines) != 1 else ''}"
        ShadowLedger(self.orders.conn).record([WouldSend(
            "return_import", return_id, "commerce_rma", count, short_payload({"lines": lines}), would_send_at=time.time())])
        return None

    def _import(self, return_id: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        try:
            found = ReturnOrder.model_validate(raw)
            lines = [(l, str(l.purchaseOrderId), str(l.purchaseOrderLineNumber)) for l in found.returnOrderLines
                     if l.purchaseOrderId and l.purchaseOrderLineNumber is not None]
            if not lines or len(lines) != len(found.returnOrderLines):
                raise ValueError("a return line lacks purchaseOrderId or purchaseOrderLineNumber")
            quantities = [int(l.quantity.measurementValue) for l, _, _ in lines]
            if any(q <= 0 or q > 10_000 for q in quantities):
                raise ValueError(f"return quantities {quantities} are not returnable")
        except (ValidationError, ValueError) as exc:
            reason = f"malformed Walmart return {return_id}: {str(exc).splitlines()[0]}"
            self._remember_failure(return_id, raw, "failed_malformed", reason)
            return reason, "MALFORMED_RETURN"
        mapped = self.orders.lines_of(sorted({po for _, po, _ in lines}))
        unknown = sorted({f"{po} line {n}" for _, po, n in lines if (po, n) not in mapped})
        records = [ReturnLineRecord(return_id, line.returnOrderLineNumber, po, n,
                                    mapped[(po, n)][0] if (po, n) in mapped else None,
                                    mapped[(po, n)][1] if (po, n) in mapped else None,
                                    line.item.sku if line.item else None, int(line.quantity.measurementValue),
                                    line.returnReason)
                   for line, po, n in lines]
        self.returns.record(return_id, found.customerOrderId, found.overall_status, found.returnOrderDate, records)
        if unknown:
            reason = (f"Walmart return {return_id} is for order lines walmart-sync did not import: "
                      f"{', '.join(unknown)}")
            self.returns.set_status(return_id, "failed_unknown_order", reason)
            return reason, "UNKNOWN_ORDER"
        state = self.returns.state(return_id)
        if not self.rma_available:
            self._record_only(return_id, state)
            return None
        return self._as_rmas(return_id, found, self.returns.lines(return_id), state)

    def _record_only(self, return_id: str, state: Any) -> None:
        """Open Source: the return stays in the state schema (status page, support) for the merchant."""
        if state is None or state.status in ("new", "recorded"):
            self.returns.set_status(return_id, "recorded", "no RMA module: refund it with a credit memo")
            if state is None or state.status == "new":
                self.recorded += 1
                self.log.info("Walmart return recorded (no RMA module)", return_order=return_id)
        return None

    def _as_rmas(self, return_id: str, found: ReturnOrder, lines: list[ReturnLineRecord],
                 state: Any) -> tuple[str, str] | None:
        by_order: dict[int, list[ReturnLineRecord]] = {}
        for line in lines:
            by_order.setdefault(int(line.commerce_order_id or 0), []).append(line)
        rma_ids: dict[int, int] = {}
        for order_id, order_lines in by_order.items():
            rma_id = order_lines[0].commerce_rma_id
            if rma_id is None:
                try:
                    rma_id = self._find_or_create_rma(return_id, found, order_id, order_lines)
                except CommerceClientError as exc:
                    if exc.status == 404 and exc.message == NO_RMA_MODULE and self.settings.commerce_api.rma == "auto":
                        self.rma_available = False
                        self.log.warning("the store has no RMA module; Walmart returns are recorded only")
                        self._record_only(return_id, state)
                        return None
                    reason = f"Commerce refused the RMA for Walmart return {return_id}: {exc.message}"
                    self.returns.set_status(return_id, "failed_rma", reason)
                    return reason, "COMMERCE_REFUSED"
                self.returns.set_rma(return_id, order_id, rma_id)
            rma_ids[order_id] = rma_id
        rma_status = state.rma_status if state else None
        if found.overall_status in RECEIVED_AT_WALMART and rma_status != "received":
            for order_id, rma_id in rma_ids.items():
                self._mark_received(return_id, rma_id, by_order[order_id])
            rma_status = "received"
        self.returns.set_status(return_id, "rma_created", "RMA " + ", ".join(str(i) for i in rma_ids.values()),
                                rma_status=rma_status or "authorized")
        return None

    def _find_or_create_rma(self, return_id: str, found: ReturnOrder, order_id: int,
                            lines: list[ReturnLineRecord]) -> int:
        marker = rma_marker(return_id)
        for rma in self.commerce.find_rmas(order_id):
            if any(comment.startswith(marker) for comment in self.commerce.rma_comments(int(rma["entity_id"]))):
                self.log.info("found the RMA created before a crash", return_order=return_id, rma=rma["entity_id"])
                return int(rma["entity_id"])
        items = [{"order_item_id": line.commerce_item_id, "qty_requested": line.quantity,
                  "qty_authorized": line.quantity, "status": "authorized"} for line in lines]
        detail = "; ".join(f"PO {l.purchase_order_id} line {l.po_line_number}: {l.quantity} x {l.sku}, "
                           f"reason {l.reason or 'not given'}" for l in lines)
        rma = self.commerce.create_rma(order_id, items, f"{marker}(customer order {found.customerOrderId}): {detail}",
                                       email=getattr(found, "customerEmailId", None))
        self.rmas_created += 1
        self.log.info("Walmart return became an RMA", return_order=return_id, rma=rma.get("increment_id"),
                      commerce_order=order_id)
        return int(rma["entity_id"])

    def _mark_received(self, return_id: str, rma_id: int, lines: list[ReturnLineRecord]) -> None:
        rma = self.commerce.get_rma(rma_id)
        quantities: dict[int, int] = {}
        for line in lines:
            item_id = int(line.commerce_item_id or 0)
            quantities[item_id] = quantities.get(item_id, 0) + line.quantity
        items = [{"entity_id": item["entity_id"], "status": "received",
                  "qty_returned": quantities.get(int(item["order_item_id"]), 0)}
                 for item in rma.get("items") or [] if int(item["order_item_id"]) in quantities]
        self.commerce.update_rma(rma_id, "received", items,
                                 f"{rma_marker(return_id)}delivered to Walmart's return centre")
        self.log.info("Walmart return delivered: RMA items received", return_order=return_id, rma=rma_id)

    def _remember_failure(self, return_id: str, raw: dict[str, Any], status: str, reason: str) -> None:
        self.returns.record(return_id, str(raw.get("customerOrderId") or ""), None, None, [])
        self.returns.set_status(return_id, status, reason)
