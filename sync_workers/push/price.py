"""`walmart-sync work price`: keep Walmart's price equal to Commerce's effective price.

The effective price is the lower of price and an active special price (mappings/price.py), the
window judged on the store's clock (its ``general/locale/timezone``), never the host's. When a
special-price window will open or close, the SKU is scheduled for re-evaluation at that moment
(converted to the host's clock the due checks run on), so Walmart follows the window with no new
event. Single updates are scarce (100/hour) and used
while the budget lasts; beyond it, one price feed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from config.components import consumed_by
from mappings.price import effective_price, next_change, price_feed, store_wall_clock, wall_clock_instant, wire_price
from sync_workers.commerce.prices import PriceReader
from sync_workers.push.value_worker import ValueWorker


class PriceWorker(ValueWorker):
    name = "price"
    families = consumed_by("price")
    feed_type = "price"
    single_api = "price_put"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reader = PriceReader(self.commerce, self.settings.mapping.store_id, self.settings.mapping.store_timezone)
        self._records: dict[str, Any] = {}
        self._zone: ZoneInfo | None = None

    def utc_now(self) -> datetime:
        """The instant prices are judged at (aware); a test may replace it to stand at a window edge."""
        return datetime.now(UTC)

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        self._zone = self.reader.timezone()
        now = store_wall_clock(self.utc_now(), self._zone)
        self._records = self.reader.read(skus)
        targets = {}
        for sku, record in self._records.items():
            price = effective_price(record, now)
            if price is not None and price > 0:
                targets[sku] = wire_price(price)
        return targets

    def next_checks(self, skus: set[str]) -> dict[str, datetime | None]:
        """Window edges on the store's clock, as the host's naive local time the due checks compare."""
        zone = self._zone or self.reader.timezone()
        now = store_wall_clock(self.utc_now(), zone)
        checks: dict[str, datetime | None] = {}
        for sku, record in self._records.items():
            if sku in skus:
                edge = next_change(record, now)
                checks[sku] = None if edge is None else wall_clock_instant(edge, zone).astimezone().replace(tzinfo=None)
        return checks

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_price(sku, float(value))

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return price_feed(values)
