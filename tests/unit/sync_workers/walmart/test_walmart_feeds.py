"""Bulk feeds: upload, asynchronous processing, per-item outcomes, limits; spec-checked."""

from __future__ import annotations

import pytest

from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from mappings.identifiers import to_gtin14, with_check_digit
from sync_workers.walmart.errors import WalmartClientError
from tests.support.walmart_contract import contract_client

SKUS = [f"WS-{n:06d}" for n in range(1, 31)]


@pytest.fixture
def emulator():
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.2, 0.4),
                          feed_size_limits={"MP_INVENTORY": 2048})
    app.seed_items("local-client", SKUS)
    app.seed_catalog([{"itemId": f"77{n:05d}", "title": f"Catalogue product {n}",
                       "gtin": to_gtin14(with_check_digit(f"81{n:09d}"))} for n in range(100, 110)])
    with EmulatorServer(app) as server:
        yield server


@pytest.fixture
def client(emulator):
    client, session = contract_client(emulator)
    yield client
    session.assert_clean()


def test_inventory_feed_goes_through_its_lifecycle_with_item_results(emulator, client) -> None:
    payload = {"InventoryHeader": {"version": "1.4"},
               "Inventory": [{"sku": sku, "quantity": {"unit": "EACH", "amount": n}} for n, sku in enumerate(SKUS)]
               + [{"sku": "NOT-LISTED", "quantity": {"unit": "EACH", "amount": 1}},
                  {"sku": SKUS[0], "quantity": {"unit": "EACH", "amount": -4}}]}
    feed_id = client.feeds.submit("inventory", payload)
    assert client.feeds.status(feed_id, include_details=False).feedStatus in ("RECEIVED", "INPROGRESS")
    result = client.feeds.wait(feed_id, poll_s=0.05, timeout_s=10)
    assert result.feedStatus == "PROCESSED"
    assert (result.itemsReceived, result.itemsSucceeded, result.itemsFailed) == (32, 30, 2)
    assert len(result.items) == 32  # details paged 50 at a time
    failed = {i.sku: i.errors[0]["code"] for i in result.failed}
    assert failed == {"NOT-LISTED": "ERR_EXT_DATA_0801001", SKUS[0]: "ERR_PDI_0034"}
    assert client.get_inventory(SKUS[7]).quantity.amount == 7
    listed = client._send("feeds_status", "GET", "/v3/feeds", params={"feedId": feed_id}).json()
    assert listed["results"]["feed"][0]["feedStatus"] == "PROCESSED"


def test_price_and_multi_node_feeds(emulator, client) -> None:
    price = client.feeds.submit("price", {"PriceHeader": {"version": "1.7"}, "Price": [
        {"sku": SKUS[1], "pricing": [{"currentPriceType": "BASE",
                                      "currentPrice": {"currency": "USD", "amount": 21.5}}]}]})
    multi = client.feeds.submit("MP_INVENTORY", {"inventoryHeader": {"version": "1.5"}, "inventory": [
        {"sku": SKUS[2], "shipNodes": [{"shipNode": "wh_east", "quantity": {"unit": "EACH", "amount": 3}},
                                       {"shipNode": "wh_west", "quantity": {"unit": "EACH", "amount": 4}}]}]})
    assert client.feeds.wait(price, poll_s=0.05, timeout_s=10).itemsSucceeded == 1
    assert client.feeds.wait(multi, poll_s=0.05, timeout_s=10).itemsSucceeded == 1
    assert client.get_inventories(SKUS[2]) == {"default": 0, "wh_east": 3, "wh_west": 4}


def test_item_match_feed_matches_by_gtin_and_explains_failures(emulator, client) -> None:
    def item(sku, id_type, code):
        return {"Item": {"sku": sku, "productIdentifiers": {"productIdType": id_type, "productId": code},
                         "price": 12.0, "ShippingWeight": 1.0, "condition": "New"}}

    good = to_gtin14(with_check_digit("81000000101"))
    payload = {"MPItemFeedHeader": {"processMode": "REPLACE", "subset": "EXTERNAL", "locale": "en",
                                    "sellingChannel": "mpsetupbymatch", "version": "4.1"},
               "MPItem": [item("NEW-1", "GTIN", good),
                          item("NEW-2", "UPC", with_check_digit("81000000102")),
                          item("NEW-3", "GTIN", good[:-1] + str((int(good[-1]) + 1) % 10)),
                          item("NEW-4", "GTIN", to_gtin14(with_check_digit("81000000999")))]}
    result = client.feeds.wait(client.feeds.submit("MP_ITEM_MATCH", payload), poll_s=0.05, timeout_s=10)
    outcome = {i.sku: (i.ingestionStatus, i.errors[0]["code"] if i.errors else None) for i in result.items}
    assert outcome == {"NEW-1": ("SUCCESS", None), "NEW-2": ("SUCCESS", None),
                       "NEW-3": ("DATA_ERROR", "ERR_PDI_0034"), "NEW-4": ("DATA_ERROR", "ERR_EXT_DATA_0101116")}
    assert "check digit" in result.failed[0].errors[0]["description"]
    assert client.items.get_item(good, "GTIN").sku == "NEW-1"


def test_malformed_files_oversize_files_and_unknown_types(emulator, client) -> None:
    result = client.feeds.wait(client.feeds.submit("inventory", {"no": "header"}), poll_s=0.05, timeout_s=10)
    assert result.feedStatus == "ERROR" and result.ingestionErrors["ingestionError"][0]["code"] == "ERR_PDI_0001"
    big = {"inventoryHeader": {"version": "1.5"}, "inventory": [
        {"sku": sku, "shipNodes": [{"shipNode": "default", "quantity": {"unit": "EACH", "amount": 1}}]}
        for sku in SKUS]}
    with pytest.raises(WalmartClientError) as too_big:
        client.feeds.submit("MP_INVENTORY", big)
    assert too_big.value.status == 413
    with pytest.raises(WalmartClientError) as unknown:
        client._send("feeds_status", "POST", "/v3/feeds", params={"feedType": "RETIRE_ITEM"},
                     files={"file": ("retire.json", b"{}", "application/json")})
    assert unknown.value.details[0].field == "feedType"
