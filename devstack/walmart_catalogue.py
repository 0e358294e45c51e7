"""A Walmart global catalogue that matches the seeded Commerce products, for the emulator.

Most seeded products exist in Walmart's catalogue under their UPC (as GTIN-14), at a price near
the Commerce price; every ``missing_every``-th product does not, so matching has products that end
unmatched, as in a real store.
"""

from __future__ import annotations

from typing import Any

from devstack.seed import identifiers_for, sku_for


def catalogue_entries(products: int, missing_every: int = 7, prices: dict[str, float] | None = None
                      ) -> list[dict[str, Any]]:
    entries = []
    for index in range(1, products + 1):
        if missing_every and index % missing_every == 0:
            continue
        sku = sku_for(index)
        entry = {"itemId": str(500_000_000 + index), "title": f"Walmart catalogue product {index}",
                 "brand": "Seeded", "gtin": identifiers_for(index)["upc"].zfill(14), "productType": "General"}
        if prices and sku in prices:
            entry["price"] = prices[sku]
        entries.append(entry)
    return entries
