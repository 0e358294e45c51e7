r"""Commerce salable quantity -> the quantity Walmart should show, and Walmart's inventory payloads.

The rule is MSI's (InventorySales GetProductSalableQty) for a stock: the quantities of the SKU's
in-stock source items at enabled sources linked to the stock, plus the (negative) reservations
of open orders, minus the out-of-stock threshold; 0 when no linked source has it in stock. A
store on legacy single-source stock uses its stock item's qty and is_in_stock instead. A SKU
Magento gives no salable quantity at all (no stock index row: sync_workers/commerce/salable.py
says which) is 0. A safety buffer keeps the last few units off Walmart, and Walmart takes whole
non-negative numbers.

A product Magento sells whatever its count has no quantity to publish, yet Walmart needs one:
Manage Stock = No (``InventorySales\Model\IsProductSalableCondition\ManageStockCondition``), or
backorders on with an out-of-stock threshold >= 0 (``BackOrderCondition``). Walmart then shows
``mapping.unlimited_stock_quantity`` (not 0, which would stop sales Magento takes; no safety
buffer, it is no count). Backorders with a negative threshold are a count: the threshold's units
below zero are sold (``GetProductSalableQty``: quantity + reservations - min_qty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any


@dataclass(frozen=True)
class StockPosition:
    """What the database says about one SKU, for one stock."""

    sku: str
    source_quantity: Decimal = Decimal(0)   # in-stock items at enabled, linked sources
    in_stock: bool = False                  # any such item
    reservations: Decimal = Decimal(0)      # sum for the SKU and stock (orders are negative)
    min_qty: Decimal = Decimal(0)           # out-of-stock threshold
    manage_stock: bool = True
    backorders: bool = False                # backorders allowed (with or without notifying the customer)
    sellable: bool = True                   # Magento's stock index would have a salable row for it


def walmart_quantity(position: StockPosition, safety_buffer: int = 0, unlimited: int = 0) -> int:
    """``unlimited`` is what to show for a product Magento always sells (``mapping.unlimited_stock_quantity``)."""
    if not position.sellable:
        return 0  # GetProductSalableQty: no index row (or not salable) -> 0, whatever the sources hold
    if not position.manage_stock:
        return unlimited  # ManageStockCondition: Magento sells it whatever the count
    if not position.in_stock:
        return 0
    if position.backorders and position.min_qty >= 0:
        return unlimited  # BackOrderCondition
    salable = position.source_quantity + position.reservations - position.min_qty - safety_buffer
    return max(0, math.floor(salable))


def always_sold(position: StockPosition) -> bool:
    """Magento sells it whatever its count (ManageStockCondition, BackOrderCondition): as a bundle's
    component it never bounds the bundle (mappings/bundles.py)."""
    if not position.sellable:
        return False
    return not position.manage_stock or (position.in_stock and position.backorders and position.min_qty >= 0)


def inventory_feed(quantities: dict[str, int]) -> dict[str, Any]:
    """The ``inventory`` feed (spec 1.4) for several SKUs at once."""
    return {"InventoryHeader": {"version": "1.4"},
            "Inventory": [{"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}
                          for sku, amount in sorted(quantities.items())]}


# Several ship nodes (workers.ship_nodes): one value per SKU names every node's quantity, so the
# value worker's state, its comparisons and the reconciler stay one string per SKU.

def node_value(quantities: dict[str, int]) -> str:
    """``{"1000000002": 7, "1000000001": 5}`` -> ``"1000000001=5,1000000002=7"`` (canonical)."""
    return ",".join(f"{node}={amount}" for node, amount in sorted(quantities.items()))


def parse_node_value(value: str) -> dict[str, int]:
    """The inverse of ``node_value``."""
    out: dict[str, int] = {}
    for part in filter(None, value.split(",")):
        node, _, amount = part.rpartition("=")
        if not node:
            raise ValueError(f"not a per-node quantity: {value!r}")
        out[node] = int(amount)
    return out


def mp_inventory_feed(values: dict[str, dict[str, int]]) -> dict[str, Any]:
    """The multi-node ``MP_INVENTORY`` feed (spec 1.5): every SKU with each node's quantity."""
    return {"inventoryHeader": {"version": "1.5"},
            "inventory": [{"sku": sku, "shipNodes": [{"shipNode": node, "quantity": {"unit": "EACH", "amount": amount}}
                                                     for node, amount in sorted(nodes.items())]}
                          for sku, nodes in sorted(values.items())]}
