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
CatalogInventory/etc/config.xml) comes from core_config_data when the database has it: at the
default scope, or, when a store view is given, at the store's scope
(``CatalogInventory\\Model\\Stock\\Item::getMinQty`` / ``getBackorders`` / ``getManageStock`` ask
``StockConfiguration`` for ``$this->getStoreId()``; ``ScopeInterface::SCOPE_STORE`` falls back
store -> website -> default).

A store view given also decides whether it sells the product at all: the ``status`` the product
loads with for the store (the store's row over store 0's; ``Catalog\\Model\\Product\\Type
\\AbstractType::isSalable``: only ``Status::STATUS_ENABLED``) and its website assignment
(``catalog_product_website``; ``Checkout\\Model\\Cart::_getProduct`` refuses a product not in the
store's website).

What Walmart should show for a product Magento sells whatever its count (Manage Stock = No:
``ManageStockCondition``; backorders with a threshold >= 0: ``BackOrderCondition``) is the
sidecar's choice, ``mapping.unlimited_stock_quantity`` (docs/workers.md), taken as a parameter.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from devstack.oracles.catalog import (
    Product,
    config_value,
    is_staged,
    product_attributes,
    products,
    store_config,
    website_of_store,
)

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
    is_salable: bool = False              # ... and it says salable
    sold_here: bool = True                # the store view sells it (status, website); True when no store asked


def expected_walmart_quantity(salable: Salable, safety_buffer: int, unlimited: int = 0) -> int:
    """What Walmart should show: whole units of the salable quantity less the sidecar's
    ``mapping.inventory_safety_buffer``, never below 0; 0 for SKUs Magento has no salable quantity
    for or the store view does not sell; ``unlimited`` for a product Magento sells whatever its
    count (unmanaged stock, or backorders with a threshold >= 0 while the index says salable)."""
    if salable.quantity is None or not salable.sold_here:
        return 0
    if not salable.manage_stock:
        return unlimited
    if salable.backorders and salable.min_qty >= 0 and salable.is_salable:
        return unlimited
    return max(0, math.floor(salable.quantity - safety_buffer))


def _in(values: list[Any]) -> str:
    return ", ".join(["%s"] * len(values))


def _configs(conn: Any, found: dict[str, Product], store_id: int | None = None
             ) -> dict[int, tuple[StockConfig, tuple[Any, Any]]]:
    """entity_id -> (its StockConfig, (qty, is_in_stock)) from the legacy stock item of the default
    scope (website 0), the only one GetLegacyStockItem reads; config at the store's scope when given."""
    def setting(path: str, default: str) -> str:
        full = f"cataloginventory/item_options/{path}"
        return (config_value(conn, full, default) if store_id is None
                else store_config(conn, full, store_id, default)).strip() or default

    manage_default = Decimal(setting("manage_stock", "1")) != 0
    backorders_default = int(Decimal(setting("backorders", "0"))) != 0
    min_qty_default = Decimal(setting("min_qty", "0"))
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


def _sold_in_store(conn: Any, found: dict[str, Product], store_id: int, website_id: int | None) -> set[str]:
    """SKUs whose status for the store view is enabled and that are on the store's website."""
    if not found:
        return set()
    website = website_of_store(conn, store_id) if website_id is None else website_id
    status = product_attributes(conn, ["status"]).get("status")
    column = "row_id" if is_staged(conn) else "entity_id"
    by_link = {p.link_id: p.sku for p in found.values()}
    status_by_sku: dict[str, tuple[int, Any]] = {}
    if status is not None:
        links = sorted(by_link)
        with conn.cursor() as cur:
            cur.execute(f"SELECT {column}, store_id, value FROM catalog_product_entity_int WHERE attribute_id = %s "
                        f"AND store_id IN (0, %s) AND {column} IN ({_in(links)})", [status[0], store_id, *links])
            for link, row_store, value in cur.fetchall():
                sku = by_link[int(link)]
                if sku not in status_by_sku or int(row_store) > status_by_sku[sku][0]:
                    status_by_sku[sku] = (int(row_store), value)  # the store view's own row wins
    ids = sorted({p.entity_id for p in found.values()})
    with conn.cursor() as cur:
        cur.execute(f"SELECT product_id FROM catalog_product_website WHERE website_id = %s AND product_id IN ({_in(ids)})",
                    [website, *ids])
        on_website = {int(row[0]) for row in cur.fetchall()}
    return {sku for sku, product in found.items()
            if product.entity_id in on_website and sku in status_by_sku
            and status_by_sku[sku][1] is not None and int(status_by_sku[sku][1]) == 1}


