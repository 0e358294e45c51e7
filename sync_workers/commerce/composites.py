r"""Read bundles and configurables from the Commerce database: what a bundle is made of, which
bundles hold a component, and which SKUs are configurable parents (never offers on Walmart).

Bundle rows (Magento_Bundle): ``catalog_product_bundle_option`` (``parent_id``, ``required``) and
``catalog_product_bundle_selection`` (``parent_product_id``, ``product_id`` the child's entity
id, ``selection_qty``, ``selection_can_change_qty``). Configurable rows
(Magento_ConfigurableProduct): ``catalog_product_super_link`` (``parent_id``, ``product_id``) and
``catalog_product_super_attribute`` (the parent's variant attributes). On Adobe Commerce the parent
columns hold the parent's ``row_id`` (a bundle's options belong to a product version,
Magento_BundleStaging); the child columns keep the entity id, so the live version of the parent is
the one joined.

The requested quantity of a selection the buyer may change is the child's minimum sale quantity,
as ``Magento\InventoryBundleProduct\Model\GetBundleProductStockStatus::getRequestedQty`` asks
(``getMinSaleQty``): the stock item's ``min_sale_qty`` unless ``use_config_min_sale_qty``, else
``cataloginventory/item_options/min_sale_qty`` when it is a plain number, else 1
(CatalogInventory's etc/config.xml default). Magento stores that setting per customer group as a
serialized list once a merchant edits it in the admin (``Magento\CatalogInventory\Helper\Minsaleqty``);
such a value is read as 1 here, the default the storefront's "all groups" row starts with.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

import pymysql

from mappings.bundles import Bundle, BundleOption, BundleSelection
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader
from sync_workers.commerce.salable import STATUS_ENABLED, chunks
from sync_workers.commerce.store_config import store_config_value

MIN_SALE_QTY_PATH = "cataloginventory/item_options/min_sale_qty"
BUNDLE = "bundle"
CONFIGURABLE = "configurable"
NO_SUCH_TABLE = 1146  # ER_NO_SUCH_TABLE


def _in(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


class CompositeReader:
    def __init__(self, conn: DbConnection, store_id: int):
        self.conn = conn
        self.store_id = store_id
        self.eav = EavReader(conn, store_id, ["status"])
        self.link = self.eav.link
        self._child_live = self.eav.live.replace("p.", "c.")
        self._types: dict[str, str] = {}
        self.missing_module = False  # a composite table this store does not have
        self._absent: set[str] = set()

    def _rows(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        """A query of Magento_Bundle's or Magento_ConfigurableProduct's tables; none when the store
        has no such table (installed without the module): no bundles, no configurables, rather
        than an inventory worker stopped on every batch."""
        if self.missing_module:
            return []
        try:
            with self.conn.cursor() as cur:
                cur.execute(sql, args)
                return list(cur.fetchall())
        except pymysql.err.ProgrammingError as exc:
            if exc.args and exc.args[0] == NO_SUCH_TABLE:
                self.missing_module = True
                return []
            raise

    def types(self, skus: Iterable[str]) -> dict[str, str]:
        """SKU -> its product type (the live version's). Remembered for the reader's life: the
        inventory worker uses one reader per batch (its push filter and its targets ask the same
        SKUs), so a batch pays for one query, not three."""
        wanted = set(skus)
        missing = sorted(wanted - set(self._types) - self._absent)
        for part in chunks(missing):
            with self.conn.cursor() as cur:
                cur.execute(f"SELECT p.sku, p.type_id FROM catalog_product_entity p WHERE p.sku IN ({_in(part)})"
                            f"{self.eav.live}", part)
                self._types.update({str(sku): str(type_id or "simple") for sku, type_id in cur.fetchall()})
        self._absent |= set(missing) - set(self._types)
        return {sku: self._types[sku] for sku in wanted if sku in self._types}

    def configurable_parents(self, skus: Iterable[str]) -> set[str]:
        """The SKUs of ``skus`` that are configurable products: Walmart lists their children instead."""
        return {sku for sku, kind in self.types(skus).items() if kind == CONFIGURABLE}

    def children(self, parents: Iterable[str]) -> dict[str, list[str]]:
        """Configurable parent SKU -> its children's SKUs (``catalog_product_super_link``)."""
        out: dict[str, list[str]] = {}
        for part in chunks(sorted(set(parents))):
            for parent, child in self._rows(
                    "SELECT p.sku, c.sku FROM catalog_product_entity p "
                    f"JOIN catalog_product_super_link l ON l.parent_id = p.{self.link} "
                    f"JOIN catalog_product_entity c ON c.entity_id = l.product_id{self._child_live} "
                    f"WHERE p.type_id = %s AND p.sku IN ({_in(part)}){self.eav.live} ORDER BY c.entity_id",
                    [CONFIGURABLE, *part]):
                out.setdefault(str(parent), []).append(str(child))
        return out

    def variant_attributes(self, parent: str) -> list[str]:
        """The attribute codes a configurable's children differ by (its super attributes, in order)."""
        return [str(code) for (code,) in self._rows(
            "SELECT a.attribute_code FROM catalog_product_entity p "
            f"JOIN catalog_product_super_attribute s ON s.product_id = p.{self.link} "
            "JOIN eav_attribute a ON a.attribute_id = s.attribute_id "
            f"WHERE p.sku = %s{self.eav.live} ORDER BY s.position, a.attribute_code", [parent])]

    def bundles_containing(self, skus: Iterable[str]) -> set[str]:
        """The bundles one of ``skus`` is a selection of: a component's change may change them."""
        out: set[str] = set()
        for part in chunks(sorted(set(skus))):
            out.update(str(sku) for (sku,) in self._rows(
                "SELECT DISTINCT p.sku FROM catalog_product_entity c "
                "JOIN catalog_product_bundle_selection s ON s.product_id = c.entity_id "
                f"JOIN catalog_product_entity p ON p.{self.link} = s.parent_product_id{self.eav.live} "
                f"WHERE c.sku IN ({_in(part)}){self._child_live}", part))
        return out

    def bundles(self, skus: Iterable[str]) -> dict[str, Bundle]:
        """The bundles among ``skus``, with their options and selections as Magento checks them.
        One indexed query when none is a bundle (most batches): the rest only for bundles."""
        wanted = sorted(sku for sku, kind in self.types(skus).items() if kind == BUNDLE)
        rows: list[tuple[Any, ...]] = []
        in_stock: set[str] = set()
        for part in chunks(wanted):
            rows += self._rows(
                "SELECT p.sku, o.option_id, o.required, c.sku, s.selection_qty, s.selection_can_change_qty "
                "FROM catalog_product_entity p "
                f"JOIN catalog_product_bundle_option o ON o.parent_id = p.{self.link} "
                "LEFT JOIN catalog_product_bundle_selection s ON s.option_id = o.option_id "
                f"LEFT JOIN catalog_product_entity c ON c.entity_id = s.product_id{self._child_live} "
                f"WHERE p.sku IN ({_in(part)}){self.eav.live} "
                "ORDER BY p.sku, o.position, o.option_id, s.position, s.selection_id", part)
            with self.conn.cursor() as cur:
                cur.execute(
                    "SELECT DISTINCT p.sku FROM catalog_product_entity p JOIN cataloginventory_stock_item si "
                    "ON si.product_id = p.entity_id AND si.stock_id = 1 AND si.is_in_stock = 1 "
                    f"WHERE p.sku IN ({_in(part)}){self.eav.live}", part)
                in_stock.update(str(sku) for (sku,) in cur.fetchall())
        if not rows:
            return {}
        children = sorted({str(r[3]) for r in rows if r[3] is not None})
        enabled = {sku for sku, values in self.eav.values(children).items()
                   if values.get("status") is not None and int(values["status"]) == STATUS_ENABLED}
        min_sale = self._min_sale_qty([str(r[3]) for r in rows if r[3] is not None and r[5]])
        options: dict[str, dict[int, tuple[bool, list[BundleSelection]]]] = {}
        for sku, option_id, required, child, qty, can_change in rows:
            option = options.setdefault(str(sku), {}).setdefault(int(option_id), (bool(required), []))
            if child is None:
                continue  # an option without selections (or whose product is gone) offers nothing
            requested = min_sale.get(str(child), Decimal(1)) if can_change else Decimal(qty or 0)
            option[1].append(BundleSelection(str(child), requested, str(child) in enabled))
        return {sku: Bundle(sku, sku in in_stock, tuple(BundleOption(option_id, required, tuple(selections))
                                                        for option_id, (required, selections) in by_option.items()))
                for sku, by_option in options.items()}

    def _min_sale_qty(self, skus: list[str]) -> dict[str, Decimal]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        configured = store_config_value(self.conn, MIN_SALE_QTY_PATH, self.store_id)
        try:
            default = Decimal(str(configured).strip()) if configured not in (None, "") else Decimal(1)
        except InvalidOperation:
            default = Decimal(1)  # a per-customer-group list (Minsaleqty): its "all groups" default
        out: dict[str, Decimal] = {}
        for part in chunks(wanted):
            with self.conn.cursor() as cur:
                cur.execute("SELECT p.sku, MAX(si.min_sale_qty), MAX(si.use_config_min_sale_qty) "
                            "FROM catalog_product_entity p JOIN cataloginventory_stock_item si "
                            "ON si.product_id = p.entity_id AND si.stock_id = 1 "
                            f"WHERE p.sku IN ({_in(part)}){self.eav.live} GROUP BY p.sku", part)
                for sku, own, use_config in cur.fetchall():
                    out[str(sku)] = default if use_config else Decimal(own or 1)
        return {sku: out.get(sku, default) for sku in wanted}
