"""Which SKUs the inventory and price workers may push: ``workers.push_skus``, decided here only.

``matched`` (the default): listings matched on Walmart's catalogue (walmart-sync listings);
``all``: every Commerce SKU (the Walmart catalogue is managed elsewhere); or a list of SKUs. The
workers filter each batch through ``only_pushable``; a burst comparison and ``walmart-sync
resync`` take the whole set from ``pushable_skus``.
"""

from __future__ import annotations

from config import Settings
from plumbing.db import DbConnection
from sync_workers.stores.listings import ListingStore


def pushable_skus(settings: Settings, listings: ListingStore, commerce: DbConnection) -> set[str]:
    """Every SKU the rule lets the workers push."""
    rule = settings.workers.push_skus
    if rule == "matched":
        return listings.matched()
    if rule == "all":
        with commerce.cursor() as cur:
            cur.execute("SELECT DISTINCT sku FROM catalog_product_entity WHERE sku IS NOT NULL")
            return {sku for (sku,) in cur.fetchall()}
    return set(rule)


def only_pushable(settings: Settings, listings: ListingStore, skus: set[str]) -> set[str]:
    """The SKUs of ``skus`` the rule lets the workers push."""
    rule = settings.workers.push_skus
    if rule == "all":
        return skus
    if rule == "matched":
        return listings.matched(skus) if skus else set()
    return skus & set(rule)
