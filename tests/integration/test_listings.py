"""Listing management against the emulator's seeded catalogue and the local MariaDB: products put
on the channel by the CLI, matched by UPC through the catalogue searches and an MP_ITEM_MATCH
feed, every outcome recorded with its reason; only matched listings are pushed, and a new match
gets its initial inventory and price; a product created in Commerce is added and matched by the
listings worker on its own."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from devstack.walmart_catalogue import catalogue_entries
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from mappings.identifiers import with_check_digit
from mappings.inventory import walmart_quantity
from mappings.price import effective_price
from sync_workers.commerce.prices import PriceReader
from sync_workers.commerce.salable import read_positions
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import ListenerThread, cli_process, wait_for
from walmart_sync.components import build_worker

PRODUCTS = 30
GOOD_UPC = with_check_digit("81000000008")
BAD_UPC = GOOD_UPC[:-1] + str((int(GOOD_UPC[-1]) + 1) % 10)


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    from devstack.environment import prepare_environment

    env = prepare_environment(stack.endpoints, tmp_path_factory.mktemp("lst"), "open_source", products=PRODUCTS,
                              name=f"lst_{uuid.uuid4().hex[:6]}", push_skus="matched")
    with env.admin_connection() as conn:
        reader = PriceReader(conn, 2)
        now = reader.wall_clock()  # the store's clock, as the matcher judges special windows
        prices = {sku: float(effective_price(record, now)) for sku, record in reader.read(env.seed.skus).items()}
    entries = catalogue_entries(PRODUCTS, prices=prices)
    for entry in entries:
        if entry["itemId"].endswith("005"):  # WS-000005: Walmart's item is priced far from ours
            entry["price"] = prices["WS-000005"] * 100
    # new matches get their initial price at once here: Walmart's 24 h price window after setup is
    # off on both sides (tests/unit/sync_workers/push/test_price_handler.py covers it)
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.1, 0.3), price_after_setup_s=0)
    app.seed_catalog(entries)
    app.seed_items("local-client", ["WS-000002"])  # listed before walmart-sync (another integration)
    app.seed_items("local-client", ["OTHER-6"], gtin=entries[5]["gtin"])  # WS-000006's GTIN, another SKU
    app.seed_items("local-client", ["WS-000008"])  # listed, but our record of it has a bad UPC
    with env.admin_connection() as conn, conn.cursor() as cur:
        upc = env.seed.attribute_ids["upc"]
        cur.execute("UPDATE catalog_product_entity_varchar SET value = %s WHERE attribute_id = %s AND entity_id = 8",
                    (BAD_UPC, upc))  # its only identifier, with a wrong check digit
        cur.execute("DELETE FROM catalog_product_entity_varchar WHERE entity_id = 4 AND attribute_id IN "
                    "(SELECT attribute_id FROM eav_attribute WHERE attribute_code IN ('upc', 'gtin', 'ean', 'isbn'))")
    with EmulatorServer(app) as emulator:
        settings = env.settings(walmart={"base_url": emulator.url, "client_id": "local-client",
                                         "client_secret": "local-secret"},
                                workers={"coalesce_ms": 50, "feed_poll_s": 0.2, "price_after_setup_s": 0},
                                listings={"auto_add": "all", "match_interval_s": 3600},  # rounds on events
                                cdc={"checkpoint_interval_ms": 100})
        overrides = (f"walmart.base_url={emulator.url}", "walmart.client_id=local-client",
                     "walmart.client_secret=local-secret")
        with ListenerThread(settings):
            loops = [build_worker(name, settings) for name in ("inventory", "price", "listings")]
            threads = [threading.Thread(target=loop.run, daemon=True) for loop in loops]
            for thread in threads:
                thread.start()
            try:
                yield env, settings, app, overrides, {loop.handler.name: loop for loop in loops}
            finally:
                for loop in loops:
                    loop.stop()
                for thread in threads:
                    thread.join(30)


def run_cli(env, overrides, *args: str) -> tuple[int, str, str]:
    proc = cli_process(env.config_path, "listings", *args, overrides=overrides)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


def listings(settings) -> dict:
    store = ListingStore(connect_state(settings))
    return {row.sku: row for row in store.listing_rows(limit=10_000)}


def test_products_are_matched_by_upc_and_every_outcome_is_recorded(world) -> None:
    env, settings, app, overrides, _loops = world
    code, out, err = run_cli(env, overrides, "add", "--all")
    assert code == 0, err
    assert f"added {PRODUCTS - 2} draft(s) to match; 2 with identifier errors" in out
    code, out, err = run_cli(env, overrides, "match", "--poll", "0.2", "--timeout", "60")
    assert code == 0, err
    assert "feeds submitted" in err or "catalogue search" in err  # progress on the terminal
    found = listings(settings)
    unmatched = {f"WS-{n:06d}" for n in (7, 14, 21, 28)}
    errors = {"WS-000008", "WS-000004", "WS-000005", "WS-000006"}
    assert {s for s, l in found.items() if l.status == "unmatched"} == unmatched
    assert {s for s, l in found.items() if l.status == "error"} == errors
    matched = {s for s, l in found.items() if l.status == "matched"}
    assert matched == set(env.seed.skus) - unmatched - errors
    assert found["WS-000008"].reason == f"UPC '{BAD_UPC}' (attribute upc) check digit is {BAD_UPC[-1]}, expected " \
        f"{GOOD_UPC[-1]}"
    assert found["WS-000004"].reason.startswith("no product identifier")
    assert found["WS-000005"].error_code == "ERR_EXT_DATA_0101116" and "conflicts" in found["WS-000005"].reason
    assert found["WS-000006"].error_code == "DUPLICATE_GTIN" and "OTHER-6" in found["WS-000006"].reason
    assert found["WS-000007"].reason == f"no Walmart catalogue item has UPC {found['WS-000007'].product_code}"
    assert found["WS-000002"].reason == "already listed by this seller" and found["WS-000002"].feed_id is None
    assert found["WS-000001"].wpid and found["WS-000001"].walmart_item_id == "500000001"
    seller = app.seller("local-client")
    assert seller.calls["feed_submit"] == 1 and set(seller.items) >= matched
    assert not seller.throttled  # within every API's limits
    code, out, err = run_cli(env, overrides, "status", "--json")
    counts = json.loads(out)["counts"]
    assert counts == {"draft": 0, "submitted": 0, "matched": len(matched), "unmatched": 4, "error": 4,
                      "candidate": 0}
    code, out, err = run_cli(env, overrides, "status", "--status", "error")
    assert "WS-000006" in out and "OTHER-6" in out and "WS-000001" not in out

    # a new match gets its initial inventory and price; only matched listings are pushed
    with env.admin_connection() as conn:
        positions = read_positions(conn, sorted(matched), 2, True)
        prices = PriceReader(conn, 2).read(sorted(matched))
    now = __import__("datetime").datetime.now()
    expected_qty = {sku: walmart_quantity(p, 0) for sku, p in positions.items()}
    wait_for(lambda: all(seller.inventory.get((sku, "default")) == qty for sku, qty in expected_qty.items()), 60,
             "the initial inventory of every new match")
    wait_for(lambda: all(abs(seller.prices.get(sku, {}).get("currentPrice", {}).get("amount", 0)
                             - float(effective_price(prices[sku], now))) < 0.005 for sku in matched), 60,
             "the initial price of every new match")
    with env.admin_connection() as conn, conn.cursor() as cur:
        for sku in ("WS-000008", "WS-000001"):  # WS-000008 is on Walmart, but not a matched listing
            cur.execute("UPDATE inventory_source_item SET quantity = 41, status = 1 WHERE sku = %s "
                        "AND source_code = 'wh_east'", (sku,))
    with env.admin_connection() as conn:
        wanted = walmart_quantity(read_positions(conn, ["WS-000001"], 2, True)["WS-000001"], 0)
    wait_for(lambda: seller.inventory.get(("WS-000001", "default")) == wanted, 30, "the matched SKU's change")
    assert ("WS-000008", "default") not in seller.inventory


def test_a_product_created_in_commerce_is_added_and_matched_by_the_worker(world) -> None:
    env, settings, app, _overrides, loops = world
    index = 901
    sku = f"WS-{index:06d}"
    upc = with_check_digit(f"81{index:09d}")
    app.seed_catalog([{"itemId": "777000901", "title": "A new product", "gtin": upc.zfill(14)}])
    ids = env.seed.attribute_ids
    with env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO catalog_product_entity (attribute_set_id, type_id, sku) VALUES "
                    "(%s, 'simple', %s)", (env.seed.attribute_set_ids["Default"], sku))
        entity = cur.lastrowid
        cur.execute("INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value) "
                    "VALUES (%s, 0, %s, %s)", (ids["upc"], entity, upc))
        cur.executemany("INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value) "
                        "VALUES (%s, 0, %s, %s)", [(ids["price"], entity, 19.99), (ids["weight"], entity, 2.5)])
        # enabled and on the channel's website, as the admin's product save writes it
        # (Magento\Catalog\Model\ResourceModel\Product::_saveWebsiteIds): Magento sells nothing else
        cur.executemany("INSERT INTO catalog_product_entity_int (attribute_id, store_id, entity_id, value) "
                        "VALUES (%s, 0, %s, %s)", [(ids["status"], entity, 1), (ids["visibility"], entity, 4)])
        cur.execute("INSERT INTO catalog_product_website (product_id, website_id) VALUES (%s, %s)",
                    (entity, settings.mapping.website_id))
        cur.execute("INSERT INTO cataloginventory_stock_item (product_id, stock_id, qty, is_in_stock, website_id) "
                    "VALUES (%s, 1, 0, 0, 0)", (entity,))
        cur.execute("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES "
                    "('wh_east', %s, 12, 1)", (sku,))
        conn.commit()
    wait_for(lambda: (l := listings(settings).get(sku)) is not None and l.status == "matched", 60,
             "the new product matched by the listings worker")
    seller = app.seller("local-client")
    wait_for(lambda: seller.inventory.get((sku, "default")) == 12, 30, "its initial inventory")
    wait_for(lambda: seller.prices.get(sku, {}).get("currentPrice", {}).get("amount") == 19.99, 30,
             "its initial price")
    assert loops["listings"].handler.auto_added == 1
