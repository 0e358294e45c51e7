"""Magento's final price of a simple product in a store, from Magento's pricing rules.

``Magento\\Catalog\\Pricing\\Price\\FinalPrice::getValue`` is ``max(0, BasePrice)``; ``BasePrice`` is
the least of the prices that provide one: ``RegularPrice`` (the ``price`` attribute),
``SpecialPrice`` when its window is open, ``TierPrice`` for quantity 1 and
``CatalogRule\\Pricing\\Price\\CatalogRulePrice``. Each is ``priceCurrency->convertAndRound``-ed:
two decimals, half away from zero, base currency (USD here).

``TierPrice::getValue`` walks the product's tier rows (``catalog_product_entity_tier_price``, loaded
in qty order by ``Tierprice::_loadPriceDataSelect`` for website 0, or 0 and the store's website when
the price scope is per website: ``AbstractGroupPrice::loadPriceData``) and keeps a row when
``canApplyTierPrice`` lets it: the customer's group or all groups (``all_groups`` -> group 32000),
``price_qty`` no more than the quantity (1) and no less than the previous row's, and not an
all-groups row after a group's own row of the same qty; of those, the cheaper replaces the kept one.
A percentage row costs ``price * (100 - percentage_value) / 100``.

``CatalogRulePrice::getValue`` is ``Rule::getRulePrice`` for the store's date
(``Timezone::scopeDate``), its website and the customer group: one ``catalogrule_product_price``
row; no row, or 0, is no rule price.

Price scope (``catalog/price/scope``, 0 global by Magento_Catalog's config.xml): global makes the
price attributes global, read from store 0 only.

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

from devstack.oracles.catalog import (
    config_value,
    is_staged,
    product_attributes,
    products,
    store_config,
    website_of_store,
)

DEFAULT_TIMEZONE = "America/Los_Angeles"
ATTRIBUTES = ("price", "special_price", "special_from_date", "special_to_date")
CENT = Decimal("0.01")
CUST_GROUP_ALL = 32000  # Magento\\Customer\\Api\\Data\\GroupInterface::CUST_GROUP_ALL


@dataclass(frozen=True)
class PriceFacts:
    sku: str
    price: Decimal | None
    special_price: Decimal | None
    special_from: datetime | None
    special_to: datetime | None
    tier: Decimal | None = None       # TierPrice::getValue for quantity 1
    rule: Decimal | None = None       # CatalogRulePrice::getValue for the day asked


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
    for other in (facts.tier, facts.rule):
        if other:
            candidates.append(round_price(other))
    return max(Decimal(0), min(candidates))


def _tier_for_one(rows: list[tuple[Any, ...]], group: int, price: Decimal | None) -> Decimal | None:
    """TierPrice::getValue over (value_id, all_groups, customer_group_id, qty, value, percentage) rows."""
    kept: Decimal | None = None
    kept_group = CUST_GROUP_ALL
    previous_qty = Decimal(1)
    for _value_id, all_groups, customer_group, qty, value, percentage in sorted(rows, key=lambda r: (r[3], r[0])):
        row_group = CUST_GROUP_ALL if all_groups else int(customer_group)
        qty = Decimal(qty)
        if row_group != group and row_group != CUST_GROUP_ALL:
            continue
        if Decimal(1) < qty or qty < previous_qty:
            continue
        if qty == previous_qty and kept_group != CUST_GROUP_ALL and row_group == CUST_GROUP_ALL and kept is not None:
            continue
        if percentage is not None:
            if price is None:
                continue
            amount = price * (100 - Decimal(percentage)) / 100
        else:
            amount = Decimal(value)
        if kept is None or amount < kept:
            kept, kept_group, previous_qty = amount, row_group, qty
    return kept


def _has_table(conn: Any, table: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s",
                    (table,))
        return cur.fetchone() is not None


def read_price_facts(conn: Any, skus: Iterable[str], store_id: int, at: datetime, website_id: int | None = None,
                     customer_group_id: int = 0, zone: str | None = None) -> dict[str, PriceFacts]:
    wanted = sorted(set(skus))
    found = products(conn, wanted, int(at.timestamp()))
    attributes = product_attributes(conn, ATTRIBUTES)
    website = website_of_store(conn, store_id) if website_id is None else website_id
    per_website = store_config(conn, "catalog/price/scope", store_id, "0").strip() == "1"
    day = store_wall_clock(at, zone or store_timezone(conn, store_id)).date()
    column = "row_id" if is_staged(conn) else "entity_id"
    by_link = {p.link_id: p.sku for p in found.values()}
    values: dict[str, dict[str, Any]] = {sku: {} for sku in found}
    if by_link:
        links = sorted(by_link)
        with conn.cursor() as cur:
            for code, (attribute_id, backend) in sorted(attributes.items()):
                stores = [0] if code in ("price", "special_price") and not per_website else [0, store_id]
                cur.execute(f"SELECT {column}, store_id, value FROM catalog_product_entity_{backend} "
                            f"WHERE attribute_id = %s AND store_id IN ({', '.join(['%s'] * len(stores))}) "
                            f"AND {column} IN ({', '.join(['%s'] * len(links))})",
                            [attribute_id, *stores, *links])
                rows = sorted(cur.fetchall(), key=lambda r: int(r[1]))  # the store's row last: it wins
                for link, _store, value in rows:
                    values[by_link[int(link)]][code] = value
    tiers: dict[str, list[tuple[Any, ...]]] = {}
    rules: dict[str, Decimal] = {}
    if by_link and _has_table(conn, "catalog_product_entity_tier_price"):
        websites = [0, website] if per_website else [0]
        with conn.cursor() as cur:
            cur.execute(f"SELECT {column}, value_id, all_groups, customer_group_id, qty, value, percentage_value "
                        f"FROM catalog_product_entity_tier_price WHERE website_id IN ({', '.join(['%s'] * len(websites))}) "
                        f"AND {column} IN ({', '.join(['%s'] * len(by_link))})", [*websites, *sorted(by_link)])
            for link, *row in cur.fetchall():
                tiers.setdefault(by_link[int(link)], []).append(tuple(row))
    by_entity = {p.entity_id: p.sku for p in found.values()}
    if by_entity and _has_table(conn, "catalogrule_product_price"):
        with conn.cursor() as cur:
            cur.execute("SELECT product_id, rule_price FROM catalogrule_product_price WHERE rule_date = %s "
                        "AND website_id = %s AND customer_group_id = %s "
                        f"AND product_id IN ({', '.join(['%s'] * len(by_entity))})",
                        [day, website, customer_group_id, *sorted(by_entity)])
            for product_id, rule_price in cur.fetchall():
                rules[by_entity[int(product_id)]] = Decimal(rule_price)
    facts = {}
    for sku, v in values.items():
        price = _decimal(v.get("price"))
        facts[sku] = PriceFacts(sku, price, _decimal(v.get("special_price")), v.get("special_from_date"),
                                v.get("special_to_date"), _tier_for_one(tiers.get(sku, []), customer_group_id, price),
                                rules.get(sku))
    return facts


def store_timezone(conn: Any, store_id: int | None = None) -> str:
    """The zone ``Timezone::scopeTimeStamp`` uses: the store view's (store, website, default scope) when
    one is given, else the default scope's."""
    if store_id is None:
        return config_value(conn, "general/locale/timezone", DEFAULT_TIMEZONE)
    return store_config(conn, "general/locale/timezone", store_id, DEFAULT_TIMEZONE)


