"""Read the stock positions of many SKUs from the Commerce database in three queries.

The event says which SKU changed; the database says what its salable quantity is now. Reading
it back (rather than adding up event deltas) makes the worker right whatever it missed or saw
twice, and batching keeps the cost per SKU small during bursts.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mappings.inventory import StockPosition
from plumbing.db import DbConnection

DEFAULT_MIN_QTY = Decimal(0)  # Magento's config default for cataloginventory/item_options/min_qty


def _in(values: list[str]) -> str:
    return ", ".join(["%s"] * len(values))


def read_positions(conn: DbConnection, skus: Iterable[str], stock_id: int, msi: bool = True) -> dict[str, StockPosition]:
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    positions: dict[str, dict[str, Any]] = {sku: {"sku": sku} for sku in wanted}
    with conn.cursor() as cur:
        cur.execute(
            "SELECT p.sku, MIN(si.qty), MAX(si.is_in_stock), MAX(si.min_qty), MAX(si.use_config_min_qty), "
            "MAX(si.manage_stock), MAX(si.use_config_manage_stock) FROM catalog_product_entity p "
            "JOIN cataloginventory_stock_item si ON si.product_id = p.entity_id AND si.stock_id = 1 "
            f"WHERE p.sku IN ({_in(wanted)}) GROUP BY p.sku", wanted)
        for sku, qty, in_stock, min_qty, use_config_min, manage, use_config_manage in cur.fetchall():
            position = positions[sku]
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
