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
  fills only for products with a stock item and a ``status`` value of 1 (enabled) in some store.

On top of the index, what the store view sells:

- the product's ``status`` for the store view (its row at the store over the one at store 0,
  as the product loads for the store): ``Catalog\\Model\\Product\\Type\\AbstractType::isSalable``
  sells only ``Status::STATUS_ENABLED``, so a product disabled at the store view alone is not
  sold there even though the index (enabled "in some store") still has it;
- the product's website assignment (``catalog_product_website``): the cart refuses a product
  not assigned to the store's website (``Checkout\\Model\\Cart::_getProduct``: "The product
  wasn't found"), and the storefront does not list it (``addWebsiteFilter``);
- the stock settings as ``CatalogInventory\\Model\\Stock\\Item`` reports them: ``getManageStock``,
  ``getBackorders`` and ``getMinQty`` take the item's own column unless its ``use_config_*``
  flag is set, else ``StockConfiguration`` reads ``cataloginventory/item_options/*`` for the
  store (``ScopeInterface::SCOPE_STORE``: store, else website, else default scope, else
  CatalogInventory's etc/config.xml: manage_stock 1, backorders 0, min_qty 0).

SKU IN lists are sent in chunks of ``CHUNK``: MariaDB turns an IN list of
``in_predicate_conversion_threshold`` (1000) values or more into a join with a temporary table,
which issue 19 measured 4x slower for 1,000 SKUs than for 999.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from mappings.inventory import StockPosition
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader
from sync_workers.commerce.store_config import store_config_value

DEFAULT_STOCK_ID = 1          # Magento\\InventoryCatalogApi\\Api\\DefaultStockProviderInterface's stock
# Product types whose product_types.xml sets is_qty (IsSourceItemManagementAllowedForProductType):
# Magento_Catalog's simple and virtual, Magento_Downloadable's downloadable, Adobe Commerce's giftcard.
QTY_TYPES = frozenset({"simple", "virtual", "downloadable", "giftcard"})
STATUS_ENABLED = 1            # Magento\\Catalog\\Model\\Product\\Attribute\\Source\\Status::STATUS_ENABLED
CHUNK = 500                   # below MariaDB's in_predicate_conversion_threshold (1000)

# Magento\\CatalogInventory\\Model\\Configuration::XML_PATH_* and CatalogInventory/etc/config.xml's defaults
MANAGE_STOCK_PATH = "cataloginventory/item_options/manage_stock"
BACKORDERS_PATH = "cataloginventory/item_options/backorders"
MIN_QTY_PATH = "cataloginventory/item_options/min_qty"
CONFIG_DEFAULTS = {MANAGE_STOCK_PATH: "1", BACKORDERS_PATH: "0", MIN_QTY_PATH: "0"}


def _in(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def chunks(items: list[str], size: int = CHUNK) -> Iterator[list[str]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _number(value: str | None, default: str) -> Decimal:
    try:
        return Decimal(str(value).strip()) if value not in (None, "") else Decimal(default)
    except ArithmeticError:
        return Decimal(default)


def store_stock_config(conn: DbConnection, store_id: int) -> tuple[bool, int, Decimal]:
    """(manage_stock, backorders, min_qty) of ``StockConfiguration`` for the store view."""
    values = {path: store_config_value(conn, path, store_id) for path in CONFIG_DEFAULTS}
    manage = _number(values[MANAGE_STOCK_PATH], CONFIG_DEFAULTS[MANAGE_STOCK_PATH]) != 0
    backorders = int(_number(values[BACKORDERS_PATH], CONFIG_DEFAULTS[BACKORDERS_PATH]))
    return manage, backorders, _number(values[MIN_QTY_PATH], CONFIG_DEFAULTS[MIN_QTY_PATH])


def _enabled_here(eav: EavReader, skus: list[str]) -> set[str]:
    """SKUs whose status, as the product loads for the store view, is enabled."""
    return {sku for sku, values in eav.values(skus).items()
            if values.get("status") is not None and int(values["status"]) == STATUS_ENABLED}


def _enabled_anywhere(conn: DbConnection, eav: EavReader, skus: list[str]) -> set[str]:
    """DefaultStock's inner join: status 1 in some store (what puts the SKU in the legacy index)."""
    status = eav.attribute_ids.get("status")
    if status is None:
        return set()
    with conn.cursor() as cur:
        cur.execute(f"SELECT DISTINCT p.sku FROM catalog_product_entity p JOIN catalog_product_entity_int v "
                    f"ON v.{eav.link} = p.{eav.link} AND v.attribute_id = %s AND v.value = %s "
                    f"WHERE p.sku IN ({_in(skus)}){eav.live}", [status, STATUS_ENABLED, *skus])
        return {sku for (sku,) in cur.fetchall()}


def _on_website(conn: DbConnection, eav: EavReader, skus: list[str], website_id: int) -> set[str]:
    with conn.cursor() as cur:
        cur.execute("SELECT DISTINCT p.sku FROM catalog_product_entity p JOIN catalog_product_website w "
                    "ON w.product_id = p.entity_id AND w.website_id = %s "
                    f"WHERE p.sku IN ({_in(skus)}){eav.live}", [website_id, *skus])
        return {sku for (sku,) in cur.fetchall()}


def sold_in_store_view(conn: DbConnection, eav: EavReader, skus: list[str], website_id: int,
                       legacy_index: bool) -> set[str]:
    """The SKUs the store view sells at all, whatever their stock: enabled there, on its website,
    and (the legacy stock index) enabled in some store. Bundles are asked too
    (push/inventory.py): their quantity comes from their components, their sellability from here."""
    sold = _enabled_here(eav, skus) & _on_website(conn, eav, skus, website_id)
    if legacy_index:
        sold &= _enabled_anywhere(conn, eav, skus)
    return sold


def read_positions(conn: DbConnection, skus: Iterable[str], stock_id: int, msi: bool = True,
                   store_id: int = 1, website_id: int = 1,
                   sources: list[str] | None = None) -> dict[str, StockPosition]:
    """Every SKU asked gets a position; one Magento would not sell in the store view has
    ``sellable`` False. ``sources``: only these of the stock's sources count (a Walmart ship node's
    share); reservations stay the whole stock's, since MSI reserves per stock, not per source."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    eav = EavReader(conn, store_id, ["status"])
    config = store_stock_config(conn, store_id)
    positions: dict[str, StockPosition] = {}
    for part in chunks(wanted):
        positions.update(_read_chunk(conn, eav, config, part, stock_id, msi, website_id, sources))
    return positions


def _read_chunk(conn: DbConnection, eav: EavReader, config: tuple[bool, int, Decimal], wanted: list[str],
                stock_id: int, msi: bool, website_id: int,
                sources: list[str] | None = None) -> dict[str, StockPosition]:
    manage_default, backorders_default, min_qty_default = config
    positions: dict[str, dict[str, Any]] = {sku: {"sku": sku, "sellable": False} for sku in wanted}
    sold_here = sold_in_store_view(conn, eav, wanted, website_id, not msi or stock_id == DEFAULT_STOCK_ID)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.sku, MIN(si.qty), MAX(si.is_in_stock), MAX(si.min_qty), MAX(si.use_config_min_qty), "
            "MAX(si.manage_stock), MAX(si.use_config_manage_stock), MAX(si.backorders), "
            "MAX(si.use_config_backorders), MAX(p.type_id) FROM catalog_product_entity p "
            "JOIN cataloginventory_stock_item si ON si.product_id = p.entity_id AND si.stock_id = 1 "
            f"WHERE p.sku IN ({_in(wanted)}){eav.live} GROUP BY p.sku", wanted)
        for (sku, qty, in_stock, min_qty, use_config_min, manage, use_config_manage, backorders,
             use_config_backorders, type_id) in cur.fetchall():
            position = positions[sku]
            position["sellable"] = sku in sold_here and (type_id or "simple") in QTY_TYPES
            position["min_qty"] = min_qty_default if use_config_min else Decimal(min_qty or 0)
            position["manage_stock"] = manage_default if use_config_manage else bool(manage)
            position["backorders"] = (backorders_default if use_config_backorders else int(backorders or 0)) != 0
            if not msi:
                position["source_quantity"] = Decimal(qty or 0)
                position["in_stock"] = bool(in_stock)
        if msi:
            cur.execute(
                "SELECT isi.sku, COALESCE(SUM(isi.quantity), 0), COUNT(*) FROM inventory_source_item isi "
                "JOIN inventory_source_stock_link l ON l.source_code = isi.source_code AND l.stock_id = %s "
                "JOIN inventory_source src ON src.source_code = isi.source_code AND src.enabled = 1 "
                f"WHERE isi.status = 1 AND isi.sku IN ({_in(wanted)})"
                + (f" AND isi.source_code IN ({_in(sources)})" if sources else "") + " GROUP BY isi.sku",
                [stock_id, *wanted, *(sources or [])])
            for sku, quantity, count in cur.fetchall():
                positions[sku]["source_quantity"] = Decimal(quantity)
                positions[sku]["in_stock"] = count > 0
            cur.execute(
                f"SELECT sku, SUM(quantity) FROM inventory_reservation WHERE stock_id = %s "
                f"AND sku IN ({_in(wanted)}) GROUP BY sku", [stock_id, *wanted])
            for sku, reserved in cur.fetchall():
                positions[sku]["reservations"] = Decimal(reserved)
    return {sku: StockPosition(**fields) for sku, fields in positions.items()}
