"""`walmart-sync work price`: keep Walmart's price equal to Commerce's effective price.

The effective price is the lower of price and an active special price (mappings/price.py), then
the SKU's selling rule (markup, ending, floor, ceiling: mappings/selling_rules.py), the
window judged on the store's clock (its ``general/locale/timezone``), never the host's. When a
special-price window will open or close, the SKU is scheduled for re-evaluation at that moment
(converted to the host's clock the due checks run on), so Walmart follows the window with no new
event. Single updates are scarce (100/hour) and used
while the budget lasts; beyond it, one price feed.

Walmart takes no price for an item until 24 hours after its setup (prices.yml: "no sooner than
24 hours after a new item is set up"; the demo matched items and priced them at once, and every
update was refused). A listing the sidecar matched itself has its setup time
(``walmart_listings.matched_at``): its price waits until then, costing no call. For items set up
elsewhere, a refusal that names the 24 hours is the same wait: the SKU is checked again after
``PRICE_RETRY_FRACTION`` of the window, and never dead-lettered or marked failed for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from config.components import consumed_by
from mappings.price import effective_price, next_change, price_feed, store_wall_clock, wall_clock_instant, wire_price
from mappings.selling_rules import rule_price
from sync_workers.commerce.prices import PriceReader
from sync_workers.push.value_worker import ValueWorker
from sync_workers.walmart.errors import WalmartErrorDetail

# Walmart documents the rule, not its refusal: a refusal whose text names the window is that wait
SETUP_WINDOW_WORDS = ("24 hours", "24 hrs", "24hrs")
PRICE_RETRY_FRACTION = 1 / 24  # an item of unknown setup time is tried again hourly (24 h window)


class PriceWorker(ValueWorker):
    name = "price"
    families = consumed_by("price")
    feed_type = "price"
    single_api = "price_put"
    selling_family = "price"

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
        rules = self.rules.choices(self._records)
        targets = {}
        for sku, record in self._records.items():
            price = effective_price(record, now)
            if price is not None and price > 0:
                targets[sku] = wire_price(rule_price(rules[sku].rule, price))
                if targets[sku] != wire_price(price):
                    self.log.debug("selling rule applied", sku=sku, rule=rules[sku].name, why=rules[sku].why,
                                   commerce=wire_price(price), walmart=targets[sku])
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

    wait_reason = "Walmart takes prices 24 h after the item's setup"

    def not_before(self, skus: set[str]) -> dict[str, datetime]:
        window = self.settings.workers.price_after_setup_s
        if not skus or window <= 0:
            return {}
        return {sku: matched_at + timedelta(seconds=window)
                for sku, matched_at in self.listings.matched_within(skus, window).items()}

    def too_early(self, errors: list[Any]) -> datetime | None:
        for error in errors:
            text = (error.description if isinstance(error, WalmartErrorDetail)
                    else str((error or {}).get("description", "")) if isinstance(error, dict) else "")
            if any(words in (text or "").lower() for words in SETUP_WINDOW_WORDS):
                wait = self.settings.workers.price_after_setup_s * PRICE_RETRY_FRACTION
                return datetime.now() + timedelta(seconds=max(1.0, wait))
        return None

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_price(sku, float(value))

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return price_feed(values)
