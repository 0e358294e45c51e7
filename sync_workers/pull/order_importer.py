"""`walmart-sync work order_import`: each Walmart purchase order becomes exactly one Commerce order.

Orders are placed through the companion Commerce module (commerce-module/):
``POST /V1/walmart-sync/orders`` takes the whole PO and is idempotent on its purchase order id
(the module claims the PO in its own table before placing, and a repeated call answers the order
already placed), so one call per PO replaces the cart flow's seven, and exactly-once no longer
rests on searching for an order before creating one. The importer refuses to start on a Commerce
without the module, naming the install command.

Steps for a PO, each safe to repeat after a crash at any point:

1. Already mapped -> nothing to place; see that its acknowledgement is queued (step 4).
   Steps 2-3 hold a lock named after the PO in the state store, so two replicas after a rebalance
   do not both wait on the module for the same PO.
2. ``walmart_order_state`` says ``placing`` (recorded before the call), then the call. A crash
   after Commerce placed it and before the answer was recorded is cured by calling again: the
   module answers the same order (``created: false``). While another call is still placing it
   the module answers 409 PLACEMENT_IN_PROGRESS and the PO is parked for its ``retry_after``.
3. Record the PO <-> order and line <-> item mapping as the module reports Magento made them.
4. Acknowledge on Walmart — not inline: the PO is queued (``ack_pending``) and ``tick()``
   acknowledges the queue oldest order first, only while Walmart's acknowledge bucket has tokens
   (60/min), so a backlog becomes Commerce orders at Commerce's speed (stock reserved in
   Commerce at once) and the acknowledgements follow within Walmart's limit, well inside its
   4-hour rule (`walmart-sync lag` row ``deadline:acknowledge`` watches it).
5. Later polls of the PO: lines Walmart cancelled on its own and lines the customer asked to cancel
   (intentToCancel) are followed in Commerce: the order is cancelled there when nothing else of
   it is open (the cancellation worker then confirms intents to Walmart), else the merchant gets a
   comment on the order. What was acted on is recorded, so repeated polls act once.

Commerce refusing the order (sync_workers/commerce/refusals.py: the module's refusal code first,
Magento's wordings of 2.4.6-2.4.8 otherwise) for stock or an unsellable product cancels the Walmart
lines with ``workers.out_of_stock_cancel_reason``; any other refusal (an unknown SKU, a malformed
order, a refusal nobody knows) goes to the dead-letter topic with Magento's text; both are visible
in ``walmart_order_state`` with the reason. Commerce or Walmart unavailable retries the batch.

Shadow mode (``walmart.mode = "shadow"``, docs/shadow.md): the old integration (Channel Manager,
M2E Pro) still imports and acknowledges, so the importer places nothing in Commerce and
acknowledges nothing; each PO is recorded as what it would have imported (its lines) and
acknowledged, with the delay from Walmart's order date. Once live, a PO shadow mode saw is imported
only while Walmart still shows it unacknowledged (nobody took it); one the old integration
acknowledged is left to it (``left_to_old_integration``), so no PO becomes two Commerce orders.
The POs seen in shadow and not polled again are read once from Walmart at the first tick in live.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError

from config import Settings
from config.components import consumed_by
from domain.shadow import WouldSend
from domain.walmart_orders import WalmartOrder
from mappings.orders import (
    CommerceItemQty,
    OrderShapeError,
    WalmartLineQty,
    marketplace_order_request,
    walmart_order_to_cart,
    walmart_side_follow_up,
    walmart_side_signature,
)
from plumbing.db import DbConnection, scalar
from plumbing.locks import NamedLock
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from sync_workers.commerce.client import CommerceClient, CommerceClientError
from sync_workers.commerce.refusals import Refusal, classify
from sync_workers.pull.importing import Outcome, import_documents
from sync_workers.runtime.errors import NotYet, TransientError
from sync_workers.runtime.loop import DeadLetter, Record
from sync_workers.stores.order_map import OrderMap, OrderState, WalmartOrderFacts, oversized
from sync_workers.stores.shadow import ShadowLedger
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartNotFound, WalmartServerError
from sync_workers.walmart.orders import CancelLine
from sync_workers.walmart.shadow import short_payload

MODULE = "WalmartSync_Marketplace"
INSTALL_COMMAND = ("composer require walmart-sync/module-marketplace && bin/magento module:enable "
                   "WalmartSync_Marketplace && bin/magento setup:upgrade (commerce-module/README.md)")
# statuses of a PO whose acknowledgement is behind it
SETTLED = frozenset({"acknowledged", "past_acknowledgement", "cancelled_by_walmart", "cancelled_on_request",
                     "walmart_changes_noted", "wfs_recorded"})
# statuses after which Walmart's 4-hour acknowledge clock no longer runs: acknowledged, or cancelled
# on Walmart (out of stock, nothing left open); a refused or malformed PO is not among them
ACKNOWLEDGE_SETTLED = SETTLED | {"cancelled_out_of_stock", "skipped_nothing_open", "ignored_wfs"}
# imported, its acknowledgement queued for tick(); "acknowledging" while one replica sends it
ACK_QUEUED = ("ack_pending", "acknowledging")


class CommerceModuleMissing(Exception):
    """Commerce has no WalmartSync_Marketplace module: nothing can be imported (fatal: the
    worker stops and says so, instead of dead-lettering every order)."""


def walmart_progress(raw: dict[str, Any]) -> tuple[int | None, int | None]:
    """(estimatedShipDate in ms, units neither shipped, delivered nor cancelled) of a Walmart order
    document, each None where the document does not say (a malformed one)."""
    ship_by = (raw.get("shippingInfo") or {}).get("estimatedShipDate") if isinstance(raw, dict) else None
    try:
        ship_by_ms = None if ship_by is None else int(ship_by)
    except (TypeError, ValueError):
        ship_by_ms = None
    try:
        order = WalmartOrder.model_validate(raw)
    except ValidationError:
        return ship_by_ms, None
    return ship_by_ms, sum(line.quantity("Created", "Acknowledged") for line in order.orderLines.orderLine)


class OrderImporter:
    name = "order_import"
    event_fields: tuple[str, ...] | None = None  # documents are read whole
    backlog_records = 0
    families = consumed_by("order_import")
    # how long a PO another replica is importing is waited for before the batch is retried: short
    # enough to stay well inside max.poll.interval.ms, long enough for one import to finish
    place_wait_s = 5.0
    # one tick sends acknowledgements for at most this long, so the consumer loop is not starved
    ack_tick_budget_s = 2.0

    def __init__(self, settings: Settings, walmart: WalmartClient, commerce: CommerceClient, orders: OrderMap,
                 connect: Callable[[], DbConnection] | None = None):
        """``connect``: a new state-store connection, for the lanes that place a batch's POs side by
        side (``workers.order_import_concurrency``); without it POs are placed one at a time."""
        self.settings = settings
        self.walmart = walmart
        self.commerce = commerce
        self._primary = orders
        self._connect = connect
        self.concurrency = settings.workers.order_import_concurrency if connect is not None else 1
        self._lane = threading.local()  # a lane's own OrderMap: a connection is never shared by threads
        self._lanes: list[OrderMap] = []
        self._lanes_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None
        self._schemas: dict[int, str] = {}
        self.log = get_logger("worker.order_import")
        self.imported = 0
        self.acknowledged = 0
        self.cancelled_out_of_stock = 0
        self.module: dict[str, Any] | None = None
        # an acknowledgement claimed by a replica that died before sending it is taken over after
        # one request's time: sending one twice costs a token, never a wrong state (Walmart takes
        # the acknowledgement again while the PO is Created or Acknowledged)
        self.ack_claim_stale_s = settings.walmart.request_timeout_s + 5
        self.shadow = walmart.shadow
        self.ledger = ShadowLedger(orders.conn)  # serialises its own statements: lanes may share it
        self._shadow_checked = False
        self._module_warned = False
        self.would_import = 0

    @property
    def orders(self) -> OrderMap:
        """The calling lane's OrderMap (its own connection, so its own named locks), else the
        worker's: tick(), shadow mode and a one-lane import use that one."""
        lane: OrderMap | None = getattr(self._lane, "orders", None)
        return lane if lane is not None else self._primary

    def connections(self) -> list[DbConnection]:
        with self._lanes_lock:
            return [self._primary.conn, *(lane.conn for lane in self._lanes)]

    def _schema_of(self, conn: DbConnection) -> str:
        """The connection's database, asked once per connection (the PO locks are scoped by it)."""
        schema = self._schemas.get(id(conn))
        if schema is None:
            with conn.cursor() as cur:
                schema = str(scalar(cur, "SELECT DATABASE()") or "")
            self._schemas[id(conn)] = schema
        return schema

    def _each(self, import_one: Callable[[str, dict[str, Any]], Outcome],
              documents: list[tuple[str, dict[str, Any]]]) -> list[Outcome]:
        """A batch's POs through at most ``concurrency`` lanes at once. Each PO is still imported
        whole by one lane (its named lock, map row and queued acknowledgement as alone), so
        exactly-once is each PO's as before; the batch's offsets are committed only after every
        lane finished. A PO that raised makes the batch raise what the first such PO (in the
        batch's order) raised, after the others ended, as one lane would have: the loop retries
        the batch or narrows it down record by record, and the POs already imported are found
        mapped."""
        if self.concurrency <= 1 or len(documents) <= 1:
            return [import_one(po, raw) for po, raw in documents]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="order-import")
        futures = [self._pool.submit(self._in_lane, import_one, po, raw) for po, raw in documents]
        wait(futures)
        for future in futures:
            error = future.exception()
            if error is not None:
                raise error
        return [future.result() for future in futures]

    def _in_lane(self, import_one: Callable[[str, dict[str, Any]], Outcome], po: str,
                 raw: dict[str, Any]) -> Outcome:
        if getattr(self._lane, "orders", None) is None:
            assert self._connect is not None
            lane = OrderMap(self._connect())
            with self._lanes_lock:
                self._lanes.append(lane)
            self._lane.orders = lane
        return import_one(po, raw)

    def close(self) -> None:
        """The lanes' threads and connections (a worker that stops; tests)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None
        with self._lanes_lock:
            lanes, self._lanes = self._lanes, []
        for lane in lanes:
            try:
                lane.conn.close()
            except Exception:
                pass

    def require_module(self) -> dict[str, Any]:
        """The module's ``GET /V1/walmart-sync/module``, asked once; its absence stops the worker."""
        if self.module is None:
            info = self.commerce.module_info()
            if info is None or info.get("module") != MODULE:
                raise CommerceModuleMissing(
                    f"Commerce at {self.settings.commerce_api.base_url} has no {MODULE} module (GET "
                    f"/V1/walmart-sync/module answers 404): walmart-sync places Walmart orders through it. "
                    f"Install it: {INSTALL_COMMAND}")
            self.module = info
            self.log.info("Commerce module found", module=MODULE, version=info.get("version"),
                          magento=info.get("magento_version"))
        return self.module

    def tick(self) -> None:
        if self.shadow:
            return  # nothing is acknowledged in shadow mode: the old integration does it
        if not self._shadow_checked:
            self._take_shadow_release()
        self.acknowledge_due()

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        if self.shadow:
            self._check_module_for_later()
            return import_documents(records, "order", "purchaseOrderId", "MALFORMED_ORDER", self._would_import)
        self.require_module()
        return import_documents(records, "order", "purchaseOrderId", "MALFORMED_ORDER", self._import_tracked,
                                each=self._each)

    # shadow mode ----------------------------------------------------------------------------------
    def _check_module_for_later(self) -> None:
        """A trial needs no change to Commerce: without the module shadow mode goes on (it places
        nothing), and says once that live mode will need it."""
        if self.module is None and not self._module_warned:
            self._module_warned = True
            try:
                self.require_module()
            except CommerceModuleMissing as exc:
                self.log.warning("shadow mode goes on without the Commerce module; live mode needs it", error=str(exc))

    def _would_import(self, po: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        """Shadow mode: what the import would have done, recorded; nothing placed, nothing acknowledged."""
        try:
            order = WalmartOrder.model_validate(raw)
        except ValidationError as exc:
            return f"malformed Walmart order {po}: {str(exc).splitlines()[0]}", "MALFORMED_ORDER"
        if self.orders.commerce_order_of(po) is not None:
            return None  # imported while live, before the switch to shadow
        now, ordered = time.time(), order.orderDate / 1000
        lines = [{"line": line.lineNumber, "sku": line.item.sku, "qty": line.quantity("Created", "Acknowledged")}
                 for line in order.orderLines.orderLine if line.quantity("Created", "Acknowledged")]
        if not lines:
            return None  # nothing open on Walmart: the importer would skip it too
        entries = [WouldSend("order_import", po, "commerce_order", f"{len(lines)} line{'s' if len(lines) != 1 else ''}",
                             short_payload({"customerOrderId": order.customerOrderId, "lines": lines}),
                             would_send_at=now, changed_at=ordered)]
        if order.awaits_acknowledgement():
            entries.append(WouldSend("acknowledge", po, "order_acknowledge", None, "{}", would_send_at=now,
                                     changed_at=ordered))
        self.ledger.record(entries)
        self.would_import += 1
        self.log.info("shadow mode: Walmart order not imported", po=po, lines=len(lines))
        return None

    def _take_shadow_release(self) -> None:
        """Live after shadow mode: each PO it saw and nobody imported since is read from Walmart once
        and imported under the rule for shadow-seen POs (only while still unacknowledged)."""
        self._shadow_checked = True
        for entry in self.ledger.entries("order_import", pending_only=True):
            if self.orders.commerce_order_of(entry.key) is None:
                self.require_module()
                try:
                    document = self.walmart.orders.document(entry.key)
                except WalmartNotFound:
                    document = None  # gone from Walmart's 180 days: nothing to import
                if document is not None:
                    self._import_tracked(entry.key, document)
            self.ledger.release_one("order_import", entry.key, time.time())

    def _left_to_old_integration(self, po: str, order: WalmartOrder, current: OrderState | None) -> bool:
        """A PO shadow mode saw: Walmart shows it acknowledged (or further), so the old integration
        took it; importing it too would make a second Commerce order."""
        if current is not None and current.status == "left_to_old_integration":
            return True
        if not self.ledger.is_pending("order_import", po):
            return False
        self.ledger.release_one("order_import", po, time.time())
        self.ledger.release_one("acknowledge", po, time.time())
        if order.awaits_acknowledgement():
            return False  # nobody acknowledged it: the old integration did not take it, the sidecar does
        self.orders.set_state(po, "left_to_old_integration", order_date=order.orderDate,
                              error="seen in shadow mode and acknowledged on Walmart since: imported by the "
                                    "integration that ran before; not imported again")
        self.log.warning("Walmart order seen in shadow mode left to the old integration", po=po)
        return True

    def _import_tracked(self, po: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        """The import, then Walmart's ship-by date and the units still open on Walmart recorded
        for the deadline guard (`lag`, the status page), whatever the import's outcome: Walmart's
        clock runs for a PO refused for an unknown SKU too."""
        try:
            return self._import(po, raw)
        finally:
            ship_by, open_units = walmart_progress(raw)
            if isinstance(raw, dict) and str((raw.get("shipNode") or {}).get("type") or "") == "WFSFulfilled":
                open_units = 0  # Walmart ships a WFS order: no seller deadline runs for it
            try:
                self.orders.set_walmart_progress(po[:32], ship_by, open_units)
            except Exception as exc:  # the deadline view is not worth failing an import for
                self.log.warning("ship-by date not recorded", po=po, error=str(exc))

    def _import(self, po: str, raw: dict[str, Any]) -> tuple[str, str] | None:
        """Returns (reason, code) when the order cannot be imported; raises when it is worth retrying."""
        try:
            order = WalmartOrder.model_validate(raw)
            longest_line = max((line.lineNumber for line in order.orderLines.orderLine), key=len, default="")
            too_long = oversized({"purchaseOrderId": order.purchaseOrderId, "customerOrderId": order.customerOrderId,
                                  "lineNumber": longest_line})
            if too_long:
                return (f"Walmart order {po[:40]} cannot be recorded: {', '.join(too_long)}; nothing was created "
                        "in Commerce", "FIELD_TOO_LONG")
            cart = walmart_order_to_cart(order)
        except (ValidationError, OrderShapeError) as exc:
            reason = f"malformed Walmart order {po}: {str(exc).splitlines()[0]}"
            self.orders.set_state(po, "failed_malformed", error=reason)
            return reason, "MALFORMED_ORDER"
        walmart_fulfilled = order.fulfilled_by_walmart
        # read once: ``current`` is what steps before the placement decide on, and (nothing else
        # written meanwhile) what the acknowledgement step starts from
        commerce_id, current = self.orders.standing(po)
        if walmart_fulfilled and commerce_id is None and self.settings.workers.wfs_orders == "ignore":
            self.orders.set_state(po, "ignored_wfs", error="fulfilled by Walmart (WFS); workers.wfs_orders = ignore")
            return None
        if commerce_id is None and self._left_to_old_integration(po, order, current):
            return None
        if commerce_id is None:
            if not cart.lines:
                # nothing open on Walmart: skipped, unless the importer refused it before (a refusal
                # that cancelled its lines, polled again in a re-poll's lookback): that outcome stays,
                # since it says why there is no Commerce order
                if current is None or not (current.status == "cancelled_out_of_stock"
                                           or current.status.startswith("failed_")):
                    self.orders.set_state(po, "skipped_nothing_open", error="no open quantity on Walmart")
                return None
            with self._importing(po):
                commerce_id = self.orders.commerce_order_of(po)  # imported by another replica while we waited
                if commerce_id is not None:
                    current = self.orders.state(po)  # and so its state moved on too
                else:
                    placed = self._place(po, order, cart)
                    if placed is None or isinstance(placed, tuple):
                        return placed  # cancelled on Walmart, or refused
                    commerce_id = int(placed["order_id"])
                    self._record(po, order, placed)
                    # the state is the "placing" written just now, under this PO's lock
                    current = OrderState(po, "placing", None, None, None,
                                         current.walmart_followed if current else None)
                    with self._count_lock:
                        self.imported += 1
                    METRICS.order_import_delay.observe(max(0.0, time.time() - order.orderDate / 1000))
                    self.log.info("order imported", po=po, commerce_order=placed.get("increment_id"),
                                  created=placed.get("created"))
        if walmart_fulfilled:
            # Walmart neither takes an acknowledgement of a WFS order nor lets the seller ship or
            # cancel it: the Commerce order is a record of the sale, and stays one
            if current is None or current.status not in SETTLED:
                self.orders.set_state(po, "wfs_recorded", commerce_order_id=commerce_id)
        else:
            self._queue_acknowledgement(po, order, commerce_id, current)
        self._follow(po, order, commerce_id)
        return None

    @contextmanager
    def _importing(self, po: str) -> Iterator[NamedLock]:
        """The PO's lock, held from looking for its Commerce order to recording it. Released when
        the connection goes, so a replica that died holding it blocks nobody; one frozen holding
        it holds the PO (and only it) until it thaws and finishes, or is killed."""
        lock = NamedLock(self.orders.conn, f"order_import.{po}", self._schema_of(self.orders.conn))
        if not lock.try_acquire(self.place_wait_s):
            raise TransientError(f"Walmart order {po} is being imported by another replica; trying again")
        try:
            yield lock
        finally:
            lock.release()

    def _place(self, po: str, order: WalmartOrder, cart: Any) -> dict[str, Any] | tuple[str, str] | None:
        """One idempotent call: the order placed now, or the one placed for this PO before."""
        mapping, workers = self.settings.mapping, self.settings.workers
        node = order.ship_node_id
        sources = workers.ship_nodes.get(node or "") or []
        request = marketplace_order_request(order, cart, self.settings.commerce_api.store_code,
                                            mapping.ship_method_map, mapping.default_ship_method,
                                            source_code=sources[0] if sources else None)
        self.orders.set_state(po, "placing", order_date=order.orderDate)  # from here the order may exist
        try:
            placed = self.commerce.place_marketplace_order(request)
        except CommerceClientError as exc:
            return self._refused(po, order, classify(exc.message, exc.parameters))
        if placed.get("state") != "placed" or not placed.get("order_id"):
            raise TransientError(f"Commerce answered Walmart order {po} without a placed order: {placed}")
        if not placed.get("created"):
            self.log.info("Commerce already had the order of this PO", po=po, commerce_order=placed.get("increment_id"))
        return placed

    def _refused(self, po: str, order: WalmartOrder, refusal: Refusal) -> tuple[str, str] | None:
        if refusal.retry_after_s is not None:
            # another call is placing it (an earlier one of ours that timed out, most likely). The
            # module's retry_after is when that claim would go stale; the placement itself ends long
            # before, and asking again is cheap (the placed order is answered), so look sooner
            settle_s = 2 * self.settings.commerce_api.request_timeout_s + 5
            raise NotYet(f"PO {po}: Commerce is placing it in another call",
                         retry_after_s=max(1.0, min(refusal.retry_after_s, settle_s)))
        if refusal.cancel_on_walmart and not order.fulfilled_by_walmart:  # a WFS order is not the seller's to cancel
            self._cancel_on_walmart(po, order, refusal)
            return None
        where = f" (line {refusal.line_number}, SKU {refusal.sku})" if refusal.line_number else ""
        reason = f"Commerce refused Walmart order {po}{where}: {refusal.code}: {refusal.text}"
        self.orders.set_state(po, "failed_" + refusal.code.lower()[:25], error=reason)
        return reason, refusal.code

    def _cancel_on_walmart(self, po: str, order: WalmartOrder, refusal: Refusal) -> None:
        reason = self.settings.workers.out_of_stock_cancel_reason
        lines = [CancelLine(line.lineNumber, line.quantity("Created", "Acknowledged"), reason)
                 for line in order.orderLines.orderLine if line.quantity("Created", "Acknowledged")]
        try:
            if lines:
                self.walmart.orders.cancel(po, lines)
        except WalmartClientError as refused:
            self.orders.set_state(po, "failed_cancel", error=f"{refusal.code}; Walmart refused the cancel: {refused}")
            return None
        with self._count_lock:
            self.cancelled_out_of_stock += 1
        self.orders.set_state(po, "cancelled_out_of_stock", error=f"Commerce {refusal.code}: {refusal.text}")
        self.log.warning("Commerce refused the order; cancelled on Walmart", po=po, lines=len(lines), reason=reason,
                         refusal=refusal.code, magento=refusal.text)
        return None

    def _record(self, po: str, order: WalmartOrder, placed: dict[str, Any]) -> None:
        """Line -> item as Magento made them (the module's ``lines``), not as sent."""
        item_of = {str(line.get("line_number")): line.get("order_item_id") for line in placed.get("lines") or []}
        lines = [(line.lineNumber, int(item_of[line.lineNumber]) if item_of.get(line.lineNumber) else None,
                  line.item.sku, int(line.orderLineQuantity.amount)) for line in order.orderLines.orderLine]
        facts = WalmartOrderFacts(order.ship_method, order.ship_by_ms, order.deliver_by_ms,
                                  "WFSFulfilled" if order.fulfilled_by_walmart else "SellerFulfilled",
                                  order.ship_node_id)
        self.orders.record(po, order.customerOrderId, int(placed["order_id"]), placed.get("increment_id"), lines,
                           facts)

    def _queue_acknowledgement(self, po: str, order: WalmartOrder, commerce_id: int,
                               current: OrderState | None) -> None:
        if current is not None and (current.status in SETTLED or current.status in ACK_QUEUED):
            return  # an older poll of the PO still saying Created, or already queued
        if order.past_acknowledgement():
            # Walmart refuses the acknowledge of a PO with a unit shipped or cancelled (a customer
            # cancelling a line before the import): asking would only spend the budget on a refusal
            self.orders.set_state(po, "past_acknowledgement", commerce_order_id=commerce_id,
                                  error="not acknowledged: some units are already shipped or cancelled on Walmart, "
                                        "which then refuses an acknowledgement; the rest can still be shipped")
            self.log.info("not acknowledged: part of the PO is past acknowledgement on Walmart", po=po)
            return
        if not order.awaits_acknowledgement():
            self.orders.set_state(po, "acknowledged", commerce_order_id=commerce_id)
            return
        self.orders.set_state(po, "ack_pending", commerce_order_id=commerce_id, order_date=order.orderDate)

    def acknowledge_due(self) -> int:
        """Acknowledge queued POs, oldest order first, while Walmart's bucket has tokens (never
        waiting for one: the import goes on meanwhile). Each PO is claimed first, so replicas do
        not spend the shared budget twice; a claim whose owner died is taken over later."""
        bucket = self.walmart.buckets["order_acknowledge"]
        ends = time.monotonic() + self.ack_tick_budget_s
        sent = 0
        while time.monotonic() < ends and bucket.tokens() >= 1:
            due = self.orders.acknowledgements_due(min(bucket.tokens(), 50), self.ack_claim_stale_s)
            if not due:
                break
            for po in due:
                if time.monotonic() >= ends or bucket.tokens() < 1:
                    return sent
                if not self.orders.claim_acknowledgement(po, self.ack_claim_stale_s):
                    continue  # another replica has it
                try:
                    self.walmart.orders.acknowledge(po)
                except WalmartClientError as exc:
                    self.orders.set_state(po, "created", error=f"acknowledge refused: {exc}")
                    continue
                except WalmartServerError:
                    self.orders.set_state(po, "ack_pending")  # back in the queue
                    raise
                self.acknowledged += 1
                sent += 1
                self.orders.set_state(po, "acknowledged")
        return sent

    def _follow(self, po: str, order: WalmartOrder, commerce_id: int) -> None:
        lines = [WalmartLineQty(l.lineNumber, int(l.orderLineQuantity.amount), l.quantity("Cancelled"),
                                l.customer_asked_to_cancel)
                 for l in order.orderLines.orderLine]
        signature = walmart_side_signature(lines)
        if not signature:
            return  # nothing cancelled on Walmart's side (nearly every PO): no state to read
        current = self.orders.state(po)
        if current is not None and current.walmart_followed == signature:
            return
        found = self.commerce.get_order(commerce_id)
        mapped = self.orders.for_commerce_orders([commerce_id]).get(commerce_id)
        item_lines = mapped.lines if mapped else {}
        items = [CommerceItemQty(item_lines[int(i["item_id"])], int(i.get("qty_ordered") or 0),
                                 int(i.get("qty_shipped") or 0), int(i.get("qty_canceled") or 0),
                                 int(i.get("qty_refunded") or 0))
                 for i in found.get("items") or [] if int(i["item_id"]) in item_lines]
        follow = walmart_side_follow_up(items, lines, self.settings.workers.intent_to_cancel == "cancel")
        if follow:
            note = follow.note(po)
            # a WFS order reserved nothing: cancelling it in Commerce would hand back stock it never took
            cancelled = (follow.cancel_order and not order.fulfilled_by_walmart
                         and found.get("state") not in ("canceled", "closed", "complete")
                         and self.commerce.cancel_order(commerce_id))
            self.commerce.comment_order(commerce_id, note + (" The order was cancelled by walmart-sync."
                                                             if cancelled else ""))
            status = ("wfs_recorded" if order.fulfilled_by_walmart else
                      "walmart_changes_noted" if not cancelled else
                      "cancelled_by_walmart" if not follow.intent_lines else "cancelled_on_request")
            self.orders.set_state(po, status, commerce_order_id=commerce_id, error=note)
            self.log.warning("Walmart-side cancellation followed in Commerce", po=po, commerce_order=commerce_id,
                             cancelled=bool(cancelled), detail=note)
        self.orders.set_followed(po, signature)
