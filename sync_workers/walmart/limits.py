"""Walmart's published per-seller, per-API rate limits, and the token bucket that models them.

Walmart throttles each API with a token bucket that refills gradually (100/hour is one token
every 36 s, not 100 at the top of the hour) and answers 429 when it is empty. The client keeps a
bucket per API from this table, corrected by the ``x-current-token-count`` /
``x-next-replenishment-time`` headers of every response, so it waits instead of sending a request
it knows will be refused. The emulator enforces the same table, optionally time-scaled.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    capacity: int
    per_seconds: float  # the bucket refills ``capacity`` tokens over this many seconds

    @property
    def refill_interval_s(self) -> float:
        return self.per_seconds / self.capacity


MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0

# Production, US (developer.walmart.com rate-limiting table). Keys name one bucket each; APIs that
# Walmart meters together share a key.
PUBLISHED_LIMITS: dict[str, Limit] = {
    "token": Limit(30, MINUTE),  # not published; a conservative guess seen in public clients
    "orders": Limit(5000, MINUTE),
    "order": Limit(5000, MINUTE),
    "orders_released": Limit(60, MINUTE),
    "order_acknowledge": Limit(60, MINUTE),
    "order_cancel": Limit(60, MINUTE),
    "order_shipping": Limit(60, MINUTE),
    "order_refund": Limit(60, MINUTE),
    "returns": Limit(50, MINUTE),
    "return_refund": Limit(60, MINUTE),
    "inventory_get": Limit(200, MINUTE),
    "inventory_put": Limit(200, MINUTE),
    "inventories_get": Limit(200, MINUTE),
    "inventories_put": Limit(200, MINUTE),
    "price_put": Limit(100, HOUR),
    "feeds_price": Limit(10, HOUR),
    "feeds_inventory": Limit(10, HOUR),
    "feeds_mp_inventory": Limit(50, HOUR),
    "feeds_item_match": Limit(20, HOUR),
    "feeds_lagtime": Limit(6, DAY),  # the lagtime feed: 6 a day
    "lagtime_get": Limit(60, MINUTE),  # GET /v3/lagtime: not published; a conservative guess
    "feeds_status": Limit(5000, MINUTE),
    "items": Limit(300, MINUTE),
    "item": Limit(900, MINUTE),
    "catalog_search": Limit(200, MINUTE),
    "walmart_search": Limit(200, MINUTE),
}


class TokenBucket:
    """A continuously refilling bucket; thread-safe; the clock is injectable for tests."""

    def __init__(self, limit: Limit, clock: Callable[[], float] = time.monotonic,
                 time_scale: float = 1.0):
        self.capacity = limit.capacity
        self.rate = limit.capacity / limit.per_seconds * time_scale  # tokens per second
        self._clock = clock
        self._tokens = float(limit.capacity)
        self._at = clock()
        self._lock = threading.Lock()
        self.in_flight = 0  # requests sent on a token and not answered yet

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._at) * self.rate)
        self._at = now

    def try_take(self) -> bool:
        with self._lock:
            self._refill()
            if self._tokens >= 1:
                self._tokens -= 1
                self.in_flight += 1
                return True
            return False

    def answered(self) -> None:
        """A request sent on a token got its answer (or failed)."""
        with self._lock:
            self.in_flight = max(0, self.in_flight - 1)

    def wait_s(self) -> float:
        """Seconds until one token is available (0 when one is now)."""
        with self._lock:
            self._refill()
            return 0.0 if self._tokens >= 1 else (1 - self._tokens) / self.rate

    def tokens(self) -> int:
        with self._lock:
            self._refill()
            return int(self._tokens)

    def next_token_in_s(self) -> float:
        """Seconds until the count next grows by one (what Walmart calls the replenish time)."""
        with self._lock:
            self._refill()
            if self._tokens >= self.capacity:
                return 0.0
            return (1 - (self._tokens % 1)) / self.rate

    def correct(self, tokens_left: int, next_refill_in_s: float | None) -> None:
        """Adopt the server's view: it counts every client of this seller, not just us. Called
        before this answer is counted as answered: the other requests still in flight may not be
        in the server's count yet, so they are taken off it (with a few in flight, a stale count
        would otherwise send them into a 429)."""
        with self._lock:
            self._refill()
            others = max(0, self.in_flight - 1)
            self._tokens = float(min(self.capacity, max(0, tokens_left) - others))  # may go below 0: a debt
            if next_refill_in_s is not None and tokens_left < self.capacity:
                # the fraction already accrued towards the next token, less what the answer's
                # travel time and the header's millisecond rounding make uncertain
                self._tokens += max(0.0, 1 - (next_refill_in_s + 0.002) * self.rate - 0.25)

    def empty_until(self, seconds_from_now: float) -> None:
        """After a 429: nothing until the server's replenish time."""
        with self._lock:
            self._refill()
            self._tokens = min(self._tokens, 1 - seconds_from_now * self.rate)
