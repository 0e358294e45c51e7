"""What the inventory and price workers share: make Walmart hold an absolute value per SKU.

Events only name SKUs. For them the worker reads the current target values from the database in
one batch (the event is the trigger, the database the truth), skips what Walmart already
confirmed, and pushes the rest: single calls while the API's budget drains them faster than a
feed would be processed, otherwise the budget's worth as singles and the rest in one feed
(push/plan.py). Submitted feeds are recorded in the state schema and their status polled as
Walmart advises (15 min, 1 h, 2 h after submission, then every 4 h: feeds.poll_slot), without
item details; once one is done its items are read, page by page, on a thread of their own, so
the consumer loop goes on handling events meanwhile (an 858-item feed is 18 pages). Then its
successes are confirmed and all its SKUs are checked again, so a value that changed meanwhile,
or a failed item, is pushed afresh.
Walmart refusing a SKU for good dead-letters that SKU's records. A value Walmart will not take
*yet* (a price within 24 h of the item's setup) is neither: it waits, durably, as a due check at
the time Walmart will take it (``walmart_values_waiting`` says why, for lag and the status page),
and the records that named it are done: the check, not the record, brings the value later, so
the partition is not held back for a day.

Bursts: a transaction of thousands of rows (an import, a warehouse sync) is committed whole before
the listener has decoded its first rows, and decoding it takes seconds. Waiting for every event
would submit the feed late, or split the burst over several feeds (10 an hour). So when a batch
shows a large source transaction (its row ordinal, from the event id) or a large consumer backlog,
the worker compares every product's value with Walmart's at once: the database already holds the
whole burst, and one feed carries it. The events still to come find their values in flight.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, Literal

import pymysql

from config import Settings
from domain.events import parse_event_id
from plumbing.db import DbConnection
from plumbing.logs import get_logger
from sync_workers.push.plan import plan_push
from sync_workers.push.pushable import only_pushable, pushable_skus
from sync_workers.push.resync import take_initial_load
from sync_workers.push.selling import SellingRules, record_rules_applied, rules_changed_since_applied
from sync_workers.runtime.loop import DeadLetter, Record, TransientError
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.shadow import ShadowLedger
from sync_workers.stores.value_state import ValueState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError, WalmartWritesOff
from sync_workers.walmart.feeds import BUCKETS as FEED_BUCKETS
from sync_workers.walmart.feeds import FeedResult, FeedType, poll_slot

BULK_SCAN_INTERVAL_S = 30.0
INITIAL_LOAD_CHECK_S = 30.0  # how often a worker looks for a full comparison the listener asked for
FEED_CHECK_S = 30.0  # at most this long between looks at which open feed is due for a status poll


class ValueWorker:
    name: str
    families: tuple[str, ...]
    event_fields: tuple[str, ...] | None = ("family", "sku", "event_id", "type")
    catalogue_event_types: frozenset[str] = frozenset()  # event types that make every pushed SKU due
    feed_type: FeedType
    single_api: str  # the client's bucket for single updates
    selling_family: Literal["price", "quantity"] | None = None  # which selling-rule fields decide its values

    def __init__(self, settings: Settings, client: WalmartClient, commerce: DbConnection, state: ValueState,
                 clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.state = state
        self.clock = clock
        self.log = get_logger(f"worker.{self.name}")
        self._next_feed_poll = 0.0
        self._next_initial_load_check = 0.0
        self._recheck: set[str] = set()
        self.pushed_singles = 0
        self.pushed_feeds = 0
        self.feed_eta_s = settings.workers.feed_expected_s
        self.backlog_records = 0  # records queued behind the current batch; the loop keeps it current
        self._feed_submitted: dict[str, float] = {}
        self._scheduled: set[str] = set()  # SKUs with a due check in the state store
        self._scanned_txns: deque[str] = deque(maxlen=256)  # bulk transactions already compared in full
        self._last_scan = float("-inf")
        self.bulk_scans = 0
        self.reverified = 0
        self.listings = ListingStore(state.conn)
        self._pool = ThreadPoolExecutor(settings.workers.single_concurrency, thread_name_prefix=f"{self.name}-push")
        self._waited: set[str] = set()  # SKUs sent to wait by the push in progress
        self._feed_slots: dict[str, float] = {}  # feed -> the advised poll time last polled at
        # feeds done on Walmart whose item outcomes are being read: feed -> (its SKUs' values, the read)
        self._feed_reads: dict[str, tuple[dict[str, Any], Future[FeedResult]]] = {}
        self._feed_reader = ThreadPoolExecutor(1, thread_name_prefix=f"{self.name}-feed-items")
        self.feed_status_polls = 0
        self.waiting_skus = 0  # values sent to wait so far (the metric is the state store's count)
        self.rules = SellingRules(settings, commerce)
        self._rules_checked = False
        self._shadow_checked = False
        self.withheld = 0  # values shadow mode held back (walmart.mode = "shadow")
        if client is not None and client.shadow and self.event_fields is not None:
            # the binlog commit time, for the latency shadow mode reports; live keeps its events slim
            self.event_fields = (*self.event_fields, "source")

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

    def settled(self, values: dict[str, str]) -> dict[str, str]:
        """Confirmed (or in-flight) values as Walmart holds them now: the same by default; a price
        promotion Walmart ended by itself is its BASE price alone (push/price.py)."""
        return values

    # what Walmart will not take yet: none by default -------------------------------------------------
    wait_reason = ""

    def not_before(self, skus: set[str]) -> dict[str, datetime]:
        """SKUs whose value Walmart is known to refuse until a time: they wait, nothing is sent."""
        return {}

    def too_early(self, errors: list[Any]) -> datetime | None:
        """Walmart refused a value for now, not for good (its error details, or a feed item's
        ingestion errors): until when to wait; None for a refusal that stands."""
        return None

    # batches -------------------------------------------------------------------------------------
    def connections(self) -> list[DbConnection]:
        return [self.commerce, self.state.conn]

    def _pushable(self, skus: set[str]) -> set[str]:
        return only_pushable(self.settings, self.listings, skus, self.commerce, self._batch_composites())

    def _batch_composites(self) -> Any:
        """A reader of product types for this batch's push filter (and, in the inventory worker, its
        targets); None: the filter makes its own."""
        return None

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        by_sku: dict[str, list[Record]] = {}
        dead: list[DeadLetter] = []
        whole_catalogue = False
        for record in records:
            event = record.event or {}
            if event.get("family") not in self.families:
                continue
            if event.get("type") in self.catalogue_event_types:
                whole_catalogue = True  # a change with no row per SKU: every pushed SKU is read again
                continue
            sku = event.get("sku")
            if not isinstance(sku, str) or not sku:
                dead.append(DeadLetter(record, f"{event.get('family')} event without a SKU "
                                               "(unknown product id)", "UNKNOWN_SKU"))
                continue
            by_sku.setdefault(sku, []).append(record)
        if self.client.shadow and self.selling_family is not None:
            self.client.change_times.note(self.selling_family, _change_times(by_sku))
        due = self._take_due()
        skus = set(by_sku) | due
        try:
            if self._bulk(records) or whole_catalogue:
                skus |= self._catalogue()
            refused = self.sync(self._pushable(skus))
        except BaseException:
            self._recheck |= due  # the loop retries the batch's records; the due checks must come with them
            raise
        for sku, (reason, code) in refused.items():
            dead += [DeadLetter(record, reason, code) for record in by_sku.get(sku, [])]
        return dead

    def _bulk(self, records: list[Record]) -> bool:
        """A batch of a large source transaction not compared in full yet, or a large backlog."""
        threshold = self.settings.workers.bulk_scan_rows
        if threshold <= 0 or self.clock() - self._last_scan < BULK_SCAN_INTERVAL_S:
            return False  # off, or an importer committing every few hundred rows: one comparison at a time
        large: set[str] = set()
        for record in records:
            parts = parse_event_id(str((record.event or {}).get("event_id") or ""))
            if parts and parts.ordinal + 1 >= threshold and parts.txn not in self._scanned_txns:
                large.add(parts.txn)
        backlog = self.backlog_records >= threshold
        if not large and not backlog:
            return False
        self._scanned_txns.extend(large)
        self._last_scan = self.clock()
        self.bulk_scans += 1
        self.log.info("burst: comparing every product with Walmart", transactions=sorted(large),
                      backlog=self.backlog_records)
        return True

    def _catalogue(self) -> set[str]:
        """Every SKU this worker may push."""
        return pushable_skus(self.settings, self.listings, self.commerce)

    def batch_lost(self, records: list[Record]) -> None:
        """This replica applied a batch after the group had given its partitions to another (a
        batch that overran max.poll.interval.ms, a process frozen). Both pushed the batch's SKUs;
        a push of this replica's older values may have landed on Walmart after the new owner's,
        and the two confirmations race in the state store, which can then claim a value Walmart
        does not hold, so no later event or replay would push it again. So the SKUs are doubted in
        the state store: once the new owner's batch of those records is surely over (one
        max.poll.interval.ms: a longer one would make that owner lose it too), whichever replica
        looks first pushes them again from the database's current values."""
        skus = sorted({str((r.event or {}).get("sku")) for r in records
                       if (r.event or {}).get("family") in self.families and (r.event or {}).get("sku")})
        if skus:
            settle_s = (self.settings.kafka.tuning_for(self.name).max_poll_interval_ms or 300_000) / 1000
            self.state.doubt(skus, datetime.now() + timedelta(seconds=settle_s))
            self.log.warning("batch applied after a rebalance: its SKUs will be pushed again once the new owner "
                             "is through", skus=len(skus), in_s=round(settle_s, 1))

    def _take_doubted(self) -> None:
        skus = self.state.take_doubted(datetime.now())
        self._recheck |= set(skus)
        self.reverified += len(skus)

    def tick(self) -> None:
        if not self._rules_checked:
            self._take_rule_change()
        if not self._shadow_checked:
            self._take_shadow_release()
        if self.clock() >= self._next_initial_load_check:
            self._next_initial_load_check = self.clock() + INITIAL_LOAD_CHECK_S
            self._take_initial_load()
        self._apply_feed_reads()  # no I/O until a read is done
        if self.clock() >= self._next_feed_poll:
            self._next_feed_poll = self.clock() + min(self.settings.workers.feed_poll_s, FEED_CHECK_S)
            self._poll_feeds()
        self._take_doubted()
        skus = self._take_due()
        if skus:
            try:
                self.sync(self._pushable(skus))
            except BaseException:
                self._recheck |= skus  # looked at again on the next tick, after the loop's backoff
                raise

    def repair_gaps(self) -> None:
        """Records of this stream's topic were lost in Kafka (plumbing/gaps.py): every pushable SKU is
        made due, and the ticks that follow compare each with what Walmart confirmed and push what
        differs, within the budget (singles or a feed), as `walmart-sync resync` does."""
        now = datetime.now()
        skus = self._catalogue()
        self.state.schedule({sku: now for sku in skus})
        self.log.warning("full comparison with Walmart after records were lost in Kafka: every pushed SKU is due",
                         skus=len(skus))

    def _take_rule_change(self) -> None:
        """Selling rules changed since this stream's values were computed: every pushed SKU is due,
        compared with Walmart within the budget like any due check (no Commerce change needed)."""
        family = self.selling_family
        if family is not None and rules_changed_since_applied(self.state.conn, self.settings, family):
            now = datetime.now()
            skus = self._catalogue()
            self.state.schedule({sku: now for sku in skus})
            self.log.warning("selling rules changed: every pushed SKU is compared again", skus=len(skus),
                             rules=self.settings.selling.digest(family))
        if family is not None:
            record_rules_applied(self.state.conn, self.settings, family)
        self._rules_checked = True

    def _take_shadow_release(self) -> None:
        """Live after a shadow trial: what shadow mode held back of this stream is due now, pushed within
        the budget like any due check (nothing of it was confirmed, so it still differs)."""
        self._shadow_checked = True
        if self.client.shadow or self.selling_family is None:
            return
        skus = ShadowLedger(self.state.conn).release(self.selling_family, time.time())
        if skus:
            now = datetime.now()
            self.state.schedule({sku: now for sku in skus})
            self.log.warning("live after shadow mode: the values it held back are pushed", skus=len(skus))

    def _take_initial_load(self) -> None:
        """A fresh install (or a start past changes the binlog no longer has) compares every pushed SKU
        with Walmart once: nothing else would bring Walmart to Commerce's values until each SKU changed."""
        due, reasons = take_initial_load(self.settings, self.state.conn, self.commerce)
        if due:
            self.log.warning("full comparison with Walmart: every pushed SKU is due", skus=due, reasons=reasons)

    def _take_due(self) -> set[str]:
        """SKUs to look at again without an event: feed outcomes, deferred singles, price windows."""
        try:
            due = set(self.state.due(datetime.now()))
            self._scheduled |= due
            self._recheck |= due
        except pymysql.MySQLError as exc:
            self.log.warning("state store unavailable for scheduled checks", error=str(exc))
        skus, self._recheck = self._recheck, set()
        return skus

    # the sync itself ------------------------------------------------------------------------------
    def sync(self, skus: set[str]) -> dict[str, tuple[str, str | None]]:
        """Push what differs from Walmart's confirmed values; return SKUs Walmart refused for good."""
        if not skus:
            return {}
        self.commerce.ping()
        targets = self.read_targets(skus)
        confirmed = self.settled(self.state.confirmed(sorted(skus)))
        in_flight = self.settled(self._in_flight())
        served = skus & self._scheduled
        refused, deferred = self._push_changed(targets, confirmed, in_flight)
        # only now that the push went out (or was deferred) are the due checks it served cleared,
        # and the next ones (price windows) set: a push that fails leaves them due in the state store
        checks: dict[str, datetime | None] = {sku: None for sku in served - deferred}
        checks.update({sku: at for sku, at in self.next_checks(skus).items() if sku not in deferred})
        self.state.schedule(checks)
        self._scheduled -= skus - deferred
        return refused

    def _push_changed(self, targets: dict[str, str], confirmed: dict[str, str], in_flight: dict[str, str]
                      ) -> tuple[dict[str, tuple[str, str | None]], set[str]]:
        """Push what differs; returns the SKUs Walmart refused and those deferred to a later check."""
        # A value already on its way in a submitted feed is not sent again: in a burst every
        # batch names the same SKUs, and feeds are the scarcest budget (10 an hour).
        changed = {sku: value for sku, value in targets.items()
                   if confirmed.get(sku) != value and in_flight.get(sku) != value}
        # a due SKU whose value no longer differs waits for nothing any more
        self.state.stop_waiting(sorted(sku for sku in targets if sku not in changed and sku in self._scheduled))
        self._waited = set()
        self._wait(self.not_before(set(changed)))
        changed = {sku: value for sku, value in changed.items() if sku not in self._waited}
        if not changed:
            return {}, set(self._waited)
        single = self.client.buckets[self.single_api]
        tokens = single.tokens()
        plan = plan_push(len(changed), tokens, 1.0 / single.rate, self.feed_eta_s,
                         self.client.buckets[FEED_BUCKETS[self.feed_type]].tokens(),
                         self.settings.workers.feed_threshold, self.backlog_records)
        ordered = sorted(changed)
        if not plan.feed:
            # Singles, but only as many as the bucket holds now: the rest are deferred (durably,
            # as due checks) instead of waiting here, so the next batch is decided together
            # with them and can still turn a growing backlog into a feed.
            now, deferred = ordered[:tokens], ordered[tokens:]
            if deferred:
                self.state.schedule({sku: datetime.now() for sku in deferred})
                self._scheduled |= set(deferred)
            refused_now = self._push_singles({sku: changed[sku] for sku in now})
            return refused_now, set(deferred) | self._waited
        now, later = ordered[:plan.singles], ordered[plan.singles:]
        self.log.info("backlog: pushing part as singles and the rest as a feed", singles=len(now),
                      feed=len(later), feed_eta_s=round(self.feed_eta_s, 1))
        refused = self._push_feed({sku: changed[sku] for sku in later})  # the feed first: it takes longest
        refused.update(self._push_singles({sku: changed[sku] for sku in now}))
        return refused, set(self._waited)

    def _wait(self, until: dict[str, datetime]) -> None:
        """Values Walmart will take only later: due then, shown as waiting, neither failed nor refused."""
        if not until:
            return
        by_reason: dict[str, dict[str, datetime]] = {}
        for sku, at in until.items():
            by_reason.setdefault(self.wait_reason_of(sku), {})[sku] = at
        for reason, part in by_reason.items():
            self.state.wait(part, reason)
            self.log.info(f"{self.name} updates waiting: {reason}", skus=len(part),
                          until=min(part.values()).isoformat(timespec="seconds"))
        self._scheduled |= set(until)
        self._waited |= set(until)
        self.waiting_skus += len(until)

    def wait_reason_of(self, sku: str) -> str:
        """Why ``sku``'s value waits (``wait_reason`` unless the worker knows better)."""
        return self.wait_reason

    def _in_flight(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for _feed_id, items in self.state.open_feeds(self.name):  # oldest first: the newest wins
            values.update(items)
        return values

    def _push_singles(self, changed: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        """Single updates, a few in flight at once: against a remote Walmart each call is latency
        bound (tens of ms), so one at a time would leave most of the API's budget unused."""
        if not changed:
            return {}
        refused: dict[str, tuple[str, str | None]] = {}
        outcomes: dict[str, Exception | None] = {}

        withheld: set[str] = set()

        def push(item: tuple[str, str]) -> None:
            try:
                self.push_single(*item)
                outcomes[item[0]] = None
            except WalmartWritesOff:
                withheld.add(item[0])  # shadow mode: recorded by the client, nothing to confirm
            except (WalmartClientError, WalmartServerError) as exc:
                outcomes[item[0]] = exc

        items = sorted(changed.items())
        if len(items) == 1 or self.settings.workers.single_concurrency == 1:
            for item in items:
                push(item)
        else:
            list(self._pool.map(push, items))
        self.withheld += len(withheld)
        done = {sku: changed[sku] for sku, error in outcomes.items() if error is None}
        self.state.confirm(done, "single")
        self.pushed_singles += len(done)
        early: dict[str, datetime] = {}
        for sku, error in outcomes.items():
            if isinstance(error, WalmartClientError) and (until := self.too_early(error.details)) is not None:
                early[sku] = until
        self._wait(early)
        server_error = None
        for sku, error in outcomes.items():
            if sku in early:
                continue
            if isinstance(error, WalmartClientError):
                code = error.details[0].code if error.details else None
                said = "; ".join(d.description for d in error.details if d.description)  # Walmart's why, in its words
                refused[sku] = (f"Walmart refused the {self.name} update: {error}" + (f": {said}" if said else ""), code)
                self.state.failed(sku, refused[sku][0])
            elif isinstance(error, WalmartServerError):
                server_error = error
        if server_error is not None:  # what landed is confirmed; the batch retries the rest
            raise TransientError(f"Walmart: {server_error}") from server_error
        return refused

    def _push_feed(self, changed: dict[str, str]) -> dict[str, tuple[str, str | None]]:
        try:
            feed_id = self.client.feeds.submit(self.feed_type, self.feed_payload(changed), **self._feed_options())
        except WalmartWritesOff:
            self.withheld += len(changed)  # shadow mode: recorded by the client, no feed to follow
            return {}
        self.state.record_feed(feed_id, self.name, self.feed_type, changed)
        self._feed_submitted[feed_id] = self.clock()
        self.pushed_feeds += 1
        self.log.info("feed submitted", feed_id=feed_id, skus=len(changed))
        return {}

    def _feed_options(self) -> dict[str, Any]:
        return {}

    def _poll_feeds(self) -> None:
        """Ask each open feed's status at its advised times, without item details; start reading
        the items of a feed that is done."""
        try:
            open_feeds = self.state.open_feeds(self.name)
            ages = self.state.feed_ages(self.name)
        except pymysql.MySQLError as exc:
            self.log.warning("state store unavailable for feed polling", error=str(exc))
            return
        first = self.settings.workers.feed_poll_s
        for feed_id, items in open_feeds:
            slot = poll_slot(ages.get(feed_id, 0.0), first)
            if feed_id in self._feed_reads or slot is None or self._feed_slots.get(feed_id) == slot:
                continue
            try:
                result = self.client.feeds.status(feed_id)
            except (WalmartServerError, WalmartClientError) as exc:
                self.log.warning("feed status unavailable; will poll again", feed_id=feed_id, error=str(exc))
                continue  # this slot is still to poll: at the next look
            self._feed_slots[feed_id] = slot
            self.feed_status_polls += 1
            if result.done:
                self._feed_reads[feed_id] = (items, self._feed_reader.submit(self.client.feeds.result, feed_id))

    def _apply_feed_reads(self) -> None:
        for feed_id, (items, read) in list(self._feed_reads.items()):
            if not read.done():
                continue
            del self._feed_reads[feed_id]
            try:
                result = read.result()
            except BaseException as exc:
                self._feed_slots.pop(feed_id, None)  # its status is asked again at the next look
                if isinstance(exc, (WalmartServerError, WalmartClientError)):
                    self.log.warning("feed items unavailable; will read again", feed_id=feed_id, error=str(exc))
                    continue
                raise
            self._apply_feed(feed_id, items, result)

    def _apply_feed(self, feed_id: str, items: dict[str, Any], result: FeedResult) -> None:
        if feed_id in self._feed_submitted:  # learn how long this seller's feeds take (to the poll that saw it)
            took = self.clock() - self._feed_submitted.pop(feed_id)
            self.feed_eta_s = 0.7 * self.feed_eta_s + 0.3 * took
        succeeded = {i.sku: items[i.sku] for i in result.items
                     if i.ingestionStatus == "SUCCESS" and i.sku in items}
        self.state.confirm(succeeded, "feed", feed_id)
        early: dict[str, datetime] = {}
        for item in result.failed:
            until = self.too_early(item.errors)
            if until is not None and item.sku in items:
                early[item.sku] = until
            else:
                self.log.warning("feed item failed", feed_id=feed_id, sku=item.sku, errors=item.errors)
        self._waited = set()
        self._wait(early)
        self.state.close_feed(feed_id, result.feedStatus)
        self._feed_slots.pop(feed_id, None)
        self._recheck |= set(items) - set(early)  # changed meanwhile, or failed: check and push again


def _change_times(by_sku: dict[str, list[Record]]) -> dict[str, float]:
    """SKU -> the oldest Commerce change (binlog commit time, epoch seconds) among its records."""
    times: dict[str, float] = {}
    for sku, records in by_sku.items():
        stamps = [ts for r in records if (ts := _source_ts_ms((r.event or {}).get("source"))) is not None]
        if stamps:
            times[sku] = min(stamps) / 1000
    return times


def _source_ts_ms(source: Any) -> int | None:
    value = source.get("ts_ms") if isinstance(source, dict) else getattr(source, "ts_ms", None)
    return value if isinstance(value, int) else None
