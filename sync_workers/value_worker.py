"""What the inventory and price workers share: make Walmart hold an absolute value per SKU.

Events only name SKUs. For them the worker reads the current target values from the database in
one batch (the event is the trigger, the database the truth), skips what Walmart already
confirmed, and pushes the rest: single calls while few, one bulk feed when more SKUs are pending
than ``workers.feed_threshold`` (or than the API's budget allows). Submitted feeds are recorded
in the state schema and polled on a timer; when one completes its successes are confirmed and all
its SKUs are checked again, so a value that changed meanwhile, or a failed item, is pushed afresh.
Walmart refusing a SKU for good dead-letters that SKU's records.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pymysql

from config import Settings
from sync_workers.consumer import DeadLetter, Record, TransientError
from sync_workers.state import ValueState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError
from walmart_sync.logs import get_logger


class ValueWorker:
    name: str
    families: tuple[str, ...]
    feed_type: str
    single_api: str  # the client's bucket for single updates

    def __init__(self, settings: Settings, client: WalmartClient, commerce: Any, state: ValueState,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.state = state
        self.clock = clock
        self.log = get_logger(f"worker.{self.name}")
        self._next_feed_poll = 0.0
        self._recheck: set[str] = set()
        self.pushed_singles = 0
        self.pushed_feeds = 0

    # to implement ------------------------------------------------------------------------------
    def read_targets(self, skus: set[str]) -> dict[str, str]:
        """SKU -> the value Walmart should hold, as sent on the wire."""
        raise NotImplementedError

    def push_single(self, sku: str, value: str) -> None:
        raise NotImplementedError

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        raise NotImplementedError

    def next_checks(self, skus: set[str]) -> dict[str, datetime | None]:
        """When SKUs must be re-evaluated without an event; none by default."""
        return {}

    # batches -------------------------------------------------------------------------------------
    def _wanted(self, sku: str) -> bool:
        rule = self.settings.workers.push_skus
        return rule == "all" or sku in rule

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        by_sku: dict[str, list[Record]] = {}
        dead: list[DeadLetter] = []
        for record in records:
            event = record.event or {}
            if event.get("family") not in self.families:
                continue
            sku = event.get("sku")
            if not isinstance(sku, str) or not sku:
                dead.append(DeadLetter(record, f"{event.get('family')} event without a SKU "
                                               "(unknown product id)", "UNKNOWN_SKU"))
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
        try:
            self._recheck |= set(self.state.due(datetime.now()))
        except pymysql.MySQLError as exc:
            self.log.warning("state store unavailable for scheduled checks", error=str(exc))
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
        try:
            self.commerce.ping(reconnect=True)
            targets = self.read_targets(skus)
            self.state.schedule(self.next_checks(skus))
            confirmed = self.state.confirmed(sorted(skus))
        except pymysql.MySQLError as exc:
            raise TransientError(f"database: {exc.args[-1]}") from exc
        changed = {sku: value for sku, value in targets.items() if confirmed.get(sku) != value}
        if not changed:
            return {}
        budget = self.client.buckets[self.single_api].tokens()
        if len(changed) > min(self.settings.workers.feed_threshold, max(budget, 1)):
            return self._push_feed(changed)
        return self._push_singles(changed)

    def _push_singles(self, changed: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        refused: dict[str, tuple[str, str | None]] = {}
        for sku, value in sorted(changed.items()):
            try:
                self.push_single(sku, value)
            except WalmartClientError as exc:
                code = exc.details[0].code if exc.details else None
                refused[sku] = (f"Walmart refused the {self.name} update: {exc}", code)
                self.state.failed(sku, str(exc))
                continue
            except WalmartServerError as exc:
                raise TransientError(f"Walmart: {exc}") from exc
            self.state.confirm({sku: value}, "single")
            self.pushed_singles += 1
        return refused

    def _push_feed(self, changed: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        try:
            feed_id = self.client.feeds.submit(self.feed_type, self.feed_payload(changed),
                                               **self._feed_options())
        except WalmartServerError as exc:
            raise TransientError(f"Walmart feed submission: {exc}") from exc
        self.state.record_feed(feed_id, self.name, self.feed_type, changed)
        self.pushed_feeds += 1
        self.log.info("feed submitted", feed_id=feed_id, skus=len(changed))
        return {}

    def _feed_options(self) -> dict[str, Any]:
        return {}

    def _poll_feeds(self) -> None:
        try:
            open_feeds = self.state.open_feeds(self.name)
        except pymysql.MySQLError as exc:
            self.log.warning("state store unavailable for feed polling", error=str(exc))
            return
        for feed_id, items in open_feeds:
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
