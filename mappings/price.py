"""Commerce prices -> the price Walmart should show, and Walmart's price payloads.

Magento's final price for a simple product (``Magento\\Catalog\\Pricing\\Price\\FinalPrice::getValue``)
is ``max(0, BasePrice)``, and ``BasePrice::getValue`` the least of the prices that provide one:
``price``, an active ``special_price`` (from ``special_from_date`` through the whole day of
``special_to_date``, either end open), the tier/group price for quantity 1 (``TierPrice``) and
the catalogue price rule's price of the day (``Magento\\CatalogRule\\Pricing\\Price\\CatalogRulePrice``:
``catalogrule_product_price`` for the store's date, website and customer group). A store-scoped
value overrides the default (store 0) one. Walmart takes a price with two decimals.

The tier price for quantity 1 follows ``TierPrice::getValue`` / ``canApplyTierPrice`` over the
rows in ``qty`` order (``ResourceModel\\Product\\Attribute\\Backend\\Tierprice::_loadPriceDataSelect``):
a row for the customer group or for all groups (``all_groups``, ``GroupManagement``'s ALL
group), of qty 1 exactly (a row above 1 needs more units; one below is before the starting
quantity 1); the lowest wins, except that an all-groups row does not replace a group's own row
of the same qty. A ``percentage_value`` row is that percentage off ``price``.

The window is judged on the store's wall clock, not the host's: ``Magento\\Catalog\\Model\\Product
\\Type\\Price::calculateSpecialPrice`` asks ``Magento\\Framework\\Stdlib\\DateTime\\Timezone
::isScopeDateInInterval`` for the product's store, which compares the dates (stored without a zone)
with ``scopeTimeStamp``: the time of day in the store's ``general/locale/timezone``. So ``now``
below is that wall clock (``store_wall_clock``), and the edges ``next_change`` returns are on it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

ALL_GROUPS = 32000  # Magento\Customer\Api\Data\GroupInterface::CUST_GROUP_ALL


@dataclass(frozen=True)
class PriceRecord:
    sku: str
    price: Decimal | None = None
    special_price: Decimal | None = None
    special_from: datetime | None = None
    special_to: datetime | None = None
    tier_price: Decimal | None = None      # the group's price for quantity 1 (tier_price_for_one)
    rule_prices: dict[date, Decimal] = field(default_factory=dict)  # catalogrule_product_price by rule_date
    version_change: datetime | None = None  # Adobe Commerce: the next staging version's start, store wall clock

    @property
    def special_ends(self) -> datetime | None:
        """The first moment after the special price's last day."""
        if self.special_to is None:
            return None
        return datetime.combine(self.special_to.date(), datetime.min.time()) + timedelta(days=1) \
            if self.special_to.time() == datetime.min.time() else self.special_to


def store_wall_clock(instant: datetime, zone: tzinfo) -> datetime:
    """``Timezone::scopeTimeStamp``: what the store's clock shows at ``instant`` (aware), naive,
    comparable with the naive special_from/special_to dates."""
    if instant.tzinfo is None:
        raise ValueError("store_wall_clock needs an aware instant: a naive one is the host's clock")
    return instant.astimezone(zone).replace(tzinfo=None)


def wall_clock_instant(wall_clock: datetime, zone: tzinfo) -> datetime:
    """The aware instant at which the store's clock shows ``wall_clock`` (a window edge)."""
    return wall_clock.replace(tzinfo=zone)


def special_active(record: PriceRecord, now: datetime) -> bool:
    if record.special_price is None:
        return False
    if record.special_from is not None and now < record.special_from:
        return False
    ends = record.special_ends
    return ends is None or now < ends


@dataclass(frozen=True)
class TierRow:
    """One ``catalog_product_entity_tier_price`` row that applies to the website."""

    value_id: int
    all_groups: bool
    customer_group_id: int
    qty: Decimal
    value: Decimal
    percentage_value: Decimal | None = None


