"""``walmart-sync sku``: one SKU's Commerce value and why, what was sent, what Walmart shows, what to do.

Against a seeded Commerce database and the Walmart emulator; the inventory and price handlers push
as the workers do, then Walmart or Commerce is changed behind the sidecar's back. Expected
quantities are MSI's rule worked out by hand for the channel's stock 2 (sources wh_east and
wh_west): in-stock quantities at linked sources plus stock 2's reservations.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from operations.sku_lookup import look_up_sku, render
from plumbing.db import connect_commerce
from sync_workers.stores.value_state import ValueState
from sync_workers.walmart.client import WalmartClient
from tests.support.handlers import CLIENT_ID, handler_world
from tests.support.records import deliver
from walmart_sync.cli import main

LISTED = [f"WS-{n:06d}" for n in range(1, 20)]
UPSERT_SOURCE = ("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, %s) "
                 "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = VALUES(status)")
UPSERT_DECIMAL = ("INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value) "
                  "VALUES (%s, 0, %s, %s) ON DUPLICATE KEY UPDATE value = VALUES(value)")


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("sku-lookup"), listed=LISTED) as running:
        yield running


def stock(world, sku: str, **sources: tuple[int, int]) -> list:
    return world.changes.changes([world.changes.change("inventory_source_item", UPSERT_SOURCE, (s, sku, q, st),
                                                       sku=sku, source_code=s) for s, (q, st) in sources.items()])


def price(world, sku: str, amount: str) -> list:
    entity = world.changes.row("catalog_product_entity", sku=sku)["entity_id"]
    attribute = world.env.seed.attribute_ids["price"]
    return world.changes.changes([world.changes.change("catalog_product_entity_decimal", UPSERT_DECIMAL,
                                                       (attribute, entity, amount), entity_id=entity,
                                                       attribute_id=attribute, store_id=0)])


def lookup(world, sku: str, ask_walmart: bool = True):
    commerce = connect_commerce(world.settings)
    try:
        return look_up_sku(world.settings, sku, commerce, world.state_conn,
                           WalmartClient(world.settings.walmart) if ask_walmart else None)
    finally:
        commerce.close()


@pytest.fixture(scope="module")
def pushed(world) -> str:
    """WS-000011 pushed by the workers: 6 at wh_east (wh_west out of stock), price 31.40."""
    sku = "WS-000011"
    assert deliver(world.handler("inventory"), stock(world, sku, wh_east=(6, 1), wh_west=(4, 0))) == []
    assert deliver(world.handler("price"), price(world, sku, "31.40")) == []
    return sku


def test_a_sku_walmart_agrees_on_shows_why_and_nothing_to_do(world, pushed) -> None:
    found = lookup(world, pushed)
    assert found.findings == ["Walmart shows what Commerce says: nothing to do"], found.findings
    assert found.stock is not None and found.stock.walmart_quantity == 6 and found.stock.in_stock
    assert found.stock.source_quantity == "6.0000" or float(found.stock.source_quantity) == 6
    assert found.price is not None and found.price.final_price == "31.40" and not found.price.special_active
    assert found.sent["inventory"].value == "6" and found.sent["price"].value == "31.40"
    assert found.walmart is not None and (found.walmart.quantity, found.walmart.price) == (6, "31.4")
    assert found.walmart.published_status == "PUBLISHED"
    screen = render(found)
    assert "Commerce 6  = source items" in screen and "Walmart now    quantity 6, price 31.4, PUBLISHED" in screen


def test_a_quantity_changed_on_walmart_behind_the_sidecars_back_is_named(world, pushed) -> None:
    world.seller.inventory[(pushed, "default")] = 99
    try:
        found = lookup(world, pushed)
    finally:
        world.seller.inventory[(pushed, "default")] = 6
    [finding] = found.findings
    assert finding.startswith("inventory: Walmart shows 99, but the sidecar sent 6 and Walmart confirmed it"), finding
    assert "walmart-sync resync inventory" in finding


def test_an_item_walmart_unpublished_shows_walmarts_reason(world, pushed) -> None:
    reason = "Your item is unpublished because the price is not competitive (price parity)."
    world.walmart.unpublish(CLIENT_ID, pushed, [reason])
    try:
        found = lookup(world, pushed)
    finally:
        world.seller.items[pushed].update(publishedStatus="PUBLISHED")
        world.seller.items[pushed].pop("unpublishedReasons")
    assert found.walmart is not None and found.walmart.published_status == "UNPUBLISHED"
    assert any(f.startswith("Walmart shows the item UNPUBLISHED: " + reason) for f in found.findings), found.findings


def test_a_commerce_change_not_pushed_yet_says_a_push_is_due(world, pushed) -> None:
    stock(world, pushed, wh_east=(9, 1))  # written to Commerce; no worker handles it
    found = lookup(world, pushed, ask_walmart=False)
    assert found.walmart is None  # nothing of Walmart's budget spent
    assert found.stock is not None and found.stock.walmart_quantity == 9
    assert any(f.startswith("inventory: Commerce says 9, the sidecar last sent 6") for f in found.findings), \
        found.findings


def test_a_sku_not_listed_under_the_matched_rule_is_not_pushed_and_says_why(world) -> None:
    settings = world.with_settings(workers={"push_skus": "matched"})
    commerce = connect_commerce(settings)
    try:
        found = look_up_sku(settings, "WS-000020", commerce, world.state_conn, None)
    finally:
        commerce.close()
    assert found.in_commerce and not found.pushable
    assert found.findings[0] == ("not pushed to Walmart: workers.push_skus is 'matched' and it has no listing "
                                 "(walmart-sync listings add)")


def test_the_command_answers_in_json_and_fails_for_a_sku_commerce_does_not_have(world, capsys) -> None:
    config = str(world.env.config_path)
    assert main(["--config", config, "sku", "WS-000003", "--no-walmart", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["sku"] == "WS-000003" and answer["in_commerce"] and answer["stock"]["stock_id"] == 2
    assert main(["--config", config, "sku", "NO-SUCH-SKU", "--no-walmart"]) == 1
    assert "NO-SUCH-SKU is not a Commerce product" in capsys.readouterr().out


def test_a_price_walmart_will_not_take_yet_shows_as_waiting_with_its_reason(world) -> None:
    sku = "WS-000014"
    until = datetime.now().replace(microsecond=0) + timedelta(hours=20)
    ValueState(world.state_conn, "price").wait({sku: until}, "Walmart takes no price within 24 h of the item's setup")
    try:
        found = lookup(world, sku, ask_walmart=False)
    finally:
        ValueState(world.state_conn, "price").stop_waiting([sku])
    assert found.waiting["price"].until == until
    assert any(f.startswith(f"price: waiting until {until:%Y-%m-%d %H:%M:%S} to send ") and
               f.endswith("within 24 h of the item's setup") for f in found.findings), found.findings


def test_with_two_ship_nodes_each_nodes_quantity_is_shown_and_wfs_inventory_read_not_pushed(world) -> None:
    """Per node: MSI's rule over the node's own source (stock 2's reservations held back by each);
    the WFS node's quantity is Walmart's, read for the lookup and never written by the push."""
    sku = "WS-000012"
    settings = world.with_settings(workers={"ship_nodes": {"1000000001": ["wh_east"], "1000000002": ["wh_west"]},
                                            "wfs_ship_nodes": ["9000000001"]})
    for node in ("1000000001", "1000000002"):
        world.walmart.add_ship_node(CLIENT_ID, node)
    world.walmart.add_ship_node(CLIENT_ID, "9000000001", "WFSFulfilled")
    world.walmart.set_wfs_inventory(CLIENT_ID, sku, "9000000001", 25)
    assert deliver(world.handler("inventory", settings), stock(world, sku, wh_east=(7, 1), wh_west=(3, 1))) == []
    assert (world.seller.inventory[(sku, "1000000001")], world.seller.inventory[(sku, "1000000002")]) == (7, 3)
    assert world.seller.inventory[(sku, "9000000001")] == 25
    commerce = connect_commerce(settings)
    try:
        found = look_up_sku(settings, sku, commerce, world.state_conn, WalmartClient(settings.walmart))
    finally:
        commerce.close()
    assert found.stock is not None and found.stock.node_quantities == {"1000000001": 7, "1000000002": 3}
    assert found.stock.walmart_quantity == 10
    assert found.walmart is not None and found.walmart.quantity == 10 and found.walmart.wfs_quantity == 25
    screen = render(found)
    assert "per node       1000000001 7, 1000000002 3" in screen
    assert "WFS (Walmart's, never pushed) 25" in screen
