"""Magento's salable quantity of a SKU for a stock, computed from Magento's rules and tables.

``Magento\\InventorySales\\Model\\GetProductSalableQty::execute``: refuse SKUs that are not in the
catalogue or whose type has no source items (``IsSourceItemManagementAllowedForProductType``:
only types with ``is_qty``: simple, virtual, downloadable, giftcard); read the stock index row
(``GetStockItemDataInterface``: quantity, is_salable); no row or not salable -> 0; else
``quantity + SUM(inventory_reservation.quantity for the SKU and stock) - min_qty``
(``InventoryReservations\\Model\\ResourceModel\\GetReservationsQuantity``; min_qty is the legacy stock
item's out-of-stock threshold via ``InventoryConfiguration\\Model\\GetStockItemConfiguration`` and
``GetLegacyStockItem``, the config default when ``use_config_min_qty``).

The stock index is read as a reindex would write it now, because the dev stack runs no indexer:

- Stock N != 1 (``InventoryIndexer\\Indexer\\SelectBuilder``): quantity = SUM over the SKU's source
  items at *enabled* sources linked to the stock, an item with status 0 counting 0; is_salable =
  the OR of ``InventorySales\\Model\\ResourceModel\\IsStockItemSalableCondition``'s conditions as
  InventorySales/etc/di.xml chains them: BackordersCondition (backorders on, min_qty >= 0, an
  in-stock item), ManageStockCondition (stock not managed), MinQtyStockWithReservationsCondition
  (quantity + reservations - min_qty > 0), each through the LEFT JOINed legacy stock item, so a
  SKU without one is not salable.
- The default stock (1) is the view ``inventory_stock_1`` over ``cataloginventory_stock_status``
  (``InventoryCatalog\\Setup\\Patch\\Schema\\CreateLegacyStockStatusView``; read through
  ``GetLegacyStockStatusDataFromStockRegistry``), which the legacy indexer
  (``CatalogInventory\\Model\\ResourceModel\\Indexer\\Stock\\DefaultStock::_getStockStatusSelect``)
  fills from ``cataloginventory_stock_item`` (MSI keeps it in step with the default source):
  qty = max(qty, 0), status = is_in_stock when stock is managed, else 1, and only for products
  enabled (status = 1) in some store.
- A store without MSI (legacy CatalogInventory) has that same stock status and no reservations.

Config (cataloginventory/item_options: manage_stock 1, backorders 0, min_qty 0, from
CatalogInventory/etc/config.xml) comes from core_config_data when the database has it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from devstack.oracles.catalog import Product, config_value, is_staged, product_attributes, products

DEFAULT_STOCK_ID = 1
QTY_TYPES = frozenset({"simple", "virtual", "downloadable", "giftcard"})


@dataclass(frozen=True)
class StockConfig:
    """The legacy stock item's settings as StockItemConfiguration reports them."""

    min_qty: Decimal
    manage_stock: bool
    backorders: bool


@dataclass(frozen=True)
class Salable:
    """Magento's answer for one SKU and stock; ``quantity`` None where Magento refuses to give one
    (not in the catalogue, or a type without source items)."""

    sku: str
    quantity: Decimal | None
    manage_stock: bool = True
    available: Decimal = Decimal(0)       # GetProductAvailableQty: in-stock items at enabled linked sources
    in_stock_items: int = 0               # how many of those items have status 1
    reservations: Decimal = Decimal(0)
    min_qty: Decimal = Decimal(0)
    backorders: bool = False
    indexed: bool = False                 # the stock index has a row for it


def expected_walmart_quantity(salable: Salable, safety_buffer: int) -> int:
    """What Walmart should show: whole units of the salable quantity less the sidecar's
    ``mapping.inventory_safety_buffer``, never below 0; 0 for unmanaged stock (no count to
    publish, docs/workers.md) and for SKUs Magento has no salable quantity for."""
    if salable.quantity is None or not salable.manage_stock:
        return 0
    return max(0, math.floor(salable.quantity - safety_buffer))


