"""Listing rules (pure): which product identifier a listing uses, how Walmart is searched with it,
the setup-by-match feed, and what a feed item's outcome means for the listing.

Walmart matches an offer to its catalogue by GTIN; UPC-12, EAN-13 and ISBN-13 are GTINs padded to
14 digits, and an ISBN-10 becomes its ISBN-13 first. A product whose identifiers are all missing
or invalid is an error with every reason spelled out, never a silent skip: that is the failure
merchants cannot see in today's tools.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mappings.identifiers import InvalidIdentifier, gtin_check_digit, normalize_identifier

STATUSES = ("draft", "candidate", "submitted", "matched", "unmatched", "error")
MAX_FEED_ITEMS = 10_000
MAX_FEED_BYTES = 25 * 1024 * 1024
NO_CATALOGUE_MATCH = "ERR_EXT_DATA_0101116"


@dataclass(frozen=True)
class ChosenIdentifier:
    kind: str      # upc | gtin | ean | isbn
    value: str     # normalised, as Walmart's productId
    gtin14: str    # what Walmart's catalogue keys on

    @property
    def walmart_type(self) -> str:
        return self.kind.upper()


class NoUsableIdentifier(ValueError):
    """None of the product's identifiers can be sent; ``reason`` lists why, per attribute."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def isbn10_to_13(isbn10: str) -> str:
    body = "978" + isbn10[:9]
    return body + str(gtin_check_digit(body))


def choose_identifier(values: Mapping[str, Any], attributes: Mapping[Any, str]) -> ChosenIdentifier:
    """The first valid identifier in ``attributes`` order (id type -> attribute code)."""
    problems = []
    for kind, code in attributes.items():
        raw = values.get(code)
        if raw is None or str(raw).strip() == "":
            continue
        try:
            value = normalize_identifier(kind, str(raw))
        except InvalidIdentifier as exc:
            problems.append(f"{kind.upper()} {str(raw).strip()!r} (attribute {code}) {exc.reason}")
            continue
        gtin = isbn10_to_13(value) if kind == "isbn" and len(value) == 10 else value
        return ChosenIdentifier(kind, value, gtin.zfill(14))
    if problems:
        raise NoUsableIdentifier("; ".join(problems))
    names = ", ".join(f"{kind.upper()} ({code})" for kind, code in attributes.items())
    raise NoUsableIdentifier(f"no product identifier: {names} all empty")


def search_params(chosen: ChosenIdentifier) -> dict[str, str]:
    """GET /v3/items/walmart/search takes a 12-digit upc or a 14-digit gtin."""
    if chosen.kind == "upc":
        return {"upc": chosen.value}
    return {"gtin": chosen.gtin14}


@dataclass(frozen=True)
class MatchItem:
    sku: str
    identifier: ChosenIdentifier
    price: float
    shipping_weight_lb: float


def match_feed_payload(items: Iterable[MatchItem], condition: str) -> dict[str, Any]:
    """MP_ITEM_MATCH (setup by match, spec 4.1): sell against an existing catalogue item."""
    return {"MPItemFeedHeader": {"processMode": "REPLACE", "subset": "EXTERNAL", "locale": "en",
                                 "sellingChannel": "mpsetupbymatch", "version": "4.1"},
            "MPItem": [{"Item": {"sku": item.sku, "productIdentifiers": {
                "productIdType": item.identifier.walmart_type, "productId": item.identifier.value},
                "price": round(item.price, 2), "ShippingWeight": round(item.shipping_weight_lb, 3),
                "condition": condition}} for item in items]}


def feed_batches(items: list[MatchItem], condition: str, max_items: int = MAX_FEED_ITEMS,
                 max_bytes: int = MAX_FEED_BYTES) -> list[list[MatchItem]]:
    """Split into feeds within Walmart's item count and file size limits."""
    batches: list[list[MatchItem]] = []
    current: list[MatchItem] = []
    size = len(json.dumps(match_feed_payload([], condition)))
    for item in items:
        item_size = len(json.dumps(match_feed_payload([item], condition)["MPItem"][0])) + 2
        if current and (len(current) >= max_items or size + item_size > max_bytes):
            batches.append(current)
            current, size = [], len(json.dumps(match_feed_payload([], condition)))
        current.append(item)
        size += item_size
    if current:
        batches.append(current)
    return batches


def feed_item_outcome(ingestion_status: str, errors: list[dict[str, Any]]) -> tuple[str, str | None, str | None]:
    """(listing status, reason, Walmart error code) for one item of a completed match feed."""
    if ingestion_status == "SUCCESS":
        return "matched", None, None
    first = errors[0] if errors else {}
    code = first.get("code")
    reason = "; ".join(f"{e.get('code')}: {e.get('description')}" for e in errors) or \
        f"Walmart reported {ingestion_status} without a reason"
    if code == NO_CATALOGUE_MATCH and "No Walmart catalogue item" in str(first.get("description", "")):
        return "unmatched", reason, code
    return "error", reason, code
