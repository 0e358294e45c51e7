"""Listing matching in shadow mode, against the Commerce database, the state schema and the Walmart
emulator: a product is added and searched for in Walmart's catalogue (reads), its setup-by-match
feed is withheld (the emulator receives no feed) and recorded, and the listing stays a candidate,
kept; in live mode the same listing is submitted and matched, with nothing to redo."""

from __future__ import annotations

import pytest

from sync_workers.stores.shadow import ShadowLedger
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import handler_world
from tests.support.records import deliver
from tests.unit.sync_workers.push.test_listings_handler import create_product, listings, match_round, upc_of


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("listings-shadow"), listed=[], push_skus="matched",
                       listings={"auto_add": "all", "match_interval_s": 0.05}) as running:
        yield running


def test_a_match_feed_is_withheld_in_shadow_mode_and_sent_once_live(world) -> None:
    index = 931
    sku = f"WS-{index:06d}"
    world.walmart.seed_catalog([{"itemId": "777000931", "title": "A shadowed product", "gtin": upc_of(index).zfill(14)}])
    shadow = world.handler("listings", world.with_settings(walmart={"mode": "shadow"}))
    assert deliver(shadow, create_product(world, index)) == []
    wait_for(lambda: shadow.tick() or listings(world)[sku].status == "candidate", 10, "the catalogue search")
    for _ in range(3):  # more rounds: the candidate stays one, nothing is submitted
        shadow.tick()
        shadow.wait_round()
    assert listings(world)[sku].status == "candidate"
    assert world.walmart.writes_received["feed_submit"] == 0
    withheld = {e.key: e for e in ShadowLedger(world.state_conn).entries("listing")}
    assert sku in withheld and upc_of(index) in withheld[sku].payload

    live = world.handler("listings")
    match_round(live)
    row = listings(world)[sku]
    assert (row.status, row.walmart_item_id) == ("matched", "777000931")
    assert world.walmart.writes_received["feed_submit"] == 1