def _in(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _configs(conn: Any, found: dict[str, Product]) -> dict[int, tuple[StockConfig, tuple[Any, Any]]]:
    """entity_id -> (its StockConfig, (qty, is_in_stock)) from the legacy stock item of the default
    scope (website 0), the only one GetLegacyStockItem reads."""
    manage_default = config_value(conn, "cataloginventory/item_options/manage_stock", "1") == "1"
    backorders_default = int(config_value(conn, "cataloginventory/item_options/backorders", "0")) != 0
    min_qty_default = Decimal(config_value(conn, "cataloginventory/item_options/min_qty", "0"))
    ids = sorted({p.entity_id for p in found.values()})
    if not ids:
        return {}
    with conn.cursor() as cur:
        cur.execute("SELECT product_id, qty, is_in_stock, min_qty, use_config_min_qty, manage_stock, "
                    "use_config_manage_stock, backorders, use_config_backorders FROM cataloginventory_stock_item "
                    f"WHERE website_id = 0 AND stock_id = {DEFAULT_STOCK_ID} AND product_id IN ({_in(ids)})", ids)
        rows = cur.fetchall()
    configs = {}
    for product_id, qty, in_stock, min_qty, cfg_min, manage, cfg_manage, backorders, cfg_backorders in rows:
        config = StockConfig(min_qty=min_qty_default if cfg_min else Decimal(min_qty or 0),
                             manage_stock=manage_default if cfg_manage else bool(manage),
                             backorders=backorders_default if cfg_backorders else int(backorders or 0) != 0)
        configs[int(product_id)] = (config, (qty, in_stock))
    return configs


def _enabled(conn: Any, found: dict[str, Product]) -> set[int]:
    """link ids of products whose status is 1 in some store: the legacy indexer joins
    catalog_product_entity_int on the status attribute and value 1, with no store condition."""
    status = product_attributes(conn, ["status"]).get("status")
    links = sorted({p.link_id for p in found.values()})
    if status is None or not links:
        return set()
    column = "row_id" if is_staged(conn) else "entity_id"
    with conn.cursor() as cur:
        cur.execute(f"SELECT DISTINCT {column} FROM catalog_product_entity_int WHERE attribute_id = %s "
                    f"AND value = 1 AND {column} IN ({_in(links)})", [status[0], *links])
        return {int(row[0]) for row in cur.fetchall()}


def _source_items(conn: Any, skus: list[str], stock_id: int) -> dict[str, tuple[Decimal, int]]:
    """sku -> (quantity of in-stock items, count of in-stock items) at enabled sources linked to
    the stock; a SKU with any item there (even out of stock) is in the stock index."""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT si.sku, SUM(CASE WHEN si.status = 0 THEN 0 ELSE si.quantity END), "
            "SUM(CASE WHEN si.status = 0 THEN 0 ELSE 1 END) FROM inventory_source_item si "
            "WHERE si.source_code IN (SELECT s.source_code FROM inventory_source s "
            "JOIN inventory_source_stock_link l ON l.source_code = s.source_code "
            "WHERE l.stock_id = %s AND s.enabled = 1) "
            f"AND si.sku IN ({_in(skus)}) GROUP BY si.sku", [stock_id, *skus])
        return {sku: (Decimal(qty or 0), int(count or 0)) for sku, qty, count in cur.fetchall()}


def _reservations(conn: Any, skus: list[str], stock_id: int) -> dict[str, Decimal]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT sku, SUM(quantity) FROM inventory_reservation WHERE stock_id = %s "
                    f"AND sku IN ({_in(skus)}) GROUP BY sku", [stock_id, *skus])
        return {sku: Decimal(total or 0) for sku, total in cur.fetchall()}


def salable_quantities(conn: Any, skus: Iterable[str], stock_id: int, msi: bool = True,
                       at_unix: int | None = None) -> dict[str, Salable]:
    """Every SKU asked gets an answer (``quantity`` None when Magento would refuse)."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    found = products(conn, wanted, int(time.time()) if at_unix is None else at_unix)
    configs = _configs(conn, found)
    legacy_index = not msi or stock_id == DEFAULT_STOCK_ID
    enabled = _enabled(conn, found) if legacy_index else set()
    sources = _source_items(conn, wanted, stock_id) if msi else {}
    reserved = _reservations(conn, wanted, stock_id) if msi else {}
    answers: dict[str, Salable] = {}
    for sku in wanted:
        product = found.get(sku)
        if product is None or product.type_id not in QTY_TYPES:
            answers[sku] = Salable(sku, None)
            continue
        config_and_row = configs.get(product.entity_id)
        available, in_stock_items = sources.get(sku, (Decimal(0), 0))
        reservations = reserved.get(sku, Decimal(0))
        if config_and_row is None:  # no legacy stock item: every salable condition is NULL
            answers[sku] = Salable(sku, Decimal(0), True, available, in_stock_items, reservations,
                                   indexed=sku in sources and not legacy_index)
            continue
        config, (legacy_qty, legacy_in_stock) = config_and_row
        if legacy_index:
            indexed = product.link_id in enabled
            quantity = max(Decimal(legacy_qty or 0), Decimal(0))
            is_salable = indexed and (bool(legacy_in_stock) if config.manage_stock else True)
        else:
            indexed = sku in sources
            quantity = available
            is_salable = indexed and (
                (config.backorders and config.min_qty >= 0 and in_stock_items > 0)
                or not config.manage_stock
                or quantity + reservations - config.min_qty > 0)
        salable = quantity + reservations - config.min_qty if is_salable else Decimal(0)
        answers[sku] = Salable(sku, salable, config.manage_stock, available, in_stock_items, reservations,
                               config.min_qty, config.backorders, indexed)
    return answers


def can_sell(salable: Salable, requested: Decimal, adding_to_cart: bool) -> bool:
    """``IsProductSalableForRequestedQty`` as InventorySales/etc/di.xml chains it for the cart
    (``...OnAddToCart``: IsAnySourceItemInStockCondition required, then any of BackOrderCondition,
    ManageStockCondition, IsSalableWithReservationsCondition) and at order placement
    (``...OnPlaceOrder``: any of the three). IsSalableWithReservationsCondition needs the stock
    index row and compares ``GetSalableQty`` (live in-stock source quantity + reservations -
    min_qty, ``GetProductAvailableQty``) with the requested quantity."""
    if salable.quantity is None:
        return False
    if adding_to_cart and salable.manage_stock and salable.in_stock_items == 0:
        return False
    if salable.backorders and salable.min_qty >= 0:
        return True
    if not salable.manage_stock:
        return True
    return salable.indexed and salable.available + salable.reservations - salable.min_qty >= requested
