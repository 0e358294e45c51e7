"""Walmart's published per-seller, per-API rate limits, and the emulator's own token bucket.

The figures are facts copied from ../shared/reference/walmart-api-notes.md section 3, "Rate limits
(throttling)": the developer portal's rate-limiting table (transcribed in api-evangelist/walmart
``rate-limits/walmart-rate-limits.yml`` @ddbfb77) and its list of feed-upload limits. Walmart's
OpenAPI specs carry no rate-limit figures (inventory.yml only says "refer to the throttling
limits"). A client's clone has no ../shared, so the table lives here; each entry names the row
or feed type it comes from, and tests/test_oracle_limits.py compares them whenever the notes file
is present.

The keys are the API names the emulator meters (one bucket per key and seller). Where Walmart
gives a lower figure for a variant of a call (GET /v3/items with query filters, an item GET with
query parameters), the variant has a key of its own: the notes do not say whether Walmart meters
it in the same bucket, and a separate one keeps the plain call at its published figure.

Walmart's buckets refill gradually ("20/hour is about one token back every 3 min, not a reset at
the top of the hour"), answer 429 REQUEST_THRESHOLD_VIOLATED when empty, and report their state
in two response headers (see ``rate_headers``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
MB = 1024 * 1024  # the emulator reads the notes' "10 MB" as 10 MiB


@dataclass(frozen=True)
class Limit:
    """``capacity`` calls per ``per_seconds``, refilled evenly; ``source`` is where the notes say so:
    the first cell of a row of the rate-limiting table, or ``feedType=X`` for a feed upload."""

    capacity: int
    per_seconds: float
    source: str = ""
    when: str = ""  # the table's qualifier for a variant, e.g. "with query filters"


class RateLimit(Protocol):
    """What a bucket needs of a limit (tests may hand the emulator any such object)."""

    @property
    def capacity(self) -> int: ...

    @property
    def per_seconds(self) -> float: ...


# notes section 3, "Production limits, US" (the rate-limiting table) and "Feed uploads"
WALMART_LIMITS: dict[str, Limit] = {
    # "not published ([obs] a client assumes 30/min)": observed in public client code, not Walmart's
    "token": Limit(30, MINUTE, "POST /v3/token"),
    "orders": Limit(5000, MINUTE, "GET /v3/orders ; GET /v3/orders/{po}"),
    "order": Limit(5000, MINUTE, "GET /v3/orders ; GET /v3/orders/{po}"),
    "orders_released": Limit(60, MINUTE, "GET /v3/orders/released"),
    "order_acknowledge": Limit(60, MINUTE, "POST /v3/orders/{po}/acknowledge, /cancel, /shipping, /refund"),
    "order_cancel": Limit(60, MINUTE, "POST /v3/orders/{po}/acknowledge, /cancel, /shipping, /refund"),
    "order_shipping": Limit(60, MINUTE, "POST /v3/orders/{po}/acknowledge, /cancel, /shipping, /refund"),
    "order_refund": Limit(60, MINUTE, "POST /v3/orders/{po}/acknowledge, /cancel, /shipping, /refund"),
    "returns": Limit(50, MINUTE, "GET /v3/returns"),
    "return_refund": Limit(60, MINUTE, "POST /v3/returns/{returnOrderId}/refund"),
    "inventory_get": Limit(200, MINUTE, "GET, PUT /v3/inventory ; GET, PUT /v3/inventories/{sku} ; GET /v3/inventories"),
    "inventory_put": Limit(200, MINUTE, "GET, PUT /v3/inventory ; GET, PUT /v3/inventories/{sku} ; GET /v3/inventories"),
    "inventories_get": Limit(200, MINUTE,
                             "GET, PUT /v3/inventory ; GET, PUT /v3/inventories/{sku} ; GET /v3/inventories"),
    "inventories_put": Limit(200, MINUTE,
                             "GET, PUT /v3/inventory ; GET, PUT /v3/inventories/{sku} ; GET /v3/inventories"),
    "price_put": Limit(100, HOUR, "PUT /v3/price (single)"),
    "feeds_price": Limit(10, HOUR, "POST /v3/feeds price (legacy) / PRICE_AND_PROMOTION / bulk promo"),
    "feeds_inventory": Limit(10, HOUR, "feedType=inventory"),
    "feeds_mp_inventory": Limit(50, HOUR, "feedType=MP_INVENTORY"),
    "feeds_item_match": Limit(20, HOUR, "feedType=MP_ITEM_MATCH"),
    "feeds_lagtime": Limit(6, DAY, "feedType=lagtime"),
    "feeds_status": Limit(5000, MINUTE, "GET /v3/feeds + GET /v3/feeds/{feedId}"),
    "items": Limit(300, MINUTE, "GET /v3/items"),
    "items_with_filters": Limit(60, MINUTE, "GET /v3/items", when="with query filters"),
    "item": Limit(900, MINUTE, "GET /v3/items/{id} ; DELETE /v3/items/{sku}"),
    "item_with_query": Limit(60, MINUTE, "GET /v3/items/{id} ; DELETE /v3/items/{sku}", when="with query params"),
    "catalog_search": Limit(200, MINUTE, "POST /v3/items/catalog/search + /v3/items/associations"),
    "walmart_search": Limit(200, MINUTE, "GET /v3/items/walmart/search"),
}

# feedType -> (bucket, largest file), from the notes' "Feed uploads" list (price: its table row,
# "price file <=10 MB")
FEED_UPLOADS: dict[str, tuple[str, int]] = {
    "inventory": ("feeds_inventory", 10 * MB),
    "MP_INVENTORY": ("feeds_mp_inventory", 1 * MB),
    "price": ("feeds_price", 10 * MB),
    "MP_ITEM_MATCH": ("feeds_item_match", 25 * MB),
    "lagtime": ("feeds_lagtime", 10 * MB),
}

# GET /v3/items query parameters that page rather than filter (notes section 8: nextCursor, offset,
# limit); any other parameter is a "query filter"
ITEMS_PAGING_PARAMS = frozenset({"nextCursor", "offset", "limit"})


class Bucket:
    """Walmart's bucket for one seller and API: ``capacity`` tokens, refilled continuously at
    capacity/per_seconds (times ``time_scale``, so tests need not wait an hour); thread-safe."""

    def __init__(self, limit: RateLimit, clock: Callable[[], float] = time.monotonic,
                 time_scale: float = 1.0):
        self.capacity = int(limit.capacity)
        self.per_second = limit.capacity / limit.per_seconds * time_scale
        self._clock = clock
        self._level = float(self.capacity)
        self._checked = clock()
        self._lock = threading.Lock()

    def _catch_up(self) -> None:
        now = self._clock()
        self._level = min(float(self.capacity), self._level + (now - self._checked) * self.per_second)
        self._checked = now

    def take(self) -> bool:
        """Spend a token on a call; False (answer 429) when the bucket holds less than one."""
        with self._lock:
            self._catch_up()
            if self._level < 1.0:
                return False
            self._level -= 1.0
            return True

    def whole_tokens(self) -> int:
        with self._lock:
            self._catch_up()
            return int(self._level)

    def seconds_to_next_token(self) -> float:
        """Until the count of whole tokens next grows (0 when the bucket is full)."""
        with self._lock:
            self._catch_up()
            if self._level >= self.capacity:
                return 0.0
            return (1.0 - (self._level - int(self._level))) / self.per_second


def rate_headers(bucket: Bucket, wall_clock_s: float | None = None) -> dict[str, str]:
    """The two throttling headers Walmart puts on every answer (notes section 3):
    ``x-current-token-count``, the tokens left in this API's bucket after this call, and
    ``x-next-replenishment-time``, when the bucket next gains a token, in epoch milliseconds (the
    unit public clients parse; the emulator sends "now" for a full bucket)."""
    now = time.time() if wall_clock_s is None else wall_clock_s
    return {"x-current-token-count": str(bucket.whole_tokens()),
            "x-next-replenishment-time": str(int((now + bucket.seconds_to_next_token()) * 1000))}
