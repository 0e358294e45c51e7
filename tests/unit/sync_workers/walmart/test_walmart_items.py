"""Items, catalogue searches and multi-node inventory, client against emulator, spec-checked."""

from __future__ import annotations

import pytest

from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from mappings.identifiers import to_gtin14, with_check_digit
from sync_workers.walmart.errors import WalmartClientError
from tests.support.walmart_contract import contract_client


@pytest.fixture
def emulator():
    app = WalmartEmulator({"local-client": "local-secret"})
    for n in range(1, 8):
        upc = with_check_digit(f"81{n:09d}")
        app.seed_items("local-client", [f"WS-{n:06d}"], upc=upc, gtin=to_gtin14(upc),
                       publishedStatus="PUBLISHED" if n % 3 else "UNPUBLISHED")
    app.seed_catalog([{"itemId": "5550001", "title": "Acme Anvil", "brand": "Acme",
                       "upc": with_check_digit("81000000001"), "gtin": to_gtin14(with_check_digit("81000000001")),
                       "price": 19.99},
                      {"itemId": "5550002", "title": "Acme Rocket Skates", "brand": "Acme",
                       "gtin": to_gtin14(with_check_digit("04000000002"))}])
    with EmulatorServer(app) as server:
        yield server


@pytest.fixture
def client(emulator):
    client, session = contract_client(emulator)
    yield client
    session.assert_clean()


def test_seller_items_with_cursor_and_lookup_by_identifier(client) -> None:
    skus = [item.sku for item in client.items.list_items(limit=3)]
    assert skus == [f"WS-{n:06d}" for n in range(1, 8)]  # three pages
    unpublished = [i.sku for i in client.items.list_items(publishedStatus="UNPUBLISHED")]
    assert unpublished == ["WS-000003", "WS-000006"]
    upc = with_check_digit("81000000004")
    assert client.items.get_item(upc, "UPC").sku == "WS-000004"
    assert client.items.get_item(to_gtin14(upc), "GTIN").sku == "WS-000004"
    assert client.items.get_item("NOPE") is None


def test_global_catalogue_search_by_upc_gtin_and_query(client) -> None:
    upc = with_check_digit("81000000001")
    [hit] = client.items.search_walmart(upc=upc)
    assert hit.itemId == "5550001" and hit.title == "Acme Anvil"
    assert [h.itemId for h in client.items.search_walmart(gtin=to_gtin14(upc))] == ["5550001"]
    assert {h.itemId for h in client.items.search_walmart(query="acme")} == {"5550001", "5550002"}
    assert client.items.search_walmart(upc=with_check_digit("99999999999")) == []
    with pytest.raises(WalmartClientError) as bad:
        client.items.search_walmart(upc="123")
    assert bad.value.details[0].field == "upc"


def test_seller_catalogue_search(client) -> None:
    gtin = to_gtin14(with_check_digit("81000000005"))
    [hit] = list(client.items.search_catalog("gtin", gtin))
    assert hit.sku == "WS-000005" and hit.publishedStatus["status"] == "PUBLISHED"
    assert list(client.items.search_catalog("gtin", "00000000000000")) == []


def test_multi_node_inventory(client) -> None:
    result = client.update_inventories("WS-000002", {"default": 5, "wh_east": 7})
    assert result == {"default": "Success", "wh_east": "Success"}
    assert client.get_inventories("WS-000002") == {"default": 5, "wh_east": 7}
    assert client.get_inventory("WS-000002", "wh_east").quantity.amount == 7
