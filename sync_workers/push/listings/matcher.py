"""Put Commerce products on the Walmart channel and match them to Walmart's catalogue.

``add`` leaves configurable parents out (their children are the offers: docs/listings.md), reads
the products' identifiers (attribute codes from ``mapping.identifier_attributes``,
in that order of preference), validates them (length, check digit) and records a draft, or an
error with the reason. ``step`` moves drafts on, within Walmart's limits (the client's token
buckets wait for tokens; 429s pause the API):

1. The seller's own catalogue (POST /v3/items/catalog/search, paged): a SKU already listed is
   matched at once, no feed needed (a seller moving from another integration); a GTIN listed
   under another SKU is an error naming that SKU.
2. Walmart's catalogue (GET /v3/items/walmart/search by UPC or GTIN, a few in flight): no item,
   unmatched with the identifier searched; a hit makes the product a ``candidate`` with Walmart's
   item id. Outcomes are written as the answers come (every ``SEARCH_CHUNK``, and whatever was
   answered when Walmart fails): at Walmart's 200 searches a minute a 100,000-product catalogue
   takes 8.3 hours, and a crash, a deploy or a Ctrl-C must cost at most a chunk, not the whole run.
   A round searches at most ``ROUND_DRAFTS`` (a minute at that rate), so its caller sees a stop
   and shows progress between rounds.
3. Candidates go out in MP_ITEM_MATCH feeds (10,000 items or 25 MB a feed, 20 feeds an hour) with
   the effective price, the shipping weight and the configured condition: once no draft is left to
   search, or as soon as a full feed's worth is waiting (20 feeds an hour are few; half-empty ones
   would waste them).
4. Open match feeds are polled; each item's outcome is recorded (DATA_ERROR codes and reasons
   included), and a new match is scheduled for its initial inventory and price push: the push
   workers check it at once, since they push matched listings only.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from config import Settings
from mappings.listings import (
    MAX_FEED_ITEMS,
    ChosenIdentifier,
    MatchItem,
    NoUsableIdentifier,
    choose_identifier,
    feed_batches,
    feed_item_outcome,
    match_feed_payload,
    search_params,
)
from mappings.price import effective_price
from plumbing.db import DbConnection
from plumbing.locks import NamedLock
from plumbing.logs import get_logger
from plumbing.metrics import METRICS
from sync_workers.commerce.composites import CONFIGURABLE, CompositeReader
from sync_workers.commerce.eav import EavReader, ProductRow
from sync_workers.commerce.prices import PriceReader
from sync_workers.stores.listings import Added, Listing, ListingChange, ListingStore
from sync_workers.stores.value_state import ValueState
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError, WalmartServerError, WalmartWritesOff

Progress = Callable[[str, int, int], None]
WEIGHT_ATTRIBUTE = "weight"
SEARCH_CONCURRENCY = 4
SEARCH_CHUNK = 20     # answers written together (what a kill -9 can cost again, with those in flight)
ROUND_DRAFTS = 200    # drafts a round takes at most: a minute of Walmart's 200 searches a minute


def _quiet(_phase: str, _done: int, _total: int) -> None:
    pass


def _search_outcome(listing: Listing, outcome: Any) -> ListingChange:
    """A catalogue search's answer as the listing's new state."""
    if isinstance(outcome, str):
        return ("candidate", None, None, outcome, None, None)
    if outcome is None:
        return ("unmatched", f"no Walmart catalogue item has {(listing.id_type or '').upper()} {listing.product_code}",
                "NO_CATALOGUE_ITEM", None, None, None)
    return ("error", f"Walmart refused the catalogue search: {outcome}",
            outcome.details[0].code if outcome.details else None, None, None, None)


def _identifier(listing: Listing) -> ChosenIdentifier:
    return ChosenIdentifier(listing.id_type or "gtin", listing.product_code or "", listing.gtin14 or "")


@dataclass
class StepResult:
    matched: int = 0
    unmatched: int = 0
    errors: int = 0
    submitted: int = 0
    feeds_submitted: int = 0
    feeds_completed: int = 0
    pending_feeds: int = 0
    drafts_left: int = 0
    candidates_left: int = 0  # found on Walmart, waiting for a match feed
    busy: bool = False  # another matcher held the round
    notes: list[str] = field(default_factory=list)

    def add(self, other: StepResult) -> None:
        for name in ("matched", "unmatched", "errors", "submitted", "feeds_submitted", "feeds_completed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.pending_feeds, self.drafts_left = other.pending_feeds, other.drafts_left
        self.candidates_left = other.candidates_left
        self.notes += other.notes

    @property
    def done(self) -> bool:
        return not self.pending_feeds and not self.drafts_left and not self.candidates_left


class ListingMatcher:
    def __init__(self, settings: Settings, client: WalmartClient, commerce: DbConnection, store: ListingStore,
                 state_conn: DbConnection, clock: Callable[[], float] = time.monotonic):
        self.settings = settings
        self.client = client
        self.commerce = commerce
        self.store = store
        self.state_conn = state_conn
        self.clock = clock
        self.log = get_logger("listings")
        attributes = settings.mapping.identifier_attributes
        self.eav = EavReader(commerce, settings.mapping.store_id, [*attributes.values(), WEIGHT_ATTRIBUTE])
        self.prices = PriceReader(commerce, settings.mapping.store_id, settings.mapping.store_timezone,
                                  settings.mapping.website_id, settings.mapping.customer_group_id)
        self._lock = NamedLock(state_conn, "listings.match")
        self._catalogue: dict[str, Any] | None = None
        self._catalogue_at = float("-inf")

    # adding products -------------------------------------------------------------------------------
    def add(self, skus: list[str] | None = None, attribute_sets: list[str] | None = None) -> dict[str, int]:
        """Products by SKU, by attribute set (names or ids), or all of them when neither is given."""
        if skus is not None:
            products = self.eav.products(skus=skus)
            unknown = sorted(set(skus) - {p.sku for p in products})
        elif attribute_sets is not None:
            products = self.eav.products(attribute_set_ids=self.attribute_set_ids(attribute_sets))
            unknown = []
        else:
            products = self.eav.products()
            unknown = []
        products, parents = self._offers(products)
        values = self.eav.values([p.sku for p in products])
        attributes = self.settings.mapping.identifier_attributes
        added = []
        for product in products:
            try:
                chosen = choose_identifier(values[product.sku], attributes)
                added.append(Added(product.sku, product.entity_id, chosen.kind, chosen.value, chosen.gtin14))
            except NoUsableIdentifier as exc:
                added.append(Added(product.sku, product.entity_id, None, None, None, exc.reason))
        counts = self.store.add(added)
        counts["unknown_sku"] = len(unknown)
        counts["configurable_parents"] = len(parents)
        if unknown:
            self.log.warning("SKUs not in Commerce were not added", skus=unknown[:20], count=len(unknown))
        self.log.info("products added to the Walmart channel", **counts)
        return counts

    def _offers(self, products: list[ProductRow]) -> tuple[list[ProductRow], list[str]]:
        """Configurable parents are no offers on Walmart: each is replaced by its children (its
        simple products, matched as offers of their own; Walmart's catalogue item of each child
        carries the variant group). Returns the products to list and the parents left out."""
        parents = [p.sku for p in products if p.type_id == CONFIGURABLE]
        if not parents:
            return products, []
        children = CompositeReader(self.commerce, self.settings.mapping.store_id).children(parents)
        kept = [p for p in products if p.type_id != CONFIGURABLE]
        have = {p.sku for p in kept}
        wanted = sorted({c for cs in children.values() for c in cs} - have)
        kept += self.eav.products(skus=wanted) if wanted else []
        self.log.info("configurable parents left out, their children listed instead", parents=parents[:20],
                      count=len(parents), children=len(wanted))
        return kept, parents

    def attribute_set_ids(self, names: list[str]) -> list[int]:
        with self.commerce.cursor() as cur:
            cur.execute("SELECT s.attribute_set_id, s.attribute_set_name FROM eav_attribute_set s JOIN eav_entity_type t "
                        "ON t.entity_type_id = s.entity_type_id WHERE t.entity_type_code = 'catalog_product'")
            sets = {name: int(set_id) for set_id, name in cur.fetchall()}
        ids = []
        for name in names:
            if name.isdigit() and int(name) in sets.values():
                ids.append(int(name))
            elif name in sets:
                ids.append(sets[name])
            else:
                raise ValueError(f"no product attribute set {name!r}; there are: {', '.join(sorted(sets))}")
        return ids

    # matching ----------------------------------------------------------------------------------------
    def step(self, progress: Progress = _quiet, max_drafts: int | None = None, wait_s: float = 0.0) -> StepResult:
        """One round: drafts looked up and submitted, open feeds polled. One matcher at a time (the
        listings worker and a merchant's ``listings match``): ``busy`` when another holds the round."""
        if not self._lock.try_acquire(wait_s):
            return StepResult(busy=True)
        try:
            return self._step(progress, max_drafts)
        finally:
            self._lock.release()

    def _step(self, progress: Progress, max_drafts: int | None) -> StepResult:
        result = StepResult()
        total = self.store.count("draft")
        drafts = self.store.with_status("draft", limit=max_drafts or ROUND_DRAFTS)
        if drafts:
            result.add(self._match_drafts(drafts, progress, total))
        drafts_left = self.store.count("draft")
        waiting = self.store.count("candidate")
        if waiting and (not drafts_left or waiting >= MAX_FEED_ITEMS):
            result.add(self._submit_candidates(progress, whole_feeds_only=bool(drafts_left)))
        result.add(self._poll_feeds(progress))
        result.pending_feeds = len(self.store.submitted_feeds())
        result.drafts_left = drafts_left
        result.candidates_left = self.store.count("candidate")
        return result

    def run(self, progress: Progress = _quiet, poll_s: float | None = None, timeout_s: float = 86_400,
            sleep: Callable[[float], None] = time.sleep) -> StepResult:
        """Until every draft is matched, unmatched or in error and no match feed is open."""
        total = StepResult()
        deadline = self.clock() + timeout_s
        first = self.store.count("draft")

        def overall(phase: str, done: int, of: int) -> None:
            """A round counts its own drafts; the terminal shows the whole run's."""
            if phase == "catalogue search":
                done, of = first - of + done, max(first, of)
            progress(phase, done, of)

        while True:
            step = self.step(overall, wait_s=5.0)
            if step.busy:
                progress("waiting for the listings worker's round", 0, 0)
                continue
            total.add(step)
            if total.done or self.clock() > deadline:
                return total
            if not step.drafts_left:
                sleep(poll_s if poll_s is not None else self.settings.workers.feed_poll_s)

    def _seller_catalogue(self) -> dict[str, Any]:
        """SKU -> the seller's item, and 'gtin:<gtin14>' -> SKU; refreshed every 10 minutes."""
        if self._catalogue is not None and self.clock() - self._catalogue_at < 600:
            return self._catalogue
        catalogue: dict[str, Any] = {}
        for hit in self.client.items.catalog_items():
            catalogue[hit.sku] = hit
            if hit.gtin:
                catalogue[f"gtin:{str(hit.gtin).zfill(14)}"] = hit.sku
        self._catalogue, self._catalogue_at = catalogue, self.clock()
        return catalogue

    def _match_drafts(self, drafts: list[Listing], progress: Progress, total: int) -> StepResult:
        """Drafts looked up, each outcome written as it comes (every ``SEARCH_CHUNK`` answers):
        matched (the seller lists it already), an error, unmatched, or a candidate with Walmart's
        item id for the next match feed. When Walmart fails mid-way, what it answered is written
        before the failure is raised: the next round searches only what is left."""
        result = StepResult()
        catalogue = self._seller_catalogue()
        changes: dict[str, ListingChange] = {}
        newly_matched: list[str] = []
        to_search: list[Listing] = []
        for listing in drafts:
            own = catalogue.get(listing.sku)
            other = catalogue.get(f"gtin:{listing.gtin14}")
            if own is not None:
                changes[listing.sku] = ("matched", "already listed by this seller", None,
                                        getattr(own, "itemId", None) or None, own.wpid, None)
                newly_matched.append(listing.sku)
            elif other is not None and other != listing.sku:
                changes[listing.sku] = ("error", f"{(listing.id_type or '').upper()} {listing.product_code} is already "
                                                 f"listed on Walmart by this seller as SKU {other}",
                                        "DUPLICATE_GTIN", None, None, None)
            else:
                to_search.append(listing)
        pending = dict(changes)
        done = len(changes)

        def write() -> None:
            if not pending:
                return
            self.store.set_many(pending)
            statuses = [c[0] for c in pending.values()]
            for status in set(statuses):
                METRICS.listing_searches.labels(status).inc(statuses.count(status))
            pending.clear()
            progress("catalogue search", done, total)

        try:
            for listing, outcome in self._search(to_search):
                pending[listing.sku] = changes[listing.sku] = _search_outcome(listing, outcome)
                done += 1
                if len(pending) >= SEARCH_CHUNK:
                    write()
        finally:
            write()  # what Walmart answered is kept, also when it failed for the rest
        statuses = [c[0] for c in changes.values()]
        result.matched = statuses.count("matched")
        result.unmatched = statuses.count("unmatched")
        result.errors = statuses.count("error")
        self._schedule_initial_push(newly_matched)
        return result

    def _submit_candidates(self, progress: Progress, whole_feeds_only: bool) -> StepResult:
        """Candidates into match feeds, a feed's worth at a time; with drafts still to search only
        full feeds go (the rest wait for more candidates)."""
        result = StepResult()
        while True:
            candidates = self.store.with_status("candidate", limit=MAX_FEED_ITEMS)
            if not candidates or (whole_feeds_only and len(candidates) < MAX_FEED_ITEMS):
                return result
            items, refused = self._match_items(candidates)
            self.store.set_many(refused)
            result.errors += len(refused)
            result.notes += [f"{sku}: {c[1]}" for sku, c in refused.items()][:5]
            submitted, feeds, failed = self._submit(items, {c.sku: c.walmart_item_id or "" for c in candidates},
                                                    progress)
            result.submitted += submitted
            result.feeds_submitted += feeds
            result.errors += failed
            if not feeds and not refused and not failed:
                return result  # nothing moved (cannot happen with candidates); never loop for ever

    def _search(self, listings: list[Listing]) -> Iterator[tuple[Listing, Any]]:
        """(listing, Walmart item id (a hit), None (no item), or the WalmartClientError that refused
        it), in the order the answers come, ``SEARCH_CONCURRENCY`` in flight. A server error (after
        the client's retries) ends the search: the searches not started are cancelled."""

        def one(listing: Listing) -> tuple[Listing, Any]:
            try:
                hits = self.client.items.search_walmart(**search_params(_identifier(listing)))
                return listing, (str(hits[0].itemId) if hits else None)
            except WalmartClientError as exc:
                return listing, exc

        if not listings:
            return
        with ThreadPoolExecutor(SEARCH_CONCURRENCY, thread_name_prefix="listing-search") as pool:
            futures = [pool.submit(one, listing) for listing in listings]
            try:
                for future in as_completed(futures):
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()

    def _match_items(self, candidates: list[Listing]) -> tuple[list[MatchItem], dict[str, ListingChange]]:
        """What the feed needs of each candidate: the effective price and the shipping weight."""
        skus = [listing.sku for listing in candidates]
        prices = self.prices.read(skus)
        weights = self.eav.values(skus)
        now = self.prices.wall_clock()  # the store's clock, as the price worker judges special windows
        items: list[MatchItem] = []
        refused: dict[str, ListingChange] = {}
        for listing in candidates:
            price = effective_price(prices[listing.sku], now) if listing.sku in prices else None
            weight = weights.get(listing.sku, {}).get(WEIGHT_ATTRIBUTE)
            if price is None or price <= 0:
                refused[listing.sku] = ("error", "no price above 0 in Commerce", "NO_PRICE", None, None, None)
                continue
            if weight is None or Decimal(str(weight)) <= 0:
                refused[listing.sku] = ("error", f"no shipping weight (attribute {WEIGHT_ATTRIBUTE})", "NO_WEIGHT",
                                        None, None, None)
                continue
            items.append(MatchItem(listing.sku, _identifier(listing), float(price), float(weight)))
        return items, refused

    def _submit(self, items: list[MatchItem], item_ids: dict[str, str], progress: Progress) -> tuple[int, int, int]:
        """(items submitted, feeds submitted, items Walmart refused the feed of)."""
        condition = self.settings.listings.condition
        submitted = feeds = failed = 0
        for batch in feed_batches(items, condition):
            try:
                feed_id = self.client.feeds.submit("MP_ITEM_MATCH", match_feed_payload(batch, condition))
            except WalmartWritesOff:
                # shadow mode: the candidates stay candidates (recorded as would-send), submitted once live
                return submitted, feeds, failed
            except WalmartClientError as exc:
                self.store.set_many({i.sku: ("error", f"Walmart refused the match feed: {exc}",
                                             exc.details[0].code if exc.details else None, None, None, None)
                                     for i in batch})
                failed += len(batch)
                continue
            self.store.set_many({i.sku: ("submitted", None, None, item_ids.get(i.sku), None, feed_id) for i in batch})
            submitted += len(batch)
            feeds += 1
            self.log.info("match feed submitted", feed_id=feed_id, items=len(batch))
            progress("feeds submitted", submitted, len(items))
        return submitted, feeds, failed

    def _poll_feeds(self, progress: Progress) -> StepResult:
        result = StepResult()
        for feed_id, skus in self.store.submitted_feeds().items():
            try:
                status = self.client.feeds.status(feed_id)  # without item details until it is done
                if status.done:
                    status = self.client.feeds.result(feed_id)
            except (WalmartClientError, WalmartServerError) as exc:
                self.log.warning("match feed status unavailable; will poll again", feed_id=feed_id, error=str(exc))
                continue
            if not status.done:
                continue
            by_sku = {item.sku: item for item in status.items if item.sku}
            changes: dict[str, ListingChange] = {}
            for sku in skus:
                item = by_sku.get(sku)
                if status.feedStatus == "ERROR":
                    errors = (status.ingestionErrors or {}).get("ingestionError", [])
                    described = "; ".join(f"{e.get('code')}: {e.get('description')}" for e in errors)
                    outcome: tuple[str, str | None, str | None] = (
                        "error", described or "Walmart rejected the whole feed", "FEED_ERROR")
                elif item is None:
                    outcome = ("error", f"feed {feed_id} reported nothing for this SKU", "FEED_ITEM_MISSING")
                else:
                    outcome = feed_item_outcome(item.ingestionStatus, item.errors)
                changes[sku] = (outcome[0], outcome[1], outcome[2], None, item.wpid if item else None, None)
            self.store.set_many(changes)
            matched = [sku for sku, change in changes.items() if change[0] == "matched"]
            self._schedule_initial_push(matched)
            result.feeds_completed += 1
            result.matched += len(matched)
            result.unmatched += sum(1 for c in changes.values() if c[0] == "unmatched")
            result.errors += sum(1 for c in changes.values() if c[0] == "error")
            self.log.info("match feed completed", feed_id=feed_id, matched=len(matched), items=len(skus))
            progress("feeds completed", result.feeds_completed, 0)
        return result

    def _schedule_initial_push(self, skus: list[str]) -> None:
        """The push workers check these at once (due now) and push inventory and price."""
        if not skus:
            return
        now = datetime.now()
        for kind in ("inventory", "price"):
            ValueState(self.state_conn, kind).schedule({sku: now for sku in skus})
