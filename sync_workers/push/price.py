"""`walmart-sync work price`: keep Walmart's price equal to Commerce's effective price.

The effective price is Magento's final price for the configured website and customer group
(mappings/price.py: the least of price, an active special price, the tier/group price for
quantity 1 and the catalogue rule price of the day), then the SKU's selling rule (markup, ending,
floor, ceiling: mappings/selling_rules.py), the window and the rule date judged on the
store's clock (its ``general/locale/timezone``), never the host's. When a special-price window
will open or close, or the rule price of the next day differs, the SKU is scheduled for
re-evaluation at that moment (converted to the host's clock the due checks run on), so Walmart
follows with no new event. A full reindex of the rule prices swaps a new table in
(RENAME TABLE, no row events): its event makes every pushed SKU due (``catalogue_event_types``).
Single updates are scarce (100/hour) and used while the budget lasts; beyond it, one price feed.

Walmart takes no price for an item until 24 hours after its setup (prices.yml: "no sooner than
24 hours after a new item is set up"; the demo matched items and priced them at once, and every
update was refused). A listing the sidecar matched itself has its setup time
(``walmart_listings.matched_at``): its price waits until then, costing no call. For items set up
elsewhere, a refusal that names the 24 hours is the same wait: the SKU is checked again after
``PRICE_RETRY_FRACTION`` of the window, and never dead-lettered or marked failed for it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from config import Settings
from config.components import consumed_by
from mappings.price import (
    PriceRecord,
    effective_price,
    next_change,
    price_feed,
    store_wall_clock,
    wall_clock_instant,
    wire_price,
)
from mappings.selling_rules import rule_price
from plumbing.db import DbConnection
from sync_workers.commerce.prices import PriceReader
from sync_workers.push.selling import SellingRules
from sync_workers.push.value_worker import ValueWorker
from sync_workers.walmart.errors import WalmartErrorDetail

# Walmart documents the rule, not its refusal: a refusal whose text names the window is that wait
SETUP_WINDOW_WORDS = ("24 hours", "24 hrs", "24hrs")
PRICE_RETRY_FRACTION = 1 / 24  # an item of unknown setup time is tried again hourly (24 h window)


def price_reader(settings: Settings, commerce: DbConnection) -> PriceReader:
    mapping = settings.mapping
    return PriceReader(commerce, mapping.store_id, mapping.store_timezone, mapping.website_id,
                       mapping.customer_group_id)


def price_targets(reader: PriceReader, rules: SellingRules, skus: Iterable[str], instant: datetime,
                  zone: ZoneInfo | None = None, log: Any = None) -> tuple[dict[str, str], dict[str, PriceRecord]]:
    """(SKU -> the price Walmart should show at ``instant``, the records read): Magento's final
    price on the store's clock, then the SKU's selling rule; no entry for a SKU with nothing
    pushable (no price, or 0). One computation for the worker and the reconciler."""
    zone = zone or reader.timezone()
    now = store_wall_clock(instant, zone)
    records = reader.read(set(skus), instant)
    chosen = rules.choices(records)
    targets = {}
    for sku, record in records.items():
        price = effective_price(record, now)
        if price is not None and price > 0:
            targets[sku] = wire_price(rule_price(chosen[sku].rule, price))
            if log is not None and targets[sku] != wire_price(price):
                log.debug("selling rule applied", sku=sku, rule=chosen[sku].name, why=chosen[sku].why,
                          commerce=wire_price(price), walmart=targets[sku])
    return targets, records


class PriceWorker(ValueWorker):
    name = "price"
    families = consumed_by("price")
    feed_type = "price"
    single_api = "price_put"
    selling_family = "price"
    # cdc_listener/translate.py: the catalogue rule price index was swapped whole, the rows that
    # changed are not in the binlog, so every pushed SKU is read again (and what differs pushed)
    # (and the price scope or the store's timezone changed in core_config_data: the same, for every SKU)
    catalogue_event_types = frozenset({"rule_index_swapped", "price_config"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.reader = price_reader(self.settings, self.commerce)
        self._records: dict[str, Any] = {}
        self._zone: ZoneInfo | None = None

    def utc_now(self) -> datetime:
        """The instant prices are judged at (aware); a test may replace it to stand at a window edge."""
        return datetime.now(UTC)

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        self._zone = self.reader.timezone()
        targets, self._records = price_targets(self.reader, self.rules, skus, self.utc_now(), self._zone, self.log)
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
