"""Read the stock positions of many SKUs from the Commerce database in a few queries.

The event says which SKU changed; the database says what its salable quantity is now. Reading
it back (rather than adding up event deltas) makes the worker right whatever it missed or saw
twice, and batching keeps the cost per SKU small during bursts.

Which SKUs Magento gives a salable quantity at all follows
``Magento\\InventorySales\\Model\\GetProductSalableQty::execute`` (magento/inventory): 0 unless the
stock index has a salable row (``GetStockItemDataInterface``), and no quantity for a type without
source items (``IsSourceItemManagementAllowedForProductType``). The index rows are what a reindex writes:

- a stock other than the default (``InventoryIndexer\\Indexer\\SelectBuilder``) LEFT JOINs the
  legacy ``cataloginventory_stock_item`` and builds ``is_salable`` only from its columns
  (``InventorySales\\Model\\ResourceModel\\IsStockItemSalableCondition\\*``): a SKU with source
  items but no legacy stock item is never salable;
- the default stock 1 and a store without MSI read ``cataloginventory_stock_status``, which
  ``CatalogInventory\\Model\\ResourceModel\\Indexer\\Stock\\DefaultStock::_getStockStatusSelect``
  fills only for products with a stock item and a ``status`` value of 1 (enabled) in some store
  (an inner join on ``catalog_product_entity_int``, no store condition): a disabled product has
  no row, so nothing to sell, whatever its stock.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mappings.inventory import StockPosition
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader

DEFAULT_MIN_QTY = Decimal(0)  # Magento's config default for cataloginventory/item_options/min_qty
DEFAULT_STOCK_ID = 1          # Magento\\InventoryCatalogApi\\Api\\DefaultStockProviderInterface's stock
# Product types whose product_types.xml sets is_qty (IsSourceItemManagementAllowedForProductType):
# Magento_Catalog's simple and virtual, Magento_Downloadable's downloadable, Adobe Commerce's giftcard.
QTY_TYPES = frozenset({"simple", "virtual", "downloadable", "giftcard"})
STATUS_ENABLED = 1            # Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Status::STATUS_ENABLED


def _in(values: list[str]) -> str:
    return ", ".join(["%s"] * len(values))


def _enabled(conn: DbConnection, skus: list[str]) -> set[str]:
    """The SKUs whose live product has status enabled in some store: DefaultStock's inner join."""
    eav = EavReader(conn, 0, ["status"])
    status = eav.attribute_ids.get("status")
    if status is None:
        return set()
    with conn.cursor() as cur:
        cur.execute(f"SELECT DISTINCT p.sku FROM catalog_product_entity p JOIN catalog_product_entity_int v "
                    f"ON v.{eav.link} = p.{eav.link} AND v.attribute_id = %s AND v.value = %s "
                    f"WHERE p.sku IN ({_in(skus)}){eav.live}", [status, STATUS_ENABLED, *skus])
        return {sku for (sku,) in cur.fetchall()}


def read_positions(conn: DbConnection, skus: Iterable[str], stock_id: int, msi: bool = True) -> dict[str, StockPosition]:
    """Every SKU asked gets a position; one Magento would not sell has ``sellable`` False."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    positions: dict[str, dict[str, Any]] = {sku: {"sku": sku, "sellable": False} for sku in wanted}
    legacy_index = not msi or stock_id == DEFAULT_STOCK_ID
    enabled = _enabled(conn, wanted) if legacy_index else set(wanted)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.sku, MIN(si.qty), MAX(si.is_in_stock), MAX(si.min_qty), MAX(si.use_config_min_qty), "
            "MAX(si.manage_stock), MAX(si.use_config_manage_stock), MAX(p.type_id) FROM catalog_product_entity p "
            "JOIN cataloginventory_stock_item si ON si.product_id = p.entity_id AND si.stock_id = 1 "
            f"WHERE p.sku IN ({_in(wanted)}) GROUP BY p.sku", wanted)
        for sku, qty, in_stock, min_qty, use_config_min, manage, use_config_manage, type_id in cur.fetchall():
            position = positions[sku]
            position["sellable"] = sku in enabled and (type_id or "simple") in QTY_TYPES
            position["min_qty"] = DEFAULT_MIN_QTY if use_config_min else Decimal(min_qty or 0)
            position["manage_stock"] = True if use_config_manage else bool(manage)
            if not msi:
                position["source_quantity"] = Decimal(qty or 0)
                position["in_stock"] = bool(in_stock)
        if msi:
            cur.execute(
                "SELECT isi.sku, COALESCE(SUM(isi.quantity), 0), COUNT(*) FROM inventory_source_item isi "
                "JOIN inventory_source_stock_link l ON l.source_code = isi.source_code AND l.stock_id = %s "
                "JOIN inventory_source src ON src.source_code = isi.source_code AND src.enabled = 1 "
                f"WHERE isi.status = 1 AND isi.sku IN ({_in(wanted)}) GROUP BY isi.sku",
                [stock_id, *wanted])
            for sku, quantity, count in cur.fetchall():
                positions[sku]["source_quantity"] = Decimal(quantity)
                positions[sku]["in_stock"] = count > 0
            cur.execute(
                f"SELECT sku, SUM(quantity) FROM inventory_reservation WHERE stock_id = %s "
                f"AND sku IN ({_in(wanted)}) GROUP BY sku", [stock_id, *wanted])
            for sku, reserved in cur.fetchall():
                positions[sku]["reservations"] = Decimal(reserved)
    return {sku: StockPosition(**fields) for sku, fields in positions.items()}
