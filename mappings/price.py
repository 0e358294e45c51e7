"""Commerce price + special price -> the price Walmart should show, and Walmart's price payloads.

Magento's final price for a simple product is the lower of ``price`` and an active
``special_price``; the special price is active from ``special_from_date`` through the whole day of
``special_to_date`` (either may be open). A store-scoped value overrides the default (store 0)
one. Walmart takes a price with two decimals.

The window is judged on the store's wall clock, not the host's: ``Magento\\Catalog\\Model\\Product
\\Type\\Price::calculateSpecialPrice`` asks ``Magento\\Framework\\Stdlib\\DateTime\\Timezone
::isScopeDateInInterval`` for the product's store, which compares the dates (stored without a zone)
with ``scopeTimeStamp``: the time of day in the store's ``general/locale/timezone``. So ``now``
below is that wall clock (``store_wall_clock``), and the edges ``next_change`` returns are on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


@dataclass(frozen=True)
class PriceRecord:
    sku: str
    price: Decimal | None = None
    special_price: Decimal | None = None
    special_from: datetime | None = None
    special_to: datetime | None = None

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


def effective_price(record: PriceRecord, now: datetime) -> Decimal | None:
    if record.price is None:
        return None
    if special_active(record, now):
        return min(record.price, record.special_price)  # type: ignore[type-var]
    return record.price


def next_change(record: PriceRecord, now: datetime) -> datetime | None:
    """When the effective price next changes with no edit: a window opening or closing."""
    if record.special_price is None:
        return None
    edges = [t for t in (record.special_from, record.special_ends) if t is not None and t > now]
    return min(edges) if edges else None


def wire_price(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def price_feed(values: dict[str, str]) -> dict[str, Any]:
    """The ``price`` feed (spec 1.7)."""
    return {"PriceHeader": {"version": "1.7"},
            "Price": [{"sku": sku, "pricing": [{"currentPriceType": "BASE",
                                                "currentPrice": {"currency": "USD", "amount": float(v)}}]}
                      for sku, v in sorted(values.items())]}
