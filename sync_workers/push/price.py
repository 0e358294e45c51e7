"""`walmart-sync work price`: keep Walmart's price equal to Commerce's effective price.

The effective price is the lower of price and an active special price (mappings/price.py). When
a special-price window will open or close, the SKU is scheduled for re-evaluation at that moment,
so Walmart follows the window with no new event. Single updates are scarce (100/hour) and used
while the budget lasts; beyond it, one price feed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from config.components import consumed_by
from mappings.price import effective_price, next_change, price_feed, wire_price
from sync_workers.commerce.prices import PriceReader
from sync_workers.push.value_worker import ValueWorker


class PriceWorker(ValueWorker):
    name = "price"
    families = consumed_by("price")
    feed_type = "price"
    single_api = "price_put"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reader = PriceReader(self.commerce, self.settings.mapping.store_id)
        self._records: dict[str, Any] = {}

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        now = datetime.now()
        self._records = self.reader.read(skus)
        targets = {}
        for sku, record in self._records.items():
            price = effective_price(record, now)
            if price is not None and price > 0:
                targets[sku] = wire_price(price)
        return targets

    def next_checks(self, skus: set[str]) -> dict[str, datetime | None]:
        now = datetime.now()
        return {sku: next_change(record, now) for sku, record in self._records.items() if sku in skus}

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_price(sku, float(value))

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return price_feed(values)