def tier_price_for_one(rows: Iterable[TierRow], customer_group_id: int, price: Decimal | None) -> Decimal | None:
    """``TierPrice::getValue`` for quantity 1 (see the module docstring)."""
    chosen: Decimal | None = None
    chosen_group = ALL_GROUPS
    prev_qty = Decimal(1)
    for row in sorted(rows, key=lambda r: (r.qty, r.value_id)):
        group = ALL_GROUPS if row.all_groups else row.customer_group_id
        if group not in (customer_group_id, ALL_GROUPS) or row.qty > 1 or row.qty < prev_qty:
            continue
        if row.qty == prev_qty and chosen is not None and chosen_group != ALL_GROUPS and group == ALL_GROUPS:
            continue
        if row.percentage_value is not None:
            if price is None:
                continue
            value = price * (Decimal(100) - row.percentage_value) / Decimal(100)
        else:
            value = row.value
        if chosen is None or value < chosen:
            chosen, chosen_group, prev_qty = value, group, row.qty
    return chosen


def effective_price(record: PriceRecord, now: datetime) -> Decimal | None:
    """``FinalPrice``: the least of the prices that apply at ``now`` (the store's wall clock)."""
    if record.price is None:
        return None
    candidates = [record.price]
    if special_active(record, now):
        candidates.append(record.special_price)  # type: ignore[arg-type]
    if record.tier_price is not None:
        candidates.append(record.tier_price)
    rule = record.rule_prices.get(now.date())
    if rule:  # CatalogRulePrice: no row (or 0) is no rule price
        candidates.append(rule)
    return max(Decimal(0), min(candidates))


def next_change(record: PriceRecord, now: datetime) -> datetime | None:
    """When the effective price next changes with no edit: a special-price window opening or
    closing, the store's midnight when the catalogue rule price of the next day differs, or (Adobe
    Commerce content staging) the start of the product's next version."""
    edges = []
    if record.special_price is not None:
        edges = [t for t in (record.special_from, record.special_ends) if t is not None and t > now]
    if record.version_change is not None and record.version_change > now:
        edges.append(record.version_change)  # a scheduled update goes live (or ends) with no row change
    today = now.date()
    if record.rule_prices.get(today) != record.rule_prices.get(today + timedelta(days=1)):
        edges.append(datetime.combine(today + timedelta(days=1), datetime.min.time()))
    return min(edges) if edges else None


def wire_price(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def price_entry(sku: str, base: str, promotion: dict[str, str] | None = None) -> dict[str, Any]:
    """One ``Price`` entry (prices.yml, for ``PUT /v3/price`` and the feed alike): the BASE price,
    and with ``promotion`` (``price.promotions = "promotions"``) ``replaceAll`` and the promotion as a
    REDUCED entry whose ``comparisonPrice`` is the BASE price; an empty ``promotion`` cancels the
    SKU's promotions. None leaves Walmart's promotions as they are (``base_only``)."""
    pricing: list[dict[str, Any]] = [{"currentPriceType": "BASE",
                                      "currentPrice": {"currency": "USD", "amount": float(base)}}]
    entry: dict[str, Any] = {"sku": sku, "pricing": pricing}
    if promotion is None:
        return entry
    entry["replaceAll"] = "true"
    if promotion:
        pricing.append({"currentPriceType": "REDUCED",
                        "currentPrice": {"currency": "USD", "amount": float(promotion["price"])},
                        "comparisonPriceType": "BASE",
                        "comparisonPrice": {"currency": "USD", "amount": float(base)},
                        "effectiveDate": promotion["effectiveDate"], "expirationDate": promotion["expirationDate"],
                        "processMode": "UPSERT"})
    return entry


def price_feed(values: Mapping[str, str | tuple[str, dict[str, str] | None]]) -> dict[str, Any]:
    """The ``price`` feed (spec 1.7): SKU -> a BASE price, or (BASE price, promotion) as ``price_entry``."""
    entries = []
    for sku, value in sorted(values.items()):
        if isinstance(value, str):
            entries.append(price_entry(sku, value))
        else:
            entries.append(price_entry(sku, value[0], value[1]))
    return {"PriceHeader": {"version": "1.7"}, "Price": entries}
