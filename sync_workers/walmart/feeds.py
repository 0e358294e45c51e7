"""Walmart bulk feeds: submit a file, then poll its status and read every item's outcome.

Inventory and price feeds carry absolute values, so submitting one again after an ambiguous
failure is harmless (and the client retries it); item-match feeds create listings, so they are
submitted once and an ambiguous failure surfaces to the caller. A PROCESSED feed can still have
failed items: ``FeedResult.failed`` lists them with Walmart's codes.

Polling follows Walmart's advice: a feed's status is asked for at 1, 4 and 8 times the first
interval after submission (15 min, 1 h, 2 h by default), then every 16 (4 h), and without item
details (``status``); the items, 50 a page, are read once the feed is done (``result``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from sync_workers.walmart.models import WalmartModel, path_segment

FeedType = Literal["inventory", "MP_INVENTORY", "price", "MP_ITEM_MATCH", "lagtime"]
BUCKETS = {"inventory": "feeds_inventory", "MP_INVENTORY": "feeds_mp_inventory", "price": "feeds_price",
           "MP_ITEM_MATCH": "feeds_item_match", "lagtime": "feeds_lagtime"}
DETAIL_PAGE = 50


class FeedItemStatus(WalmartModel):
    index: int | None = None
    sku: str | None = None
    wpid: str | None = None
    ingestionStatus: str
    ingestionErrors: dict[str, Any] | None = None

    @property
    def errors(self) -> list[dict[str, Any]]:
        return (self.ingestionErrors or {}).get("ingestionError", [])


class FeedResult(WalmartModel):
    feedId: str
    feedStatus: Literal["RECEIVED", "INPROGRESS", "PROCESSED", "ERROR"]
    itemsReceived: int | None = None
    itemsSucceeded: int | None = None
    itemsFailed: int | None = None
    itemsProcessing: int | None = None
    ingestionErrors: dict[str, Any] | None = None
    items: list[FeedItemStatus] = []

    @property
    def done(self) -> bool:
        return self.feedStatus in ("PROCESSED", "ERROR")

    @property
    def failed(self) -> list[FeedItemStatus]:
        return [i for i in self.items if i.ingestionStatus not in ("SUCCESS", "INPROGRESS")]


class FeedsApi:
    def __init__(self, client: Any):
        self.client = client

    def submit(self, feed_type: FeedType, payload: dict[str, Any], ship_node: str | None = None) -> str:
        params = {"feedType": feed_type} | ({"shipNode": ship_node} if ship_node else {})
        files = {"file": (f"{feed_type}.json", json.dumps(payload).encode(), "application/json")}
        response = self.client._send(BUCKETS[feed_type], "POST", "/v3/feeds", params=params, files=files,
                                     idempotent=feed_type != "MP_ITEM_MATCH")
        return response.json()["feedId"]

    def status(self, feed_id: str, include_details: bool = False) -> FeedResult:
        """The feed's status and counts; with ``include_details`` every item's outcome too (only
        worth asking for once the feed is done: until then the items are INPROGRESS)."""
        if include_details:
            return self.result(feed_id)
        body = self.client._send("feeds_status", "GET", f"/v3/feeds/{path_segment(feed_id)}",
                                 params={"includeDetails": "false"}).json()
        return FeedResult.model_validate({**body, "items": []})

    def result(self, feed_id: str) -> FeedResult:
        """The feed with every item's outcome, paged 50 at a time (an 858-item feed is 18 calls)."""
        offset = 0
        items: list[FeedItemStatus] = []
        while True:
            body = self.client._send("feeds_status", "GET", f"/v3/feeds/{path_segment(feed_id)}", params={
                "includeDetails": "true", "offset": offset, "limit": DETAIL_PAGE}).json()
            page = (body.get("itemDetails") or {}).get("itemIngestionStatus", [])
            items += [FeedItemStatus.model_validate(i) for i in page]
            if len(page) < DETAIL_PAGE:
                return FeedResult.model_validate({**body, "items": items})
            offset += DETAIL_PAGE

    def wait(self, feed_id: str, poll_s: float = 5.0, timeout_s: float = 3600.0,
             sleep: Callable[[float], None] = time.sleep) -> FeedResult:
        """Poll until PROCESSED or ERROR (Walmart suggests minutes between polls in production)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.status(feed_id)
            if result.done:
                return self.result(feed_id)
            if time.monotonic() > deadline:
                return result
            sleep(poll_s)


# Walmart's advice for feed status: poll 15 min, 1 h and 2 h after submission, then every 4 h;
# as multiples of the first interval (workers.feed_poll_s)
POLL_AFTER = (1.0, 4.0, 8.0)
POLL_EVERY = 16.0


def poll_slot(age_s: float, first_s: float) -> float | None:
    """The latest advised poll time (seconds after submission) a feed of this age has reached, or
    None before the first: a feed is polled once per slot, however often the worker looks."""
    if age_s < first_s * POLL_AFTER[0]:
        return None
    last = first_s * POLL_AFTER[-1]
    if age_s < last:
        return max(first_s * k for k in POLL_AFTER if first_s * k <= age_s)
    every = first_s * POLL_EVERY
    return last + every * ((age_s - last) // every)
