"""A Walmart global catalogue that matches the seeded Commerce products, for the emulator.

Most seeded products exist in Walmart's catalogue under their UPC (as GTIN-14), at a price near
the Commerce price; every ``missing_every``-th product does not, so matching has products that end
unmatched, as in a real store.
"""

from __future__ import annotations

from typing import Any

from devstack.seed import (
    CONFIGURABLE_SIZES,
    SEEDED_BUNDLES,
    VARIANT_GROUP_ID,
    composite_identifier,
    composite_skus,
    configurable_children,
    identifiers_for,
    sku_for,
)


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


def composite_catalogue_entries() -> list[dict[str, Any]]:
    """Walmart's items for ``seed_composites``' products: each bundle a kit of its own, the
    configurable's children one variant group (getAllItems' ``variantGroupId`` and
    ``variantGroupInfo``: the grouping attribute, the first child the primary variant). The
    configurable parent has none: Walmart's catalogue has no item for a parent, only its variants."""
    entries = []
    sizes = dict(zip(configurable_children(), CONFIGURABLE_SIZES))
    bundles = {b.sku for b in SEEDED_BUNDLES}
    for position, sku in enumerate(composite_skus(), start=1):
        if sku not in bundles and sku not in sizes:
            continue
        entry: dict[str, Any] = {"itemId": str(600_000_000 + position), "title": f"Walmart catalogue {sku}",
                                 "brand": "Seeded", "gtin": composite_identifier(position).zfill(14),
                                 "productType": "Clothing" if sku in sizes else "Kit"}
        if sku in sizes:
            entry["variantGroupId"] = VARIANT_GROUP_ID
            entry["variantGroupInfo"] = {"isPrimary": sku == configurable_children()[0],
                                         "groupingAttributes": {"name": "clothingSize", "value": sizes[sku]}}
        entries.append(entry)
    return entries
