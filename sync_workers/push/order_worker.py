"""What the order workers (shipment, cancellation) share: events name Commerce orders, and for
those that came from Walmart the worker reconciles Commerce's state with Walmart's.

Each subclass implements ``reconcile(order)``, which compares states and sends only the
difference, so a replay of the same events changes nothing. Walmart refusing for good
dead-letters the order's records; Walmart or the database being unavailable retries the batch.
A reconcile holds a lock named after the worker and the order in the state store: after a
rebalance two replicas can hold the same order's records at once, and both would read Walmart
before either wrote, then both send the difference (a partial shipment or a refund twice).

An event for a Commerce order the map does not know is another channel's order, except in one
window: the importer places the order, then records it in the map, and a merchant can ship or
cancel in between (or the importer die there, to record it after its restart). Such an order
carries a PO the importer has begun (``sales_order.ext_order_id``, set by the placement itself)
and its records are parked until the map has it; dropping them lost that cancellation on Walmart
in the fault run.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from config import Settings
from plumbing.db import DbConnection
from plumbing.locks import NamedLock
from plumbing.logs import get_logger
from sync_workers.runtime.loop import DeadLetter, Outcome, Parked, Record, TransientError
from sync_workers.stores.order_map import MappedOrder, OrderMap
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError


class OrderWorker:
    name: str
    families: tuple[str, ...]
    event_fields: tuple[str, ...] | None = ("family", "order_id")
    backlog_records = 0
    action: str  # for messages: "shipment", "cancellation"
    # how long an order another replica is reconciling is waited for before the batch is retried
    reconcile_wait_s = 5.0

    def __init__(self, settings: Settings, client: WalmartClient, commerce: DbConnection, orders: OrderMap):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.orders = orders
        self.log = get_logger(f"worker.{self.name}")
        self.wfs_skipped = 0  # events of Walmart-fulfilled orders passed over

    def reconcile(self, order: MappedOrder) -> None:
        raise NotImplementedError

    def tick(self) -> None:
        pass

    def repair_gaps(self) -> None:
        """Records of this worker's topic were lost in Kafka (plumbing/gaps.py): every order imported
        from Walmart in its 180-day window is reconciled with Commerce's state, as an event for it
        would have been. Reconciling sends only the difference, so orders nothing was lost for cost
        one read of Walmart's order each; one Walmart refuses for good is logged and skipped (there
        is no record to dead-letter); an outage raises and the whole repair is tried again.

        Orders the importer is placing meanwhile are not in the map yet, and the lost records may
        have been theirs: the repair then ends with a retry (the gap stays open, and is shown so)
        until they are recorded."""
        in_flight = self.orders.imports_in_flight(self.import_in_flight_s)
        order_ids = self.orders.recent_commerce_orders()
        refused = 0
        for start in range(0, len(order_ids), 200):
            self.commerce.ping()
            for order in self.orders.for_commerce_orders(order_ids[start:start + 200]).values():
                if order.facts.walmart_fulfilled:
                    continue
                try:
                    self.reconcile(order)
                except WalmartClientError as exc:
                    refused += 1
                    self.log.error(f"Walmart refused the {self.action} of PO {order.purchase_order_id} "
                                   "during a gap repair", error=str(exc))
        self.log.warning(f"{self.action}s reconciled for every recent Walmart order after records were lost in "
                         "Kafka", orders=len(order_ids), refused=refused)
        if in_flight:
            raise TransientError(f"{len(in_flight)} Walmart order(s) being imported during the repair (e.g. PO "
                                 f"{in_flight[0]}); reconciling again once they are recorded")

    def connections(self) -> list[DbConnection]:
        return [self.commerce, self.orders.conn]

    @contextmanager
    def _reconciling(self, order: MappedOrder) -> Iterator[None]:
        """The order's lock for this worker, released with its connection if the replica dies."""
        lock = NamedLock(self.orders.conn, f"{self.name}.{order.commerce_order_id}")
        if not lock.try_acquire(self.reconcile_wait_s):
            raise TransientError(f"another replica is reporting the {self.action} of PO {order.purchase_order_id}; "
                                 "trying again")
        try:
            yield
        finally:
            lock.release()

    # how soon an event for an order still being imported is looked at again
    unmapped_retry_s = 5.0
    # a placement begun longer ago than this is not waited for by a gap repair: the importer's
    # recovery records it (or it failed), and its own events then reach the worker
    import_in_flight_s = 600.0

    def _being_imported(self, order_ids: list[int]) -> dict[int, str]:
        """Commerce order -> PO, for those of these orders that are Walmart orders the importer
        placed but has not recorded yet."""
        if not order_ids:
            return {}
        marks = ", ".join(["%s"] * len(order_ids))
        with self.commerce.cursor() as cur:
            cur.execute(f"SELECT entity_id, ext_order_id FROM sales_order WHERE entity_id IN ({marks}) "
                        f"AND ext_order_id IS NOT NULL", order_ids)
            po_of = {int(entity): str(po) for entity, po in cur.fetchall()}
        begun = self.orders.being_imported(sorted(set(po_of.values())))
        return {order_id: po for order_id, po in po_of.items() if po in begun}

    def handle(self, records: list[Record]) -> list[Outcome]:
        by_order: dict[int, list[Record]] = {}
        outcomes: list[Outcome] = []
        for record in records:
            order_id = (record.event or {}).get("order_id")
            if not isinstance(order_id, int):
                outcomes.append(DeadLetter(record, f"{self.action} event without an order id", "UNKNOWN_ORDER"))
                continue
            by_order.setdefault(order_id, []).append(record)
        self.commerce.ping()
        mapped = self.orders.for_commerce_orders(sorted(by_order))
        for order_id, po in self._being_imported(sorted(set(by_order) - set(mapped))).items():
            outcomes += [Parked(r, f"PO {po}: Commerce order {order_id} is not in the order map yet (being imported)",
                            self.unmapped_retry_s) for r in by_order[order_id]]
        for order_id, order in mapped.items():
            if order.facts.walmart_fulfilled:
                # Walmart ships WFS orders itself and refuses the seller's ship, cancel and refund of
                # them: whatever the merchant does to the Commerce record, nothing goes to Walmart
                self.log.info(f"Walmart-fulfilled (WFS) order: no {self.action} is reported", po=order.purchase_order_id)
                self.wfs_skipped += 1
                continue
            try:
                with self._reconciling(order):
                    self.reconcile(order)
            except WalmartClientError as exc:
                code = exc.details[0].code if exc.details else None
                outcomes += [DeadLetter(r, f"Walmart refused the {self.action} of PO "
                                       f"{order.purchase_order_id}: {exc}", code)
                         for r in by_order[order_id]]
        return outcomes