def _source_items(conn: Any, skus: list[str], stock_id: int, only: list[str] | None = None
                  ) -> dict[str, tuple[Decimal, int]]:
    """sku -> (quantity of in-stock items, count of in-stock items) at enabled sources linked to
    the stock (of those, ``only`` the sources given); a SKU with any item there (even out of stock)
    is in the stock index."""
    narrow = f"AND si.source_code IN ({_in(only)}) " if only else ""
    with conn.cursor() as cur:
        cur.execute(
            "SELECT si.sku, SUM(CASE WHEN si.status = 0 THEN 0 ELSE si.quantity END), "
            "SUM(CASE WHEN si.status = 0 THEN 0 ELSE 1 END) FROM inventory_source_item si "
            "WHERE si.source_code IN (SELECT s.source_code FROM inventory_source s "
            "JOIN inventory_source_stock_link l ON l.source_code = s.source_code "
            "WHERE l.stock_id = %s AND s.enabled = 1) "
            f"{narrow}AND si.sku IN ({_in(skus)}) GROUP BY si.sku", [stock_id, *(only or []), *skus])
        return {sku: (Decimal(qty or 0), int(count or 0)) for sku, qty, count in cur.fetchall()}


def _reservations(conn: Any, skus: list[str], stock_id: int) -> dict[str, Decimal]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT sku, SUM(quantity) FROM inventory_reservation WHERE stock_id = %s "
                    f"AND sku IN ({_in(skus)}) GROUP BY sku", [stock_id, *skus])
        return {sku: Decimal(total or 0) for sku, total in cur.fetchall()}


def salable_quantities(conn: Any, skus: Iterable[str], stock_id: int, msi: bool = True,
                       at_unix: int | None = None, store_id: int | None = None,
                       website_id: int | None = None, sources: Iterable[str] | None = None) -> dict[str, Salable]:
    """Every SKU asked gets an answer (``quantity`` None when Magento would refuse). With a store
    view, its config scope and whether it sells the product (``sold_here``).

    ``sources``: one Walmart ship node's share of a stock (``workers.ship_nodes``, docs/orders.md):
    the index quantity and the salable conditions over those of the stock's sources only, less the
    whole stock's reservations (MSI reserves per stock: ``inventory_reservation`` has no source).
    Magento itself has no per-source salable quantity; this is the documented node rule, applied
    with this module's reading of the index. Not for the default stock, whose index is the legacy
    single-source one."""
    only = sorted(set(sources)) if sources is not None else None
    if only is not None and (stock_id == DEFAULT_STOCK_ID or not msi):
        raise ValueError("a node's sources split a multi-source stock; the default stock has one source")
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    found = products(conn, wanted, int(time.time()) if at_unix is None else at_unix)
    configs = _configs(conn, found, store_id)
    sold = set(found) if store_id is None else _sold_in_store(conn, found, store_id, website_id)
    legacy_index = not msi or stock_id == DEFAULT_STOCK_ID
    enabled = _enabled(conn, found) if legacy_index else set()
    sources = _source_items(conn, wanted, stock_id, only) if msi else {}
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
                                   indexed=sku in sources and not legacy_index, sold_here=sku in sold)
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
                               config.min_qty, config.backorders, indexed, is_salable, sku in sold)
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
