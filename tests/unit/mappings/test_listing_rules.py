"""Listing rules (mappings/listings.py): which identifier, how it is searched, the match feed."""

from __future__ import annotations

import json

import pytest

from mappings.identifiers import with_check_digit
from mappings.listings import (
    ChosenIdentifier,
    MatchItem,
    NoUsableIdentifier,
    choose_identifier,
    feed_batches,
    feed_item_outcome,
    isbn10_to_13,
    match_feed_payload,
    search_params,
)

ATTRIBUTES = {"upc": "upc", "gtin": "gtin", "ean": "ean_code", "isbn": "isbn"}
UPC = with_check_digit("03600029145")


def test_the_first_valid_identifier_in_preference_order_wins() -> None:
    chosen = choose_identifier({"upc": f" {UPC[:6]}-{UPC[6:]} ", "ean_code": "4006381333931"}, ATTRIBUTES)
    assert chosen == ChosenIdentifier("upc", UPC, UPC.zfill(14))
    bad = UPC[:-1] + str((int(UPC[-1]) + 1) % 10)
    fallback = choose_identifier({"upc": bad, "ean_code": "4006381333931"}, ATTRIBUTES)
    assert (fallback.kind, fallback.gtin14) == ("ean", "04006381333931")


def test_every_reason_is_given_when_no_identifier_is_usable() -> None:
    with pytest.raises(NoUsableIdentifier) as raised:
        choose_identifier({"upc": "12345", "isbn": "0306406153"}, ATTRIBUTES)
    assert raised.value.reason == ("UPC '12345' (attribute upc) has 5 digits, expected 12; "
                                   "ISBN '0306406153' (attribute isbn) check digit is 3, expected 2")
    with pytest.raises(NoUsableIdentifier, match="no product identifier: UPC \\(upc\\), GTIN"):
        choose_identifier({"upc": "", "name": "x"}, ATTRIBUTES)


def test_isbn10_is_matched_as_its_isbn13() -> None:
    assert isbn10_to_13("0306406152") == "9780306406157"
    chosen = choose_identifier({"isbn": "0-306-40615-2"}, ATTRIBUTES)
    assert (chosen.value, chosen.gtin14) == ("0306406152", "09780306406157")
    assert search_params(chosen) == {"gtin": "09780306406157"}
    assert search_params(choose_identifier({"upc": UPC}, ATTRIBUTES)) == {"upc": UPC}


def test_match_feeds_respect_item_and_size_limits() -> None:
    chosen = ChosenIdentifier("upc", UPC, UPC.zfill(14))
    items = [MatchItem(f"SKU-{n}", chosen, 10.0 + n, 1.5) for n in range(25)]
    payload = match_feed_payload(items[:1], "New")
    assert payload["MPItemFeedHeader"]["sellingChannel"] == "mpsetupbymatch"
    assert payload["MPItem"][0]["Item"] == {"sku": "SKU-0", "productIdentifiers": {
        "productIdType": "UPC", "productId": UPC}, "price": 10.0, "ShippingWeight": 1.5, "condition": "New"}
    assert [len(b) for b in feed_batches(items, "New", max_items=10)] == [10, 10, 5]
    one_item = len(json.dumps(match_feed_payload(items[:1], "New")))
    by_size = feed_batches(items, "New", max_bytes=one_item * 3)
    assert all(len(json.dumps(match_feed_payload(b, "New"))) <= one_item * 3 for b in by_size)
    assert sum(len(b) for b in by_size) == 25


def test_feed_item_outcomes() -> None:
    assert feed_item_outcome("SUCCESS", []) == ("matched", None, None)
    no_match = [{"code": "ERR_EXT_DATA_0101116", "description": "No Walmart catalogue item matches UPC 1"}]
    assert feed_item_outcome("DATA_ERROR", no_match)[0] == "unmatched"
    conflict = [{"code": "ERR_EXT_DATA_0101116", "description": "The price 999 conflicts with ..."}]
    assert feed_item_outcome("DATA_ERROR", conflict) == \
        ("error", "ERR_EXT_DATA_0101116: The price 999 conflicts with ...", "ERR_EXT_DATA_0101116")
    assert feed_item_outcome("SYSTEM_ERROR", [])[1] == "Walmart reported SYSTEM_ERROR without a reason"
