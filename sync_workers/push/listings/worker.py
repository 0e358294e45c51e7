"""`walmart-sync work listings`: listing management as a running component.

Products the CDC listener sees created (catalog.product inserts) are put on the channel when
``listings.auto_add`` says so (all, or chosen attribute sets); every ``listings.match_interval_s``
the matcher moves drafts on and polls open match feeds (``listings.auto_match``), so a new product
with a valid UPC is matched, and gets its first inventory and price, without anyone running a
command.

A round runs on a thread of its own, with its own database connections (``rounds``), never inside
``tick``: searches wait for Walmart's 200-a-minute bucket and a done feed's items are read page by
page, and the consumer loop must keep polling Kafka (max.poll.interval.ms) and adding the new
products meanwhile. Each round is bounded (matcher.ROUND_DRAFTS) and writes every outcome as it
comes, so a restart continues with the drafts still left.
"""

from __future__ import annotations

import threading
import time

import pymysql

from config import Settings
from config.components import consumed_by
from plumbing.db import DbConnection, revive
from plumbing.logs import get_logger
from sync_workers.commerce.client import CommerceServerError
from sync_workers.push.listings.matcher import ListingMatcher, StepResult
from sync_workers.runtime.loop import DeadLetter, Record
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartServerError


class ListingWorker:
    name = "listings"
    families = consumed_by("listings")
    event_fields: tuple[str, ...] | None = ("family", "type", "op", "sku", "after")
    backlog_records = 0

    def __init__(self, settings: Settings, matcher: ListingMatcher, rounds: ListingMatcher):
        """``matcher`` adds products on the loop's thread; ``rounds`` (its own connections: PyMySQL's
        are not shared between threads) matches them on the round thread."""
        self.settings = settings
        self.matcher = matcher
        self.rounds = rounds
        self.log = get_logger("worker.listings")
        self._next_match = 0.0
        self._set_ids: set[int] | None = None
        self.auto_added = 0
        self._round: threading.Thread | None = None
        self._round_result: StepResult | BaseException | None = None
        self.rounds_done = 0

    def _wanted_sets(self) -> set[int]:
        if self._set_ids is None:
            self._set_ids = set(self.matcher.attribute_set_ids(self.settings.listings.attribute_sets))
        return self._set_ids

    def handle(self, records: list[Record]) -> list[DeadLetter]:
        rule = self.settings.listings.auto_add
        if rule == "off":
            return []
        new = []
        dead: list[DeadLetter] = []
        for record in records:
            event = record.event or {}
            if event.get("type") != "product" or event.get("op") != "insert" or not event.get("sku"):
                continue
            if rule == "attribute_sets":
                after = event.get("after")
                set_id = after.get("attribute_set_id") if isinstance(after, dict) else None
                if not isinstance(set_id, int) and not (isinstance(set_id, str) and set_id.isdigit()):
                    dead.append(DeadLetter(record, f"product {event['sku']} event has no numeric attribute_set_id "
                                                   f"(got {set_id!r})", "MALFORMED_EVENT"))
                    continue
                if int(set_id) not in self._wanted_sets():
                    continue
            new.append(str(event["sku"]))
        if new:
            counts = self.matcher.add(skus=sorted(set(new)))
            self.auto_added += counts["draft"] + counts["error"]
            self._next_match = 0.0  # match the new products now rather than at the next interval
        return dead

    def repair_gaps(self) -> None:
        """Catalog events were lost in Kafka (plumbing/gaps.py): every product the ``auto_add`` rule
        takes is added again (products already listed are kept as they are) and matched now."""
        rule = self.settings.listings.auto_add
        if rule == "off":
            return
        counts = self.matcher.add(attribute_sets=list(self.settings.listings.attribute_sets)
                                  if rule == "attribute_sets" else None)
        self._next_match = 0.0
        self.log.warning("listings added again after catalog events were lost in Kafka", **counts)

    def connections(self) -> list[DbConnection]:
        return [self.matcher.commerce, self.matcher.store.conn]

    def tick(self) -> None:
        """Collect a finished round, start the next one when due; never waits for one."""
        if self._round is not None:
            if self._round.is_alive():
                return
            self._round = None
            self._finished(self._round_result)
        if not self.settings.listings.auto_match or time.monotonic() < self._next_match:
            return
        self._next_match = time.monotonic() + self.settings.listings.match_interval_s
        self._round_result = None
        self._round = threading.Thread(target=self._run_round, name="listings-round", daemon=True)
        self._round.start()

    def wait_round(self, timeout_s: float = 60.0) -> None:
        """Until the round under way (if any) ended; for callers that drive tick() themselves."""
        if self._round is not None:
            self._round.join(timeout_s)

    def _run_round(self) -> None:
        try:
            revive([self.rounds.commerce, self.rounds.store.conn])  # a connection dropped since the last round
            self._round_result = self.rounds.step()
        except BaseException as exc:  # handed to the loop's thread by the next tick
            self._round_result = exc

    def _finished(self, result: StepResult | BaseException | None) -> None:
        if isinstance(result, (WalmartServerError, CommerceServerError, pymysql.MySQLError)):
            self.log.warning("listing round failed; will try again", error=str(result))
            return
        if isinstance(result, BaseException):
            raise result  # the loop decides: retried later, or fatal
        if result is None:
            return
        self.rounds_done += 1
        if result.drafts_left and not result.busy:  # more to search: the next round at once
            self._next_match = 0.0
        elif result.pending_feeds or result.candidates_left:  # a feed to poll: at the feed polling pace
            self._next_match = time.monotonic() + min(self.settings.listings.match_interval_s,
                                                      self.settings.workers.feed_poll_s)
        if result.matched or result.unmatched or result.errors or result.feeds_submitted:
            self.log.info("listing round", matched=result.matched, unmatched=result.unmatched,
                          errors=result.errors, feeds_submitted=result.feeds_submitted,
                          open_feeds=result.pending_feeds, drafts_left=result.drafts_left,
                          candidates=result.candidates_left)


def build_matcher(settings: Settings, client: WalmartClient, commerce: DbConnection, state_conn: DbConnection) -> ListingMatcher:
    from sync_workers.stores.listings import ListingStore

    return ListingMatcher(settings, client, commerce, ListingStore(state_conn), state_conn)
