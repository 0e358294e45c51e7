"""Commerce salable quantity -> the quantity Walmart should show, and Walmart's inventory payloads.

The rule is MSI's (InventorySales GetProductSalableQty) for a stock: the quantities of the SKU's
in-stock source items at enabled sources linked to the stock, plus the (negative) reservations
of open orders, minus the out-of-stock threshold; 0 when no linked source has it in stock. A
store on legacy single-source stock uses its stock item's qty and is_in_stock instead. A SKU
Magento gives no salable quantity at all (no stock index row: sync_workers/commerce/salable.py
says which) is 0. A safety buffer keeps the last few units off Walmart, and Walmart takes whole
non-negative numbers.
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
    sellable: bool = True                   # Magento's stock index would have a salable row for it


def walmart_quantity(position: StockPosition, safety_buffer: int = 0) -> int:
    if not position.sellable:
        return 0  # GetProductSalableQty: no index row (or not salable) -> 0, whatever the sources hold
    if not position.manage_stock:
        return 0  # unmanaged stock has no count to publish; Walmart needs one, so sell none
    if not position.in_stock:
        return 0
    salable = position.source_quantity + position.reservations - position.min_qty - safety_buffer
    return max(0, math.floor(salable))


def inventory_feed(quantities: dict[str, int]) -> dict[str, Any]:
    """The ``inventory`` feed (spec 1.4) for several SKUs at once."""
    return {"InventoryHeader": {"version": "1.4"},
            "Inventory": [{"sku": sku, "quantity": {"unit": "EACH", "amount": amount}}
                          for sku, amount in sorted(quantities.items())]}
