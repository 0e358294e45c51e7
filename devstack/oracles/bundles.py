"""What Walmart should show for a bundle, asked the way Magento asks: an oracle of its own.

``Magento\\InventoryBundleProduct\\Model\\GetBundleProductStockStatus::execute`` (magento/inventory)
answers yes or no for one bundle: its stock item in stock; for each option, the enabled selections
asked ``AreProductsSalableForRequestedQty`` for ``selection_qty`` (or the child's min sale qty when
``selection_can_change_qty``, ``getRequestedQty``); a required option with no salable selection
says no; some option must have one. A selection is salable for a quantity when the child's
salable quantity covers it (``IsSalableWithReservationsCondition``: quantity + reservations -
min_qty - requested >= 0; a product sold whatever its count always is).

Walmart needs a number, so this asks that yes/no question for n bundles at once (every requested
quantity times n) and answers with the largest n Magento says yes to, found by bisection; never a
division, so it does not share the sidecar's arithmetic (mappings/bundles.py). The store view must
sell the bundle (status, website) and the safety buffer comes off the count, as for any SKU
(docs/workers.md, Bundles). Min sale quantities read the stock item's ``min_sale_qty`` or, with
``use_config_min_sale_qty``, 1 (CatalogInventory's etc/config.xml default; the seed sets no other).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from devstack.oracles.catalog import is_staged, products
from devstack.oracles.msi import Salable, _sold_in_store, salable_quantities

SEARCH_LIMIT = 10**9


def _always_sold(salable: Salable) -> bool:
    return not salable.manage_stock or (salable.backorders and salable.min_qty >= 0 and salable.is_salable)


def _salable_for(salable: Salable | None, requested: Decimal, enabled: bool) -> bool:
    if salable is None or salable.quantity is None or not enabled or not salable.sold_here:
        return False
    if _always_sold(salable):
        return True
    return salable.is_salable and salable.quantity - requested >= 0


def _magento_says_salable(options: list[tuple[bool, list[tuple[str, Decimal]]]], salable: dict[str, Salable],
                          n: int) -> bool:
    """GetBundleProductStockStatus for n bundles (its own stock item checked by the caller)."""
    is_salable = False
    for required, selections in options:
        has = any(requested > 0 and _salable_for(salable.get(sku), requested * n, True)
                  for sku, requested in selections)
        if has:
            is_salable = True
        if not has and required:
            return False
    return is_salable


def bundle_walmart_quantities(conn: Any, bundle_skus: Iterable[str], stock_id: int, store_id: int,
                              website_id: int, safety_buffer: int = 0, unlimited: int = 0,
                              msi: bool = True) -> dict[str, int]:
    """Bundle SKU -> the quantity Walmart should show (0 for a SKU that is no bundle)."""
    now = int(time.time())
    found = products(conn, bundle_skus, now)
    bundles = {sku: p for sku, p in found.items() if p.type_id == "bundle"}
    out = {sku: 0 for sku in bundle_skus}
    if not bundles:
        return out
    staged = is_staged(conn)
    live = " AND c.created_in <= %s AND c.updated_in > %s" if staged else ""
    sold_bundles = _sold_in_store(conn, bundles, store_id, website_id)
    with conn.cursor() as cur:
        for sku, product in bundles.items():
            cur.execute("SELECT is_in_stock FROM cataloginventory_stock_item WHERE product_id = %s AND stock_id = 1",
                        (product.entity_id,))
            row = cur.fetchone()
            if row is None or not int(row[0]) or sku not in sold_bundles:
                continue
            cur.execute("SELECT o.option_id, o.required, c.sku, s.selection_qty, s.selection_can_change_qty, "
                        "si.min_sale_qty, si.use_config_min_sale_qty FROM catalog_product_bundle_option o "
                        "LEFT JOIN catalog_product_bundle_selection s ON s.option_id = o.option_id "
                        f"LEFT JOIN catalog_product_entity c ON c.entity_id = s.product_id{live} "
                        "LEFT JOIN cataloginventory_stock_item si ON si.product_id = s.product_id AND si.stock_id = 1 "
                        "WHERE o.parent_id = %s ORDER BY o.position, o.option_id",
                        ([now, now] if staged else []) + [product.link_id])
            by_option: dict[int, tuple[bool, list[tuple[str, Decimal]]]] = {}
            for option_id, required, child, qty, can_change, min_sale, use_config in cur.fetchall():
                entry = by_option.setdefault(int(option_id), (bool(required), []))
                if child is not None:
                    requested = (Decimal(1) if use_config or min_sale is None else Decimal(min_sale)) if can_change \
                        else Decimal(qty or 0)
                    entry[1].append((str(child), requested))
            options = list(by_option.values())
            children = {c for _r, sels in options for c, _q in sels}
            salable = salable_quantities(conn, children, stock_id, msi, store_id=store_id, website_id=website_id)
            if not _magento_says_salable(options, salable, 1):
                continue
            if _magento_says_salable(options, salable, SEARCH_LIMIT):
                out[sku] = unlimited
                continue
            low, high = 1, SEARCH_LIMIT  # salable for low, not for high
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if _magento_says_salable(options, salable, middle) else (low, middle)
            out[sku] = max(0, low - safety_buffer)
    return out
