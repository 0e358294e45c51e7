"""Walmart Items API calls: the seller's items, and the two catalogue searches listing uses.

``search_walmart`` looks up Walmart's global catalogue by UPC/GTIN (what a product can be
matched to); ``search_catalog`` looks up the seller's own catalogue (what is already listed).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from sync_workers.walmart.errors import WalmartNotFound
from sync_workers.walmart.models import WalmartModel

IdType = Literal["SKU", "GTIN", "UPC", "EAN", "ISBN", "ITEM_ID", "WPID"]


class SellerItem(WalmartModel):
    sku: str
    wpid: str | None = None
    upc: str | None = None
    gtin: str | None = None
    productName: str | None = None
    publishedStatus: str | None = None
    lifecycleStatus: str | None = None
    price: dict[str, Any] | None = None  # {currency, amount}: what the site shows now
    unpublishedReasons: dict[str, Any] | None = None  # {reason: [...]}: why Walmart took it off the site

    @property
    def price_amount(self) -> float | None:
        amount = (self.price or {}).get("amount")
        try:
            return None if amount is None else float(amount)
        except (TypeError, ValueError):
            return None

    @property
    def unpublished_reasons(self) -> list[str]:
        reasons = (self.unpublishedReasons or {}).get("reason") or []
        return [str(r) for r in (reasons if isinstance(reasons, list) else [reasons])]


class CatalogueItem(WalmartModel):
    itemId: str
    title: str | None = None
    brand: str | None = None
    properties: dict[str, Any] | None = None


class CatalogSearchHit(WalmartModel):
    sku: str
    wpid: str | None = None
    itemId: str | None = None
    gtin: str | None = None
    upc: str | None = None
    publishedStatus: dict[str, Any] | None = None


class ItemsApi:
    def __init__(self, client: Any):
        self.client = client

    def list_items(self, limit: int = 50, **filters: Any) -> Iterator[SellerItem]:
        params = {"limit": limit, "nextCursor": "*", **{k: v for k, v in filters.items() if v is not None}}
        while True:
            body = self.client._send("items", "GET", "/v3/items", params=params).json()
            for item in body.get("ItemResponse", []):
                yield SellerItem.model_validate(item)
            if not body.get("nextCursor"):
                return
            params = {**params, "nextCursor": body["nextCursor"]}

    def items_page(self, limit: int, cursor: str | None = None) -> tuple[list[SellerItem], str | None]:
        """One page of the seller's items from ``cursor`` (None: the first): the items and the
        cursor of the next page (None after the last)."""
        body = self.client._send("items", "GET", "/v3/items",
                                 params={"limit": limit, "nextCursor": cursor or "*"}).json()
        return ([SellerItem.model_validate(item) for item in body.get("ItemResponse", [])],
                body.get("nextCursor") or None)

    def get_item(self, identifier: str, id_type: IdType = "SKU") -> SellerItem | None:
        try:
            body = self.client._send("item", "GET", f"/v3/items/{identifier}",
                                     params={"productIdType": id_type}).json()
        except WalmartNotFound:
            return None
        items = body.get("ItemResponse") or []
        return SellerItem.model_validate(items[0]) if items else None

    def search_walmart(self, *, upc: str | None = None, gtin: str | None = None,
                       query: str | None = None) -> list[CatalogueItem]:
        params = {k: v for k, v in {"upc": upc, "gtin": gtin, "query": query}.items() if v}
        body = self.client._send("walmart_search", "GET", "/v3/items/walmart/search", params=params).json()
        return [CatalogueItem.model_validate(item) for item in body.get("items", [])]

    def search_catalog(self, field: str, value: str, limit: int = 100) -> Iterator[CatalogSearchHit]:
        return self._catalog_pages({"query": {"field": field, "value": value}}, limit)

    def catalog_items(self, limit: int = 200) -> Iterator[CatalogSearchHit]:
        """Every active item of the seller's catalogue, a page (``limit``) per call."""
        return self._catalog_pages({"filters": [{"field": "lifecycleStatus", "op": "equals", "values": ["ACTIVE"]}]},
                                   limit)

    def _catalog_pages(self, body_json: dict[str, Any], limit: int) -> Iterator[CatalogSearchHit]:
        params: dict[str, Any] = {"limit": limit}
        while True:
            body = self.client._send("catalog_search", "POST", "/v3/items/catalog/search",
                                     params=params, json=body_json).json()
            for hit in body.get("payload", []):
                yield CatalogSearchHit.model_validate(hit)
            if not body.get("nextCursor"):
                return
            params = {**params, "nextCursor": body["nextCursor"]}
