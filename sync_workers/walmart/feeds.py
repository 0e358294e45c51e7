"""Walmart bulk feeds: submit a file, then poll its status and read every item's outcome.

Inventory and price feeds carry absolute values, so submitting one again after an ambiguous
failure is harmless (and the client retries it); item-match feeds create listings, so they are
submitted once and an ambiguous failure surfaces to the caller. A PROCESSED feed can still have
failed items: ``FeedResult.failed`` lists them with Walmart's codes.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, Literal

from sync_workers.walmart.models import WalmartModel, path_segment

FeedType = Literal["inventory", "MP_INVENTORY", "price", "MP_ITEM_MATCH"]
BUCKETS = {"inventory": "feeds_inventory", "MP_INVENTORY": "feeds_mp_inventory", "price": "feeds_price",
           "MP_ITEM_MATCH": "feeds_item_match"}
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

    def status(self, feed_id: str, include_details: bool = True) -> FeedResult:
        offset = 0
        items: list[FeedItemStatus] = []
        while True:
            body = self.client._send("feeds_status", "GET", f"/v3/feeds/{path_segment(feed_id)}", params={
                "includeDetails": str(include_details).lower(), "offset": offset, "limit": DETAIL_PAGE}).json()
            page = (body.get("itemDetails") or {}).get("itemIngestionStatus", [])
            items += [FeedItemStatus.model_validate(i) for i in page]
            if not include_details or len(page) < DETAIL_PAGE:
                return FeedResult.model_validate({**body, "items": items})
            offset += DETAIL_PAGE

    def wait(self, feed_id: str, poll_s: float = 5.0, timeout_s: float = 3600.0,
             sleep: Callable[[float], None] = time.sleep) -> FeedResult:
        """Poll until PROCESSED or ERROR (Walmart suggests minutes between polls in production)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = self.status(feed_id, include_details=False)
            if result.done:
                return self.status(feed_id, include_details=True)
            if time.monotonic() > deadline:
                return result
            sleep(poll_s)
