"""Magento's final price of a simple product in a store, from Magento's pricing rules.

``Magento\\Catalog\\Pricing\\Price\\FinalPrice::getValue`` is ``max(0, BasePrice)``; ``BasePrice`` is
the least of the prices that provide one: ``RegularPrice`` (the ``price`` attribute), and
``SpecialPrice`` when its window is open (tier prices and catalogue price rules need tables the
dev stack's schema does not have). Both are ``priceCurrency->convertAndRound``-ed: two decimals,
half away from zero, base currency (USD here).

``SpecialPrice::isScopeDateInInterval`` asks ``Framework\\Stdlib\\DateTime\\Timezone
::isScopeDateInInterval`` for the admin scope, after ``Catalog\\Model\\Pricing\\SpecialPriceService``
moved a ``special_to_date`` with a time of day back by a day: "now" is the wall clock of the
configured timezone (``general/locale/timezone``; America/Los_Angeles, Magento/Directory's
config.xml default, when core_config_data does not set it) read as UTC; the window is open from
``special_from_date`` and through ``special_to_date + 1 day`` (a whole day for a date, exactly
until the given moment for a date with a time), both ends inclusive, either end open when empty.

Values are read as the product loads for the store: each attribute's row at the store over its
row at the default store 0 (``Catalog\\Model\\ResourceModel\\AbstractResource``), from the backend
table ``eav_attribute`` names, keyed by entity_id or, on Adobe Commerce, the live version's row_id.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from zoneinfo import ZoneInfo

from devstack.oracles.catalog import config_value, is_staged, product_attributes, products

DEFAULT_TIMEZONE = "America/Los_Angeles"
ATTRIBUTES = ("price", "special_price", "special_from_date", "special_to_date")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class PriceFacts:
    sku: str
    price: Decimal | None
    special_price: Decimal | None
    special_from: datetime | None
    special_to: datetime | None


def round_price(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def store_wall_clock(at: datetime, zone: str) -> datetime:
    """``Timezone::scopeTimeStamp``: the time of day in the store's zone, as a naive datetime."""
    return at.astimezone(ZoneInfo(zone)).replace(tzinfo=None)


def special_window_open(facts: PriceFacts, wall_clock: datetime) -> bool:
    if facts.special_price is None:
        return False
    if facts.special_from is not None and wall_clock < facts.special_from:
        return False
    if facts.special_to is not None:
        to = facts.special_to
        if to.time() != time(0, 0, 0):
            to -= timedelta(days=1)     # SpecialPriceService
        if wall_clock > to + timedelta(days=1):  # isScopeDateInInterval's "+ 86400"
            return False
    return True


def final_price(facts: PriceFacts, wall_clock: datetime) -> Decimal | None:
    """None when the product has no price at all (nothing to publish)."""
    if facts.price is None:
        return None
    candidates = [round_price(facts.price)]
    if special_window_open(facts, wall_clock):
        candidates.append(round_price(facts.special_price))  # type: ignore[arg-type]
    return max(Decimal(0), min(candidates))


def read_price_facts(conn: Any, skus: Iterable[str], store_id: int, at: datetime) -> dict[str, PriceFacts]:
    wanted = sorted(set(skus))
    found = products(conn, wanted, int(at.timestamp()))
    attributes = product_attributes(conn, ATTRIBUTES)
    column = "row_id" if is_staged(conn) else "entity_id"
    by_link = {p.link_id: p.sku for p in found.values()}
    values: dict[str, dict[str, Any]] = {sku: {} for sku in found}
    if by_link:
        links = sorted(by_link)
        with conn.cursor() as cur:
            for code, (attribute_id, backend) in sorted(attributes.items()):
                cur.execute(f"SELECT {column}, store_id, value FROM catalog_product_entity_{backend} "
                            f"WHERE attribute_id = %s AND store_id IN (0, %s) "
                            f"AND {column} IN ({', '.join(['%s'] * len(links))})",
                            [attribute_id, store_id, *links])
                rows = sorted(cur.fetchall(), key=lambda r: int(r[1]))  # the store's row last: it wins
                for link, _store, value in rows:
                    values[by_link[int(link)]][code] = value
    return {sku: PriceFacts(sku, _decimal(v.get("price")), _decimal(v.get("special_price")),
                            v.get("special_from_date"), v.get("special_to_date"))
            for sku, v in values.items()}


def store_timezone(conn: Any) -> str:
    return config_value(conn, "general/locale/timezone", DEFAULT_TIMEZONE)


def final_prices(conn: Any, skus: Iterable[str], store_id: int, at: datetime | None = None,
                 zone: str | None = None) -> dict[str, Decimal | None]:
    """SKU -> final price at ``at`` (an aware instant; now by default) for the SKUs that exist."""
    instant = datetime.now(UTC) if at is None else at
    wall_clock = store_wall_clock(instant, zone or store_timezone(conn))
    return {sku: final_price(facts, wall_clock)
            for sku, facts in read_price_facts(conn, skus, store_id, instant).items()}


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
