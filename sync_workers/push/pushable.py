"""Which SKUs the inventory and price workers may push: ``workers.push_skus``, decided here only.

``matched`` (the default): listings matched on Walmart's catalogue (walmart-sync listings);
``all``: every Commerce SKU (the Walmart catalogue is managed elsewhere); or a list of SKUs. The
workers filter each batch through ``only_pushable``; a burst comparison and ``walmart-sync
resync`` take the whole set from ``pushable_skus``.

A configurable product is never pushed whatever the rule: Walmart lists its children, each an
offer of its own in the catalogue's variant group, and the parent is no offer (docs/listings.md,
Configurable products). Its SKU, even listed or named, is left out here.
"""

from __future__ import annotations

from config import Settings
from plumbing.db import DbConnection
from sync_workers.commerce.composites import CONFIGURABLE, CompositeReader
from sync_workers.stores.listings import ListingStore


def pushable_skus(settings: Settings, listings: ListingStore, commerce: DbConnection) -> set[str]:
    """Every SKU the rule lets the workers push."""
    rule = settings.workers.push_skus
    if rule == "all":
        with commerce.cursor() as cur:
            cur.execute("SELECT DISTINCT sku FROM catalog_product_entity WHERE sku IS NOT NULL "
                        "AND sku NOT IN (SELECT sku FROM catalog_product_entity WHERE type_id = %s)", (CONFIGURABLE,))
            return {sku for (sku,) in cur.fetchall()}
    chosen = listings.matched() if rule == "matched" else set(rule)
    return _offers(settings, commerce, chosen)


def only_pushable(settings: Settings, listings: ListingStore, skus: set[str],
                  commerce: DbConnection | None = None, composites: CompositeReader | None = None) -> set[str]:
    """The SKUs of ``skus`` the rule lets the workers push (configurable parents left out when
    ``commerce`` is given to ask)."""
    rule = settings.workers.push_skus
    if rule == "all":
        chosen = set(skus)
    elif rule == "matched":
        chosen = listings.matched(skus) if skus else set()
    else:
        chosen = skus & set(rule)
    return chosen if commerce is None else _offers(settings, commerce, chosen, composites)


def _offers(settings: Settings, commerce: DbConnection, skus: set[str],
            composites: CompositeReader | None = None) -> set[str]:
    if not skus:
        return set()
    reader = composites or CompositeReader(commerce, settings.mapping.store_id)
    return skus - reader.configurable_parents(skus)
