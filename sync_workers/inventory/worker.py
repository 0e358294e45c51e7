"""`walmart-sync work inventory`: keep Walmart's quantity equal to Commerce's salable quantity.

Stock events name SKUs; the worker reads their current positions from the database in one batch
(the event is the trigger, the database the truth), computes the quantity Walmart should show,
skips what Walmart already confirmed, and pushes the rest: single PUTs while few, one inventory
feed when more SKUs are pending than ``workers.feed_threshold``. Submitted feeds are recorded in
the state schema and polled on a timer; when one completes, its successes become confirmed and
all its SKUs are checked again, so a value that changed meanwhile (or a failed item) is pushed
afresh. Walmart refusing a SKU for good (not listed) dead-letters that SKU's records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pymysql

from config import Settings
from mappings.inventory import inventory_feed, walmart_quantity
from sync_workers.consumer import DeadLetter, Record, TransientError
from sync_workers.inventory.salable import read_positions
from sync_workers.state import InventoryState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError
from walmart_sync.logs import get_logger


class InventoryWorker:
    name = "inventory"
    families = ("stock",)

    def __init__(self, settings: Settings, client: WalmartClient, commerce: Any, state: InventoryState,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.state = state
        self.clock = clock
        self.log = get_logger("worker.inventory")
        self._next_feed_poll = 0.0
        self._recheck: set[str] = set()
        self.pushed_singles = 0
        self.pushed_feeds = 0

    def _wanted(self, sku: str) -> bool:
        rule = self.settings.workers.push_skus
        return rule == "all" or sku in rule

    # batches ---------------------------------------------------------------------------------
    def handle(self, records: list[Record]) -> list[DeadLetter]:
        by_sku: dict[str, list[Record]] = {}
        dead: list[DeadLetter] = []
        for record in records:
            sku = record.event.get("sku") if record.event else None
            if record.event.get("family") != "stock":
                continue
            if not isinstance(sku, str) or not sku:
                dead.append(DeadLetter(record, "stock event without a SKU (unknown product id)",
                                       "UNKNOWN_SKU"))
                continue
            if self._wanted(sku):
                by_sku.setdefault(sku, []).append(record)
        refused = self.sync(set(by_sku))
        for sku, (reason, code) in refused.items():
            dead += [DeadLetter(record, reason, code) for record in by_sku.get(sku, [])]
        return dead

    def tick(self) -> None:
        if self.clock() >= self._next_feed_poll:
            self._next_feed_poll = self.clock() + self.settings.workers.feed_poll_s
            self._poll_feeds()
        if self._recheck:
            skus, self._recheck = self._recheck, set()
            try:
                self.sync(skus)
            except TransientError:
                self._recheck |= skus

    # the sync itself ------------------------------------------------------------------------------
    def sync(self, skus: set[str]) -> dict[str, tuple[str, str | None]]:
        """Push what differs from Walmart's confirmed values; return SKUs Walmart refused for good."""
        if not skus:
            return {}
        mapping = self.settings.mapping
        try:
            self.commerce.ping(reconnect=True)
            positions = read_positions(self.commerce, skus, mapping.stock_id, mapping.msi_enabled)
            confirmed = self.state.confirmed(sorted(skus))
        except pymysql.MySQLError as exc:
            raise TransientError(f"database: {exc.args[-1]}") from exc
        targets = {sku: walmart_quantity(p, mapping.inventory_safety_buffer) for sku, p in positions.items()}
        changed = {sku: qty for sku, qty in targets.items() if confirmed.get(sku) != qty}
        if not changed:
            return {}
        if len(changed) > self.settings.workers.feed_threshold:
            return self._push_feed(changed)
        return self._push_singles(changed)

    def _push_singles(self, changed: dict[str, int]) -> dict[str, tuple[str, str | None]]:
        refused: dict[str, tuple[str, str | None]] = {}
        for sku, qty in sorted(changed.items()):
            try:
                self.client.update_inventory(sku, qty, self.settings.workers.ship_node)
            except WalmartClientError as exc:
                code = exc.details[0].code if exc.details else None
                refused[sku] = (f"Walmart refused the inventory update: {exc}", code)
                self.state.failed(sku, str(exc))
                continue
            except WalmartServerError as exc:
                raise TransientError(f"Walmart: {exc}") from exc
            self.state.confirm({sku: qty}, "single")
            self.pushed_singles += 1
        return refused

    def _push_feed(self, changed: dict[str, int]) -> dict[str, tuple[str, str | None]]:
        try:
            feed_id = self.client.feeds.submit("inventory", inventory_feed(changed),
                                               ship_node=self.settings.workers.ship_node)
        except WalmartServerError as exc:
            raise TransientError(f"Walmart feed submission: {exc}") from exc
        self.state.record_feed(feed_id, self.name, "inventory", changed)
        self.pushed_feeds += 1
        self.log.info("inventory feed submitted", feed_id=feed_id, skus=len(changed))
        return {}

    def _poll_feeds(self) -> None:
        for feed_id, items in self.state.open_feeds(self.name):
            try:
                result = self.client.feeds.status(feed_id)
            except (WalmartServerError, WalmartClientError) as exc:
                self.log.warning("feed status unavailable; will poll again", feed_id=feed_id, error=str(exc))
                continue
            if not result.done:
                continue
            succeeded = {i.sku: items[i.sku] for i in result.items
                         if i.ingestionStatus == "SUCCESS" and i.sku in items}
            self.state.confirm(succeeded, "feed", feed_id)
            for item in result.failed:
                self.log.warning("feed item failed", feed_id=feed_id, sku=item.sku, errors=item.errors)
            self.state.close_feed(feed_id, result.feedStatus)
            self._recheck |= set(items)  # changed meanwhile, or failed: check and push again
