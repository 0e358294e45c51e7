"""Bundles and configurables end to end: Commerce rows -> binlog -> listener -> Kafka -> inventory
worker -> Walmart emulator, on both editions.

A bundle's expected quantity is worked out by hand from Magento's rule
(``Magento\\InventoryBundleProduct\\Model\\GetBundleProductStockStatus``: every required option needs
a salable selection for its selection_qty; optional options do not bound it), counted as
mappings/bundles.py documents: per required option the best selection's floor(salable / qty), the
least over required options. Stock 2 (wh_east + wh_west) is the channel's. A configurable's
parent is no offer: Walmart gets its children's quantities and never the parent's.
"""

from __future__ import annotations

import pytest

from devstack.seed import CONFIGURABLE_SKU, composite_skus, configurable_children, seed_composites
from tests.integration.test_inventory_worker import set_source, until_walmart_shows, walmart_quantity
from tests.support.cdc_helpers import worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 12)] + composite_skus()  # the parent too: a push would land


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def pipeline(request, stack, tmp_path_factory):
    with worker_pipeline(stack, tmp_path_factory.mktemp("bundles"), request.param, "inventory", 12, LISTED,
                         workers={"feed_threshold": 50}) as (env, settings, emulator, _app, _loop):
        with env.admin_connection() as conn, conn.cursor() as cur:
            for sku in ("WS-000001", "WS-000002", "WS-000003", "WS-000004", "WS-000006", "WS-000007"):
                set_source(cur, sku, "wh_west", 0, 0)  # only wh_east counts below
            set_source(cur, "WS-000001", "wh_east", 7, 1)
            set_source(cur, "WS-000002", "wh_east", 3, 1)
            set_source(cur, "WS-000003", "wh_east", 9, 1)   # x2 per bundle: 4 bundles
            set_source(cur, "WS-000004", "wh_east", 0, 0)   # optional: bounds nothing
            set_source(cur, "WS-000006", "wh_east", 2, 1)
            set_source(cur, "WS-000007", "wh_east", 9, 1)   # x3: 3
        with env.admin_connection(autocommit=False) as conn:
            seed_composites(conn, request.param)  # the store creates them: the binlog carries every row
        yield env, emulator, request.param, settings


def test_a_bundle_follows_its_components(pipeline) -> None:
    env, emulator, _edition, _settings = pipeline
    # Frame: max(7, 3) = 7; Lens: floor(9 / 2) = 4; Case optional -> min(7, 4)
    until_walmart_shows(emulator, {"WS-BUNDLE-1": 4, "WS-BUNDLE-2": 3})
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_source(cur, "WS-000003", "wh_east", 20, 1)  # Lens: 10
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 7})
        set_source(cur, "WS-000001", "wh_east", 0, 0)   # Frame falls back to its other selection: 3
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 3})
        cur.execute("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES "
                    "(2, 'WS-000002', -1, '{\"event_type\":\"order_placed\",\"object_type\":\"order\"}')")
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 2})  # a component's order reservation counts
        set_source(cur, "WS-000006", "wh_east", 0, 0)  # all-optional bundle: its other option still fills
        until_walmart_shows(emulator, {"WS-BUNDLE-2": 3})
        set_source(cur, "WS-000007", "wh_east", 2, 0)
        until_walmart_shows(emulator, {"WS-BUNDLE-2": 0})


def test_an_optional_option_does_not_bound_it_and_selection_rows_count(pipeline) -> None:
    env, emulator, edition, _settings = pipeline
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_source(cur, "WS-000001", "wh_east", 7, 1)
        set_source(cur, "WS-000002", "wh_east", 3, 1)
        cur.execute("DELETE FROM inventory_reservation WHERE sku = 'WS-000002'")
        set_source(cur, "WS-000003", "wh_east", 20, 1)
        set_source(cur, "WS-000004", "wh_east", 1, 1)   # optional Case has 1: still 7
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 7})
        set_source(cur, "WS-000004", "wh_east", 500, 1)
        # a selection row's quantity changes: Lens now takes 5 -> floor(20 / 5) = 4
        cur.execute("UPDATE catalog_product_bundle_selection s JOIN catalog_product_entity c "
                    "ON c.entity_id = s.product_id SET s.selection_qty = 5 WHERE c.sku = 'WS-000003'")
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 4})
        # Lens made optional: only Frame (7) bounds it now
        cur.execute("UPDATE catalog_product_bundle_option o JOIN catalog_product_bundle_selection s "
                    "ON s.option_id = o.option_id JOIN catalog_product_entity c ON c.entity_id = s.product_id "
                    "SET o.required = 0 WHERE c.sku = 'WS-000003'")
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 7})
        # the bundle disabled in the channel's store view: nothing to sell, whatever its parts
        cur.execute("SELECT attribute_id FROM eav_attribute WHERE attribute_code = 'status'")
        status = cur.fetchone()[0]
        cur.execute("SELECT row_id FROM catalog_product_entity WHERE sku = 'WS-BUNDLE-1'"
                    if edition == "adobe_commerce" else
                    "SELECT entity_id FROM catalog_product_entity WHERE sku = 'WS-BUNDLE-1'")
        key = cur.fetchone()[0]
        column = "row_id" if edition == "adobe_commerce" else "entity_id"
        cur.execute(f"INSERT INTO catalog_product_entity_int (attribute_id, store_id, {column}, value) "
                    "VALUES (%s, 2, %s, 2)", (status, key))
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 0})