def final_prices(conn: Any, skus: Iterable[str], store_id: int, at: datetime | None = None,
                 zone: str | None = None, website_id: int | None = None,
                 customer_group_id: int = 0) -> dict[str, Decimal | None]:
    """SKU -> final price at ``at`` (an aware instant; now by default) for the SKUs that exist, for
    the website (the store's by default) and customer group (NOT LOGGED IN by default)."""
    instant = datetime.now(UTC) if at is None else at
    zone = zone or store_timezone(conn, store_id)
    wall_clock = store_wall_clock(instant, zone)
    return {sku: final_price(facts, wall_clock) for sku, facts in read_price_facts(
        conn, skus, store_id, instant, website_id, customer_group_id, zone).items()}


def regular_prices(conn: Any, skus: Iterable[str], store_id: int, zone: str | None = None,
                   website_id: int | None = None, customer_group_id: int = 0) -> dict[str, Decimal | None]:
    """SKU -> what Magento charges with no dated price in force: ``RegularPrice`` (the price
    attribute) or ``TierPrice`` for quantity 1 when lower, neither limited by a date; special and
    catalogue rule prices are the promotions (issue 20's ``price.promotions``)."""
    instant = datetime.now(UTC)
    zone = zone or store_timezone(conn, store_id)
    found = {}
    for sku, facts in read_price_facts(conn, skus, store_id, instant, website_id, customer_group_id, zone).items():
        if facts.price is None:
            found[sku] = None
            continue
        lowest = facts.price if facts.tier is None else min(facts.price, facts.tier)
        found[sku] = round_price(max(Decimal(0), lowest))
    return found


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
