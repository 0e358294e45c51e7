"""`walmart-sync work reconciler`: what Walmart *shows*, compared with what Commerce says now.

The push workers know what they sent and what Walmart confirmed; nothing else tells them that
Walmart's quantity was changed in Seller Center, that a price was reset, or that Walmart took an
item off the site (price parity, content, a policy), after which every push changes nothing. So
every ``reconcile.interval_s`` one slice of the seller's items is read back, a page of
GET /v3/items (price, publishedStatus and Walmart's unpublishedReasons of up to 200 items in one
call) and GET /v3/inventory for each of its SKUs, and compared with Commerce's salable quantity
and effective price read now, by the same mapping the workers push with. The cursor is kept in
the state store, so the whole catalogue is covered slice by slice, and a restart goes on where
it stopped. At the end of a cycle, SKUs the workers push that Walmart did not list at all are
missing.

The reads have a budget of their own (``reconcile.budget_fraction`` of Walmart's published limits
for those APIs, limits.py): a slice is as large as that budget allows, never larger, so the pushes
keep the rest.

Each difference is kept with its reason (walmart_drift, stores/drift.py) until a later read shows
the two agree. Quantity and price differences are fixed, unless the merchant turned that kind off
(``reconcile.fix``), through the workers' own recheck path: the SKU is doubted
(walmart_value_recheck, the mechanism a batch applied after a rebalance uses), so the running
inventory or price worker forgets what it had confirmed and pushes Commerce's current value within
its own budget (in shadow mode nothing is fixed: the difference is what going live would send). An
unpublished or missing item is not something a push fixes: it is listed for a
person, with Walmart's reason. A SKU with a push still owed (never confirmed, its value changed in Commerce
and not confirmed yet, a check due, a feed in flight, a price waiting for Walmart's 24 hours) is
not judged: the worker is on it, and a doubt now would only spend its budget twice.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from config import Settings
from mappings.inventory import node_value
from mappings.promotions import parse_wire, settled
from plumbing.db import DbConnection
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from plumbing.retry import backoff_delay
from sync_workers.push.inventory import quantity_targets
from sync_workers.push.price import price_reader, price_targets
from sync_workers.push.pushable import only_pushable, pushable_skus
from sync_workers.push.selling import SellingRules
from sync_workers.runtime.status import ComponentStatus
from sync_workers.stores.drift import FIX_OFF, NEEDS_A_PERSON, PUSHED_AGAIN, SHADOW_HELD, Drift, DriftStore
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import ValueState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartNotFound
from sync_workers.walmart.items import SellerItem
from sync_workers.walmart.limits import Limit, TokenBucket

# publishedStatus values that mean the item is not on the site (items.yml): Walmart took it down,
# or its setup failed on Walmart's side
OFF_THE_SITE = ("UNPUBLISHED", "SYSTEM_PROBLEM")
BUDGET_APIS = ("items", "inventory_get")
# what each drift kind is pushed by (the workers' value streams)
STREAM_OF = {"quantity": "inventory", "price": "price"}


def own_budget(bucket: TokenBucket, fraction: float, interval_s: float) -> TokenBucket:
    """``fraction`` of the client's rate for an API (its limits as configured: a seller's raised
    limits, a time-scaled emulator), holding what accrues over one interval, so a slice every
    5 minutes may spend 5 minutes' share at once (20 inventory reads a minute at 10 % of 200/min:
    100 per slice)."""
    rate = bucket.rate * fraction
    capacity = max(1, int(max(bucket.capacity * fraction, rate * interval_s)))
    return TokenBucket(Limit(capacity, capacity / rate))


class Reconciler:
    name = "reconciler"

    def __init__(self, settings: Settings, client: WalmartClient, commerce: DbConnection, state: DbConnection):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.state = state
        self.drift = DriftStore(state)
        self.listings = ListingStore(state)
        self.values = {stream: ValueState(state, stream) for stream in STREAM_OF.values()}
        self.prices = price_reader(settings, commerce)
        self.rules = SellingRules(settings, commerce)
        self.budget = {api: own_budget(client.buckets[api], settings.reconcile.budget_fraction,
                                       settings.reconcile.interval_s) for api in BUDGET_APIS}
        self.log = get_logger(self.name)
        self.status = ComponentStatus(settings, self.name)
        self._stop = threading.Event()
        self.running = threading.Event()
        self._seen: set[str] = set()  # SKUs Walmart listed in this cycle
        self._whole_cycle = False  # this process read the cycle from its first page
        self.slices = 0
        self.cycles = 0
        self.last_success: float | None = None
        self.last_error: str | None = None

    # the component ---------------------------------------------------------------------------------
    def run(self) -> None:
        self.status.start_heartbeat()
        attempt = 0
        try:
            while not self._stop.is_set():
                self.running.set()
                try:
                    self.reconcile_slice()
                    attempt = 0
                    wait = self.settings.reconcile.interval_s
                except Exception as exc:
                    attempt += 1
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    self.status.failed(f"reconciliation failed: {exc}")
                    try:
                        self.drift.failed(self.name, self.last_error)
                    except Exception:
                        pass
                    wait = backoff_delay(attempt, self.settings.workers.retry_base_s, self.settings.workers.retry_cap_s)
                    self.log.warning("reconciliation failed; will retry", error=str(exc), pause_s=round(wait, 2))
                self._stop.wait(wait)
        finally:
            self.running.clear()
            self.status.close()

    def stop(self) -> None:
        self._stop.set()

    def ready(self) -> tuple[bool, str]:
        if self.last_success is None:
            return (True, "starting") if self.last_error is None else (False, f"failing: {self.last_error}")
        age = time.time() - self.last_success
        return age < max(120.0, 4 * self.settings.reconcile.interval_s), f"last slice {age:.0f} s ago"

    # one slice -----------------------------------------------------------------------------------
    def reconcile_slice(self) -> list[Drift]:
        """Read one page of Walmart's items (and their quantities), compare, record, fix; returns
        the differences found in it."""
        size = min(self.settings.reconcile.page_size, self.budget["inventory_get"].tokens())
        if size < 1 or not self.budget["items"].try_take():
            self.log.debug("reconciliation budget spent; next slice later")
            return []
        cursor = self.drift.cursor(self.name)
        if cursor is None:
            self._seen, self._whole_cycle = set(), True
        items, next_cursor = self.client.items.items_page(size, cursor)
        self.budget["items"].answered()
        self._seen |= {item.sku for item in items}
        pushable = only_pushable(self.settings, self.listings, {item.sku for item in items}, self.commerce)
        on_page = {item.sku: item for item in items if item.sku in pushable}
        found, checked = self._compare(on_page)
        if next_cursor is None:  # the catalogue's end: what the workers push and Walmart does not list
            missing, all_pushable = self._missing()
            found += missing
            checked["missing"] = all_pushable
        else:
            checked["missing"] = set(on_page)  # listed, so not missing
        self._fix(found)
        self.drift.record(checked, found)
        for drift in found:
            METRICS.drift_found.labels(drift.kind).inc()
        METRICS.reconciled_items.inc(len(on_page))
        self.drift.progress(self.name, next_cursor, len(on_page), self.settings.reconcile.interval_s,
                            cycle_done=next_cursor is None)
        self.slices += 1
        if next_cursor is None:
            self.cycles += 1
        self.last_success = time.time()
        self.status.succeeded()
        if found:
            self.log.warning("Walmart differs from Commerce", skus=len({d.sku for d in found}),
                             kinds=sorted({d.kind for d in found}))
        return found

    def _compare(self, items: dict[str, SellerItem]) -> tuple[list[Drift], dict[str, set[str]]]:
        skus = set(items)
        found: list[Drift] = []
        checked: dict[str, set[str]] = {"quantity": set(), "price": set(), "unpublished": set(skus)}
        if not skus:
            return found, checked
        self.commerce.ping()
        quantities, prices = self._commerce_quantities(skus), self._commerce_prices(skus)
        # in shadow mode nothing is pushed, so nothing is owed: every SKU is judged, which is the
        # trial's "how Walmart differs today" (walmart-sync shadow report)
        owed = ({"quantity": set(), "price": set()} if self.client.shadow else
                {"quantity": self._push_owed("inventory", skus, quantities),
                 "price": self._push_owed("price", skus, prices)})
        for sku, item in sorted(items.items()):
            if item.publishedStatus in OFF_THE_SITE:
                reasons = item.unpublished_reasons
                found.append(Drift("unpublished", sku, "PUBLISHED", item.publishedStatus,
                                   "Walmart: " + ("; ".join(reasons) if reasons else "no reason given") +
                                   " (pushes change nothing on the site until it is published again)",
                                   NEEDS_A_PERSON))
            if sku in prices and sku not in owed["price"]:
                checked["price"].add(sku)
                shown = item.price_amount
                shown_text = None if shown is None else f"{shown:.2f}"
                regular = parse_wire(prices[sku]).base  # the item's price is the BASE one, promotion or not
                if shown_text != regular:
                    found.append(Drift("price", sku, regular, shown_text,
                                       f"Walmart shows {shown_text or 'no price'}, Commerce's effective price is "
                                       f"{regular}", self._action("price")))
            if sku in quantities and sku not in owed["quantity"]:
                if not self.budget["inventory_get"].try_take():
                    continue  # judged in the next cycle
                try:
                    shown_qty = self._shown_quantity(sku)
                except WalmartNotFound:
                    shown_qty = None
                finally:
                    self.budget["inventory_get"].answered()
                checked["quantity"].add(sku)
                if shown_qty is None or str(shown_qty) != quantities[sku]:
                    found.append(Drift("quantity", sku, quantities[sku], None if shown_qty is None else str(shown_qty),
                                       f"Walmart shows {shown_qty if shown_qty is not None else 'no inventory'}, "
                                       f"Commerce's salable quantity is {quantities[sku]}", self._action("quantity")))
        return found, checked

    def _shown_quantity(self, sku: str) -> int | str | None:
        """Walmart's quantity in the form the inventory worker pushes: one number, or with several
        ship nodes each configured node's (GET /v3/inventories/{sku}: one call for every node)."""
        nodes = self.settings.workers.ship_nodes
        if not nodes:
            return self.client.get_inventory(sku, self.settings.workers.ship_node).quantity.amount
        shown = self.client.get_inventories(sku)
        return node_value({node: shown.get(node, 0) for node in nodes})

    def _commerce_quantities(self, skus: set[str]) -> dict[str, str]:
        """What the inventory worker would push now (salable quantity, then the selling rule)."""
        return quantity_targets(self.settings, self.commerce, self.rules, skus)

    def _commerce_prices(self, skus: set[str]) -> dict[str, str]:
        """What the price worker would push now (final price, then the selling rule)."""
        previous = self.values["price"].confirmed(sorted(skus)) if self.settings.price.promotions == "promotions" else {}
        return price_targets(self.prices, self.rules, skus, datetime.now(UTC), settings=self.settings.price,
                             previous=previous)[0]

    def _push_owed(self, stream: str, skus: set[str], targets: dict[str, str]) -> set[str]:
        """SKUs the worker still owes Walmart a push for: Commerce changed since the last
        confirmation (the event is on its way), a feed is in flight, or the value waits for
        Walmart's own delay. Judging them now would count the sidecar's lag as Walmart's drift."""
        values = self.values[stream]
        now = datetime.now(UTC)
        confirmed = {sku: settled(value, now) for sku, value in values.confirmed(sorted(skus)).items()}
        # never confirmed (a fresh install's first comparison, a value doubted and not pushed yet, a
        # push that failed) or confirmed unlike Commerce now: the worker has not finished with it
        owed = {sku for sku in skus if not confirmed.get(sku) or confirmed[sku] != targets.get(sku)}
        owed |= set(values.due(datetime.now())) & skus
        owed |= set(values.waiting()) & skus
        for _feed, items in values.open_feeds(stream):
            owed |= set(items) & skus
        return owed

    def _action(self, kind: str) -> str:
        if self.client.shadow:
            return SHADOW_HELD
        return PUSHED_AGAIN if kind in self.settings.reconcile.fix else FIX_OFF

    def _missing(self) -> tuple[list[Drift], set[str]]:
        """At a cycle's end: pushed SKUs Walmart did not list. Only when this process read the
        whole cycle (after a restart mid-cycle it knows only part of what Walmart listed)."""
        if not self._whole_cycle:
            return [], set()
        pushable = pushable_skus(self.settings, self.listings, self.commerce)
        gone = sorted(pushable - self._seen)
        found = []
        for sku in gone:
            found.append(Drift("missing", sku, "listed", None, "Walmart does not list this SKU in the seller's items, "
                               "but the sidecar pushes it: every push is refused or lost (walmart-sync listings)",
                               NEEDS_A_PERSON))
        return found, pushable

    def _fix(self, found: list[Drift]) -> None:
        """Differences a push fixes: doubted in the worker's stream, so it pushes Commerce's value again."""
        now = datetime.now()
        for kind, stream in STREAM_OF.items():
            skus = sorted({d.sku for d in found if d.kind == kind and d.action == PUSHED_AGAIN})
            if skus:
                self.values[stream].doubt(skus, now)
                METRICS.drift_fixed.labels(kind).inc(len(skus))
                self.log.info(f"Walmart's {kind} differs: pushed again", skus=len(skus))


def walmart_view(client: WalmartClient, sku: str, ship_node: str | None = None) -> dict[str, Any]:
    """What Walmart shows for one SKU now (the lookup's third column): the item and its quantity."""
    item = client.items.get_item(sku)
    try:
        quantity: int | None = client.get_inventory(sku, ship_node).quantity.amount
    except WalmartNotFound:
        quantity = None
    return {"listed": item is not None, "published_status": item.publishedStatus if item else None,
            "unpublished_reasons": item.unpublished_reasons if item else [],
            "price": item.price_amount if item else None, "quantity": quantity}