def test_configurable_children_are_pushed_and_the_parent_never(pipeline) -> None:
    env, emulator, _edition, _settings = pipeline
    children = configurable_children()
    until_walmart_shows(emulator, {sku: 10 for sku in children})
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_source(cur, children[1], "wh_east", 4, 1)
        until_walmart_shows(emulator, {children[1]: 4})
        # the parent's own stock item changes: an event names it, and still nothing goes out for it
        cur.execute("UPDATE cataloginventory_stock_item SET qty = 99 WHERE product_id = "
                    "(SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s)", (CONFIGURABLE_SKU,))
        set_source(cur, children[2], "wh_east", 6, 1)  # behind the parent's event in the stream
        until_walmart_shows(emulator, {children[2]: 6})
    # the parent is listed on the emulator, so any push of it would have landed; none did
    assert walmart_quantity(emulator, CONFIGURABLE_SKU) is None


def test_the_bundle_oracle_agrees_with_what_walmart_shows(pipeline) -> None:
    """devstack/oracles/bundles.py asks Magento's yes/no for n bundles and bisects; the sidecar
    divides. After the earlier tests' changes and a few more, Walmart shows the oracle's number."""
    from devstack.oracles.bundles import bundle_walmart_quantities

    env, emulator, _edition, settings = pipeline
    m = settings.mapping
    with env.admin_connection() as conn, conn.cursor() as cur:
        for sku, quantity in (("WS-000001", 13), ("WS-000002", 0), ("WS-000006", 5), ("WS-000007", 16)):
            set_source(cur, sku, "wh_east", quantity, int(quantity > 0))
        cur.execute("DELETE FROM catalog_product_entity_int WHERE store_id = 2")  # WS-BUNDLE-1 sold again
        cur.execute("UPDATE catalog_product_bundle_option SET required = 1")  # every option required now

        def agree() -> bool:
            expected = bundle_walmart_quantities(conn, ["WS-BUNDLE-1", "WS-BUNDLE-2"], m.stock_id, m.store_id,
                                                 m.website_id, m.inventory_safety_buffer,
                                                 m.unlimited_stock_quantity)
            return all(walmart_quantity(emulator, sku) == qty for sku, qty in expected.items())

        # Frame 13, Lens floor(20 / 5) = 4, Case 500 -> 4; WS-BUNDLE-2: min(5, floor(16 / 3)) = 5
        until_walmart_shows(emulator, {"WS-BUNDLE-1": 4, "WS-BUNDLE-2": 5})
        assert agree()


def test_a_store_without_the_bundle_module_still_gets_quantities(stack, tmp_path) -> None:
    """Magento installed without Magento_Bundle has no bundle tables: no bundles, same quantities."""
    from devstack.environment import prepare_environment
    from plumbing.db import connect_commerce
    from sync_workers.commerce.composites import CompositeReader
    from sync_workers.push.inventory import quantity_targets
    from sync_workers.push.selling import SellingRules

    env = prepare_environment(stack.endpoints, tmp_path, "open_source", products=5, name="nobundle_os")
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("DROP TABLE catalog_product_bundle_selection, catalog_product_bundle_option")
        set_source(cur, "WS-000001", "wh_east", 6, 1)
        set_source(cur, "WS-000001", "wh_west", 0, 0)
    settings = env.settings()
    commerce = connect_commerce(settings)
    reader = CompositeReader(commerce, settings.mapping.store_id)
    targets = quantity_targets(settings, commerce, SellingRules(settings, commerce), {"WS-000001"}, composites=reader)
    assert targets == {"WS-000001": "6"}
    assert reader.bundles_containing({"WS-000001"}) == set() and reader.missing_module
