"""Read what Magento's final price is made of for many SKUs, in either Commerce edition: price,
special price and its window (the EAV details, editions and store scope, are
sync_workers/commerce/eav.py's), tier/group prices for quantity 1 and the catalogue rule prices of
the store's today and tomorrow; and the store's clock the window and the rule date are judged on
(sync_workers/commerce/store_config.py). The rules themselves are mappings/price.py's.

Price scope (``catalog/price/scope``, ``Magento\\Store\\Model\\Store::XML_PATH_PRICE_SCOPE``:
0 global, Magento_Catalog's default, or 1 website): with a global scope the price attributes are
global (``Catalog\\Observer\\SwitchPriceAttributeScopeOnConfigChange`` sets their ``is_global``),
so a store-view row of ``price`` / ``special_price`` left over from a website-scope past is not
read, and tier prices are only those of website 0
(``ResourceModel\\Product\\Attribute\\Backend\\GroupPrice\\AbstractGroupPrice::loadPriceData``: website
0 when the attribute is global, else website 0 and the store's website).

Catalogue rule prices come from the index Magento's storefront reads
(``CatalogRule\\Model\\ResourceModel\\Rule::getRulePrices``: ``catalogrule_product_price`` by
``rule_date`` = the store's date (``Timezone::scopeDate``), website and customer group); the
indexer writes the rows of yesterday, today and tomorrow, so tomorrow's row says what midnight
brings. On Adobe Commerce the start of a product's next staging version is read too: the live
version changes then with no row written (next_change schedules it). SKU IN lists are sent in
chunks of 500 (issue 19: MariaDB's IN-to-subquery conversion at
1000 values made 1,000 SKUs 4x slower than 999).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from mappings.price import PriceRecord, TierRow, store_wall_clock, tier_price_for_one
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader
from sync_workers.commerce.salable import chunks
from sync_workers.commerce.store_config import store_config_value, store_timezone

ATTRIBUTES = ("price", "special_price", "special_from_date", "special_to_date")
PRICE_SCOPE_PATH = "catalog/price/scope"
PRICE_SCOPE_GLOBAL = 0   # Magento\\Store\\Model\\Store::PRICE_SCOPE_GLOBAL
GLOBAL_WHEN_SCOPE_GLOBAL = ("price", "special_price")


class PriceReader:
    def __init__(self, conn: DbConnection, store_id: int, timezone: str | None = None, website_id: int = 1,
                 customer_group_id: int = 0):
        self.conn = conn
        self.store_id = store_id
        self.website_id = website_id
        self.customer_group_id = customer_group_id
        self.timezone_override = timezone
        self.eav = EavReader(conn, store_id, ATTRIBUTES)
        self.global_eav = EavReader(conn, 0, GLOBAL_WHEN_SCOPE_GLOBAL)

    def price_scope_global(self) -> bool:
        value = store_config_value(self.conn, PRICE_SCOPE_PATH, self.store_id)
        return value is None or value.strip() in ("", str(PRICE_SCOPE_GLOBAL))

    def read(self, skus: Iterable[str], at: datetime | None = None) -> dict[str, PriceRecord]:
        """Every SKU asked (price None where it has none); ``at`` (aware, now by default) picks the rule dates read."""
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        eav = self.eav
        today = self.wall_clock(at).date()
        scope_global = self.price_scope_global()
        values = self.eav.values(wanted)
        if scope_global:
            for sku, found in self.global_eav.values(wanted).items():
                for code in GLOBAL_WHEN_SCOPE_GLOBAL:
                    values[sku][code] = found.get(code)
        websites = [0] if scope_global else sorted({0, self.website_id})
        tiers: dict[str, list[TierRow]] = {}
        rules: dict[str, dict[date, Decimal]] = {}
        versions: dict[str, datetime] = {}
        instant = datetime.now(UTC) if at is None else at
        for part in chunks(wanted):
            self._tiers(part, websites, tiers)
            self._rules(part, [today, today + timedelta(days=1)], rules)
            if eav.staging:
                self._next_versions(part, instant, versions)
        records = {}
        for sku, found in values.items():
            price = _decimal(found.get("price"))
            records[sku] = PriceRecord(sku, price, _decimal(found.get("special_price")),
                                       found.get("special_from_date"), found.get("special_to_date"),
                                       tier_price_for_one(tiers.get(sku, ()), self.customer_group_id, price),
                                       rules.get(sku, {}), versions.get(sku))
        return records

    def _tiers(self, skus: list[str], websites: list[int], into: dict[str, list[TierRow]]) -> None:
        eav = self.eav
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT p.sku, t.value_id, t.all_groups, t.customer_group_id, t.qty, t.value, t.percentage_value "
                f"FROM catalog_product_entity p JOIN catalog_product_entity_tier_price t ON t.{eav.link} = p.{eav.link} "
                f"AND t.website_id IN ({', '.join(['%s'] * len(websites))}) AND (t.all_groups = 1 OR t.customer_group_id = %s) "
                f"WHERE p.sku IN ({', '.join(['%s'] * len(skus))}){eav.live}",
                [*websites, self.customer_group_id, *skus])
            for sku, value_id, all_groups, group, qty, value, percentage in cur.fetchall():
                into.setdefault(sku, []).append(TierRow(int(value_id), bool(all_groups), int(group), Decimal(qty),
                                                        Decimal(value), _decimal(percentage)))

    def _rules(self, skus: list[str], days: list[date], into: dict[str, dict[date, Decimal]]) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT DISTINCT p.sku, r.rule_date, r.rule_price FROM catalog_product_entity p "
                "JOIN catalogrule_product_price r ON r.product_id = p.entity_id AND r.website_id = %s "
                f"AND r.customer_group_id = %s AND r.rule_date IN ({', '.join(['%s'] * len(days))}) "
                f"WHERE p.sku IN ({', '.join(['%s'] * len(skus))})",
                [self.website_id, self.customer_group_id, *days, *skus])
            for sku, rule_date, rule_price in cur.fetchall():
                into.setdefault(sku, {})[rule_date] = Decimal(rule_price)

    def _next_versions(self, skus: list[str], at: datetime, into: dict[str, datetime]) -> None:
        """Adobe Commerce content staging: a scheduled update is a product version whose ``created_in``
        (the staging update id, its start as a Unix time) is ahead; it goes live then, and its end is the
        start of the version after it, with no row written at either moment. Kept on the store's wall
        clock, as next_change compares."""
        zone = self.timezone()
        with self.conn.cursor() as cur:
            cur.execute("SELECT sku, MIN(created_in) FROM catalog_product_entity WHERE created_in > %s "
                        f"AND sku IN ({', '.join(['%s'] * len(skus))}) GROUP BY sku", [int(at.timestamp()), *skus])
            for sku, starts in cur.fetchall():
                if starts is not None:
                    into[sku] = store_wall_clock(datetime.fromtimestamp(int(starts), UTC), zone)

    def timezone(self) -> ZoneInfo:
        """Read each time (one small query): a merchant may change the store's timezone at run time."""
        return store_timezone(self.conn, self.store_id, self.timezone_override)

    def wall_clock(self, at: datetime | None = None) -> datetime:
        """The store's wall clock at ``at`` (aware; now by default): the ``now`` of mappings/price.py."""
        return store_wall_clock(datetime.now(UTC) if at is None else at, self.timezone())


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))
