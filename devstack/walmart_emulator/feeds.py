"""Walmart bulk feeds: inventory, MP_INVENTORY, price, lagtime and MP_ITEM_MATCH, processed asynchronously.

A feed is RECEIVED on upload, INPROGRESS after the first delay, and PROCESSED (or ERROR when the
whole file is unusable) after the second; its effects apply once, when it completes. Each item
ends SUCCESS or DATA_ERROR with Walmart-style codes (unknown SKU, invalid quantity or price,
bad identifier check digit, no catalogue match), so callers must read item results: a PROCESSED
feed can still have failed items. Delays are scaled by the emulator's time scale.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from devstack.oracles.identifiers import IdentifierRejected, catalogue_key, check_product_id
from devstack.oracles.walmart_limits import FEED_UPLOADS
from devstack.walmart_emulator.promotions import PromotionRefused

# feedType -> (rate-limit bucket, max file bytes) per Walmart's published limits
FEED_TYPES: dict[str, tuple[str, int]] = dict(FEED_UPLOADS)
MAX_FEED_ITEMS = 10_000


@dataclass
class ItemResult:
    index: int
    sku: str
    status: str  # SUCCESS | DATA_ERROR
    error_code: str | None = None
    error: str | None = None
    wpid: str | None = None

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"martId": 0, "index": self.index, "sku": self.sku,
                                "ingestionStatus": self.status}
        if self.wpid:
            body["wpid"] = self.wpid
        if self.error:
            body["ingestionErrors"] = {"ingestionError": [
                {"type": "DATA_ERROR", "code": self.error_code or "ERR_PDI_0034", "description": self.error}]}
        return body


@dataclass
class Feed:
    feed_id: str
    feed_type: str
    submitted_at: float          # emulator clock
    submitted_ms: int            # wall clock, for feedDate
    payload: Any
    ship_node: str | None
    status: str = "RECEIVED"
    file_error: str | None = None
    results: list[ItemResult] = field(default_factory=list)
    items_received: int = 0

    def summary(self) -> dict[str, Any]:
        succeeded = sum(r.status == "SUCCESS" for r in self.results)
        failed = sum(r.status != "SUCCESS" for r in self.results)
        return {"feedId": self.feed_id, "feedSource": "MARKETPLACE_PARTNER", "feedType": self.feed_type,
                "partnerId": "100009", "itemsReceived": self.items_received, "itemsSucceeded": succeeded,
                "itemsFailed": failed, "itemsProcessing": self.items_received - succeeded - failed,
                "feedStatus": self.status, "feedDate": self.submitted_ms, "batchId": self.feed_id[:8],
                "modifiedDtm": self.submitted_ms}


def new_feed_id() -> str:
    return secrets.token_hex(16).upper() + "@AU8BAQA"


def parse_feed_file(raw: bytes) -> Any:
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def feed_items(feed_type: str, payload: Any) -> list[Any] | None:
    """The item list of a well-formed feed, or None when the file itself is malformed."""
    if not isinstance(payload, dict):
        return None
    # lagtime: the schema's ``lagTimeHeader`` (lag-time.yml; its own example's ``LagTimeHeader`` fails it)
    key = {"inventory": "Inventory", "MP_INVENTORY": "inventory", "price": "Price",
           "MP_ITEM_MATCH": "MPItem", "lagtime": "lagTime"}[feed_type]
    header = {"inventory": "InventoryHeader", "MP_INVENTORY": "inventoryHeader", "price": "PriceHeader",
              "MP_ITEM_MATCH": "MPItemFeedHeader", "lagtime": "lagTimeHeader"}[feed_type]
    items = payload.get(key)
    if header not in payload or not isinstance(items, list):
        return None
    return items


def _quantity(value: Any) -> int | None:
    if isinstance(value, dict) and value.get("unit") == "EACH" and isinstance(value.get("amount"), int) \
            and not isinstance(value.get("amount"), bool) and value["amount"] >= 0:
        return value["amount"]
    return None


def process(feed: Feed, seller_items: dict[str, dict[str, Any]], catalog: Callable[[str], dict[str, Any] | None],
            set_inventory: Callable[[str, str, int], None], set_price: Callable[[str, dict[str, Any]], None],
            add_item: Callable[[str, dict[str, Any]], None],
            price_refusal: Callable[[str], str | None] = lambda sku: None,
            node_refusal: Callable[[str], str | None] = lambda node: None,
            set_lag_time: Callable[[str, int], None] = lambda sku, days: None,
            lag_time_approved: int = 1) -> None:
    """Apply a completed feed's effects and record each item's outcome (once). ``price_refusal``
    says why Walmart will not take a price for a SKU yet (an item set up less than 24 h ago);
    ``set_price`` applies a ``Price`` entry whole (its BASE price and promotions) or raises
    PromotionRefused with Walmart's code, the item's outcome."""
    items = feed_items(feed.feed_type, feed.payload)
    if items is None:
        feed.status, feed.file_error = "ERROR", "ERR_PDI_0001: the file is malformed or has no header"
        return
    node = feed.ship_node or "default"
    for index, item in enumerate(items):
        sku = str(item.get("sku", "")) if isinstance(item, dict) else ""
        if feed.feed_type == "MP_ITEM_MATCH":
            feed.results.append(_match(index, item, catalog, add_item))
            continue
        if sku not in seller_items:
            feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_EXT_DATA_0801001",
                                           f"SKU {sku!r} is not a listed item of this seller"))
            continue
        if feed.feed_type == "inventory":
            amount = _quantity(item.get("quantity"))
            if node_refusal(node):
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034", str(node_refusal(node))))
                continue
            if amount is None:
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                                               "quantity must be {unit: EACH, amount: integer >= 0}"))
                continue
            set_inventory(sku, node, amount)
        elif feed.feed_type == "lagtime":
            days = item.get("fulfillmentLagTime")
            if not isinstance(days, int) or isinstance(days, bool) or days < 0:
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                                               "fulfillmentLagTime must be an integer >= 0 (days)"))
                continue
            if days > lag_time_approved:
                # lag-time.yml: "Lag time of two days or more requires approval at the item setup category level"
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                                               f"A lag time of {days} days needs Walmart's approval (a Lag Time "
                                               f"Exception); this seller is approved for {lag_time_approved}"))
                continue
            set_lag_time(sku, days)
        elif feed.feed_type == "MP_INVENTORY":
            nodes = item.get("shipNodes")
            amounts = [(n.get("shipNode"), _quantity(n.get("quantity"))) for n in nodes or [] if isinstance(n, dict)]
            if not amounts or any(a is None or not n for n, a in amounts):
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                                               "shipNodes need shipNode and quantity {unit: EACH, amount >= 0}"))
                continue
            refused = [n for n, _ in amounts if node_refusal(str(n))]
            if refused:
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                                               f"{refused}: {node_refusal(str(refused[0]))}"))
                continue
            for ship_node, amount in amounts:
                set_inventory(sku, ship_node, amount)
        else:  # price
            pricing = item.get("pricing")
            price = pricing[0].get("currentPrice", {}) if isinstance(pricing, list) and pricing else {}
            amount = price.get("amount")
            if not isinstance(amount, (int, float)) or isinstance(amount, bool) or amount <= 0:
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                                               "currentPrice.amount must be a positive number"))
                continue
            refusal = price_refusal(sku)
            if refusal:
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", "ERR_EXT_DATA_0101116", refusal))
                continue
            try:
                set_price(sku, item)
            except PromotionRefused as exc:
                feed.results.append(ItemResult(index, sku, "DATA_ERROR", exc.code, exc.description))
                continue
        feed.results.append(ItemResult(index, sku, "SUCCESS", wpid=seller_items[sku].get("wpid")))
    feed.status = "PROCESSED"


# What a setup-by-match item (MP_ITEM_MATCH 4.1/4.2, items.yml's examples) never carries: variant
# content belongs to Walmart's catalogue item, and the offer joins that item's variant group.
VARIANT_FIELDS = ("variantGroupId", "variantAttributeNames", "isPrimaryVariant", "variantGroupInfo",
                  "swatchImages")


def _match(index: int, item: Any, catalog: Callable[[str], dict[str, Any] | None],
           add_item: Callable[[str, dict[str, Any]], None]) -> ItemResult:
    body = item.get("Item", {}) if isinstance(item, dict) else {}
    sku = str(body.get("sku", ""))
    variant = sorted(f for f in VARIANT_FIELDS if isinstance(body, dict) and f in body)
    if variant:
        return ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                          f"{', '.join(variant)}: setup by match takes no variant content; the offer joins "
                          "the variant group of the Walmart catalogue item it matches")
    ids = body.get("productIdentifiers") or {}
    id_type = str(ids.get("productIdType", "")).upper()
    try:
        code = check_product_id(id_type, str(ids.get("productId", "")))
    except IdentifierRejected as exc:
        return ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034",
                          f"productIdentifiers: {exc.reason}")
    gtin = catalogue_key(id_type, code)
    match = catalog(gtin)
    if match is None:
        return ItemResult(index, sku, "DATA_ERROR", "ERR_EXT_DATA_0101116",
                          f"No Walmart catalogue item matches {id_type} {code}")
    price = body.get("price")
    if not isinstance(price, (int, float)) or price <= 0:
        return ItemResult(index, sku, "DATA_ERROR", "ERR_PDI_0034", "price must be a positive number")
    reference = match.get("price")
    if isinstance(reference, (int, float)) and reference > 0 and not reference / 3 <= price <= reference * 3:
        # Walmart's price reasonableness: an offer far from the catalogue item's price is refused
        return ItemResult(index, sku, "DATA_ERROR", "ERR_EXT_DATA_0101116",
                          f"The price {price} conflicts with the Walmart catalogue item's price {reference}")
    wpid = f"W{match['itemId']}"
    listed = {"wpid": wpid, "gtin": gtin, "upc": code if len(code) == 12 else "",
              "productName": match.get("title", sku), "itemId": match["itemId"],
              "price": {"currency": "USD", "amount": float(price)}, "publishedStatus": "PUBLISHED",
              "condition": body.get("condition", "New")}
    # a variant of Walmart's catalogue (getAllItems: variantGroupId, variantGroupInfo) stays one
    listed.update({k: match[k] for k in ("variantGroupId", "variantGroupInfo") if k in match})
    add_item(sku, listed)
    return ItemResult(index, sku, "SUCCESS", wpid=wpid)
