"""Lag time to Walmart, run by the inventory worker (``[lag_time]``; M2E Pro sends it with quantity).

Walmart takes lag time only as the ``lagtime`` feed, and only 6 of those a day (notes section 3),
so there is no per-change push to make: every ``lag_time.check_s`` (4 h by default, the budget's
pace) and at the worker's start, the lag time of every pushed SKU (mappings/lag_time.py: its
attribute, else the default) is compared with what Walmart confirmed (``walmart_values``, kind
``lagtime``) and what is in a feed not processed yet, and the SKUs that differ go in one feed,
when the feed budget has a token (else at the next look). A change in Commerce therefore reaches
Walmart within one check interval. Feed outcomes are polled as Walmart advises (15 min, 1 h, 2 h,
then every 4 h: feeds.poll_slot); successes are confirmed, a refused item (a lag time of two days
or more without Walmart's approval) is logged with Walmart's reason and kept as the SKU's last
error, and not sent again until its value changes (or the worker restarts): nothing is lost, and a
refusal does not spend the day's six feeds.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from config import Settings
from mappings.lag_time import lag_time_days, lag_time_feed
from plumbing.db import DbConnection
from plumbing.logs import get_logger
from sync_workers.commerce.product_groups import ProductGroupReader
from sync_workers.stores.value_state import ValueState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError
from sync_workers.walmart.feeds import BUCKETS, poll_slot

KIND = "lagtime"
MAX_FEED_ITEMS = 10_000


class LagTimeSync:
    def __init__(self, settings: Settings, client: WalmartClient, commerce: DbConnection, state: DbConnection,
                 catalogue: Callable[[], set[str]], clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.lag = settings.lag_time
        self.client = client
        self.commerce = commerce
        self.values = ValueState(state, KIND)
        self.catalogue = catalogue
        self.clock = clock
        self.log = get_logger("worker.lag_time")
        self._next_check = 0.0  # at the first tick
        self._next_poll = 0.0
        self._polled: dict[str, float] = {}  # feed -> the advised poll slot last polled at
        self._reader: ProductGroupReader | None = None
        self.feeds_submitted = 0
        # SKU -> the value Walmart refused: not sent again until it changes (or the worker restarts),
        # so one refused item does not spend the day's six feeds
        self._refused: dict[str, str] = {}

    def targets(self, skus: set[str]) -> dict[str, tuple[int, str]]:
        """SKU -> (its lag time, why); none for a SKU with neither an attribute value nor a default."""
        raw: dict[str, str] = {}
        if self.lag.attribute and skus:
            if self._reader is None or self._reader.eav.missing:  # an attribute created later counts from then
                self._reader = ProductGroupReader(self.commerce, self.settings.mapping.store_id, self.lag.attribute)
            raw = self._reader.attribute_texts(sorted(skus))
        found = {}
        for sku in skus:
            days, why = lag_time_days(raw.get(sku), self.lag.default_days)
            if days is not None:
                found[sku] = (days, why)
        return found

    def tick(self) -> None:
        if not self.lag.active():
            return
        now = self.clock()
        if now >= self._next_poll:
            self._next_poll = now + min(self.settings.workers.feed_poll_s, 30.0)
            self._poll()
        if now >= self._next_check:
            self._next_check = now + self.lag.check_s
            self._compare()

    def _compare(self) -> None:
        skus = self.catalogue()
        wanted = {sku: str(days) for sku, (days, _why) in self.targets(skus).items()}
        confirmed = self.values.confirmed(sorted(wanted))
        in_flight: dict[str, str] = {}
        for _feed, items in self.values.open_feeds(KIND):
            in_flight.update(items)
        changed = {sku: v for sku, v in wanted.items() if confirmed.get(sku) != v and in_flight.get(sku) != v
                   and self._refused.get(sku) != v}
        if not changed:
            return
        bucket = self.client.buckets[BUCKETS["lagtime"]]
        if bucket.tokens() < 1:  # 6 a day: wait for the budget, looking again when a token is due
            self._next_check = min(self._next_check, self.clock() + max(1.0, bucket.wait_s()))
            self.log.info("lag time changes wait for the lagtime feed budget", skus=len(changed),
                          in_s=round(bucket.wait_s(), 1))
            return
        batch = dict(sorted(changed.items())[:MAX_FEED_ITEMS])
        feed_id = self.client.feeds.submit("lagtime", lag_time_feed({sku: int(v) for sku, v in batch.items()}))
        self.values.record_feed(feed_id, KIND, "lagtime", batch)
        self.feeds_submitted += 1
        self.log.info("lagtime feed submitted", feed_id=feed_id, skus=len(batch))
        if len(batch) < len(changed):
            self._next_check = self.clock()  # the rest in the next feed, budget allowing

    def _poll(self) -> None:
        ages = self.values.feed_ages(KIND)
        first = self.settings.workers.feed_poll_s
        for feed_id, items in self.values.open_feeds(KIND):
            slot = poll_slot(ages.get(feed_id, 0.0), first)
            if slot is None or self._polled.get(feed_id) == slot:
                continue
            try:
                status = self.client.feeds.status(feed_id)
                self._polled[feed_id] = slot
                if not status.done:
                    continue
                result = self.client.feeds.result(feed_id)
            except (WalmartServerError, WalmartClientError) as exc:
                self.log.warning("lagtime feed unavailable; will poll again", feed_id=feed_id, error=str(exc))
                continue
            done = {i.sku: items[i.sku] for i in result.items if i.ingestionStatus == "SUCCESS" and i.sku in items}
            self.values.confirm(done, "feed", feed_id)
            for item in result.failed:
                if item.sku in items:
                    reason = "; ".join(f"{e.get('code')}: {e.get('description')}" for e in item.errors) or \
                        item.ingestionStatus
                    self.values.failed(item.sku, f"Walmart refused the lag time {items[item.sku]}: {reason}")
                    self._refused[item.sku] = items[item.sku]
                    self.log.warning("lag time refused", feed_id=feed_id, sku=item.sku, days=items[item.sku],
                                     reason=reason)
            self.values.close_feed(feed_id, result.feedStatus)
            self._polled.pop(feed_id, None)
