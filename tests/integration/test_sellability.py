"""Sellability end to end: what Magento would not sell goes to 0 on Walmart, what it always sells shows
``mapping.unlimited_stock_quantity``, and store-scope stock settings apply; each change made with the SQL
Magento itself issues for the action, through binlog -> listener -> Kafka -> inventory worker -> Walmart.

The devstack's Walmart channel is website 2 / store view 2 / stock 2 (sources wh_east + wh_west). Every
expectation is also checked against the oracle (devstack/oracles/msi.py, Magento's rules in its own code).
"""

from __future__ import annotations

import pytest
import requests

from devstack.oracles.msi import expected_walmart_quantity, salable_quantities
from tests.support.cdc_helpers import wait_for, worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 21)]
UNLIMITED = 100
STORE, WEBSITE = 2, 2


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def pipeline(request, stack, tmp_path_factory):
    with worker_pipeline(stack, tmp_path_factory.mktemp("sell"), request.param, "inventory", 20, LISTED,
                         mapping={"unlimited_stock_quantity": UNLIMITED}) as (env, settings, emulator, _app, _loop):
        yield env, settings, emulator


def walmart_quantity(emulator, sku: str) -> int | None:
    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()["inventory"].get(f"{sku}@default")


def oracle(env, settings, sku: str) -> int:
    mapping = settings.mapping
    with env.admin_connection() as conn:
        found = salable_quantities(conn, [sku], mapping.stock_id, True, store_id=STORE, website_id=WEBSITE)[sku]
    return expected_walmart_quantity(found, mapping.inventory_safety_buffer, UNLIMITED)


def until(env, settings, emulator, sku: str, expected: int, timeout: float = 60) -> None:
    """Walmart shows ``expected`` and the oracle, from Magento's rules, agrees."""
    wait_for(lambda: walmart_quantity(emulator, sku) == expected, timeout,
             f"Walmart to show {expected} for {sku} (has {walmart_quantity(emulator, sku)})")
    assert oracle(env, settings, sku) == expected


def stock(cur, sku: str, east: int, west: int = 0) -> None:
    for source, qty in (("wh_east", east), ("wh_west", west)):
        cur.execute("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, %s) "
                    "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = VALUES(status)",
                    (source, sku, qty, int(qty > 0)))


def _link(env) -> tuple[str, str]:
    if env.edition == "adobe_commerce":
        return "row_id", " AND created_in <= UNIX_TIMESTAMP() AND updated_in > UNIX_TIMESTAMP()"
    return "entity_id", ""


def set_status(cur, env, sku: str, store_id: int, value: int) -> None:
    """``Catalog\\Model\\ResourceModel\\Product\\Action::updateAttributes`` (the grid's Disable / Enable,
    or a save at the store view): insertOnDuplicate into catalog_product_entity_int for the live row."""
    link, live = _link(env)
    cur.execute(f"INSERT INTO catalog_product_entity_int (attribute_id, store_id, {link}, value) "
                f"SELECT %s, %s, {link}, %s FROM catalog_product_entity WHERE sku = %s{live} "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (env.seed.attribute_ids["status"], store_id, value, sku))


def use_default_status(cur, env, sku: str, store_id: int) -> None:
    """"Use Default Value" at the store view: the store's row is deleted (AbstractResource::_deleteAttributes)."""
    link, live = _link(env)
    cur.execute(f"DELETE FROM catalog_product_entity_int WHERE attribute_id = %s AND store_id = %s AND {link} IN "
                f"(SELECT {link} FROM catalog_product_entity p WHERE p.sku = %s{live})",
                (env.seed.attribute_ids["status"], store_id, sku))


def entity_id(cur, sku: str) -> int:
    cur.execute("SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s", (sku,))
    return int(cur.fetchone()[0])


def save_config(cur, path: str, value: str, scope: str = "default", scope_id: int = 0) -> None:
    """``Config\\Model\\ResourceModel\\Config::saveConfig``: insertOnDuplicate into core_config_data."""
    cur.execute("INSERT INTO core_config_data (scope, scope_id, path, value) VALUES (%s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (scope, scope_id, path, value))


def delete_config(cur, path: str, scope: str = "default", scope_id: int = 0) -> None:
    """``Config\\Model\\ResourceModel\\Config::deleteConfig`` ("Use Default" / "Use system value")."""
    cur.execute("DELETE FROM core_config_data WHERE path = %s AND scope = %s AND scope_id = %s", (path, scope, scope_id))


def test_a_disabled_product_goes_to_zero(pipeline) -> None:
    """Catalog\\Model\\Product\\Type\\AbstractType::isSalable: only Status::STATUS_ENABLED (1) is sold, with
    the status the product loads for the store view (its row at store 2 over store 0's)."""
    env, settings, emulator = pipeline
    sku = "WS-000003"
    with env.admin_connection() as conn, conn.cursor() as cur:
        stock(cur, sku, 9, 4)
        until(env, settings, emulator, sku, 13)
        set_status(cur, env, sku, STORE, 2)  # disabled at the Walmart store view only
        until(env, settings, emulator, sku, 0)
        set_status(cur, env, sku, STORE, 1)
        until(env, settings, emulator, sku, 13)
        set_status(cur, env, sku, 0, 2)      # disabled at store 0, but the store view's own row says enabled
        stock(cur, sku, 10, 4)
        until(env, settings, emulator, sku, 14)
        use_default_status(cur, env, sku, STORE)
        until(env, settings, emulator, sku, 0)
        set_status(cur, env, sku, 0, 1)
        until(env, settings, emulator, sku, 14)


def test_a_product_removed_from_the_website_goes_to_zero(pipeline) -> None:
    """Checkout\\Model\\Cart::_getProduct refuses a product not in the store's website. The removal is
    Catalog\\Model\\ResourceModel\\Product\\Website::removeProducts (DELETE ... website_id IN, product_id IN);
    the assignment Product\\Website\\Link::saveWebsiteIds (INSERT)."""
    env, settings, emulator = pipeline
    sku = "WS-000004"
    with env.admin_connection() as conn, conn.cursor() as cur:
        stock(cur, sku, 6)
        until(env, settings, emulator, sku, 6)
        product = entity_id(cur, sku)
        cur.execute("DELETE FROM catalog_product_website WHERE website_id IN (%s) AND product_id IN (%s)",
                    (WEBSITE, product))
        until(env, settings, emulator, sku, 0)
        cur.execute("INSERT INTO catalog_product_website (product_id, website_id) VALUES (%s, %s)", (product, WEBSITE))
        until(env, settings, emulator, sku, 6)
        cur.execute("DELETE FROM catalog_product_website WHERE website_id IN (1) AND product_id IN (%s)", (product,))
        stock(cur, sku, 7)
        until(env, settings, emulator, sku, 7)  # another website's assignment does not matter


def test_a_store_scope_threshold_applies(pipeline) -> None:
    """CatalogInventory\\Model\\Stock\\Item::getMinQty with use_config_min_qty asks StockConfiguration for the
    store (SCOPE_STORE: store, else website, else default); GetProductSalableQty subtracts it."""
    env, settings, emulator = pipeline
    sku = "WS-000005"
    path = "cataloginventory/item_options/min_qty"
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE cataloginventory_stock_item SET use_config_min_qty = 1 WHERE product_id = %s",
                    (entity_id(cur, sku),))
        stock(cur, sku, 20)
        until(env, settings, emulator, sku, 20)
        save_config(cur, path, "2")                       # default scope
        until(env, settings, emulator, sku, 18)
        save_config(cur, path, "4", "websites", WEBSITE)  # the website's overrides it
        until(env, settings, emulator, sku, 16)
        save_config(cur, path, "5", "stores", 1)          # another store view's: not ours
        save_config(cur, path, "7", "stores", STORE)      # the store view's own wins
        until(env, settings, emulator, sku, 13)
        cur.execute("UPDATE cataloginventory_stock_item SET use_config_min_qty = 0, min_qty = 1 WHERE product_id = %s",
                    (entity_id(cur, sku),))
        until(env, settings, emulator, sku, 19)           # the product's own threshold wins over config
        for scope, scope_id in (("stores", STORE), ("stores", 1), ("websites", WEBSITE), ("default", 0)):
            delete_config(cur, path, scope, scope_id)


def test_manage_stock_no_and_backorders_are_always_sold(pipeline) -> None:
    """InventorySales ManageStockCondition (Manage Stock = No) and BackOrderCondition (backorders, threshold
    >= 0): Magento sells whatever the count, so Walmart shows mapping.unlimited_stock_quantity. The product
    save writes cataloginventory_stock_item (CatalogInventory\\Model\\ResourceModel\\Stock\\Item)."""
    env, settings, emulator = pipeline
    sku, other = "WS-000006", "WS-000007"
    with env.admin_connection() as conn, conn.cursor() as cur:
        stock(cur, sku, 0)
        until(env, settings, emulator, sku, 0)
        cur.execute("UPDATE cataloginventory_stock_item SET use_config_manage_stock = 0, manage_stock = 0 "
                    "WHERE product_id = %s", (entity_id(cur, sku),))
        until(env, settings, emulator, sku, UNLIMITED)
        set_status(cur, env, sku, STORE, 2)
        until(env, settings, emulator, sku, 0)            # still never sold when disabled
        set_status(cur, env, sku, STORE, 1)
        until(env, settings, emulator, sku, UNLIMITED)

        cur.execute("UPDATE cataloginventory_stock_item SET use_config_manage_stock = 1, use_config_backorders = 1, "
                    "use_config_min_qty = 1 WHERE product_id = %s", (entity_id(cur, other),))
        stock(cur, other, 3)
        until(env, settings, emulator, other, 3)
        save_config(cur, "cataloginventory/item_options/backorders", "1", "websites", WEBSITE)
        until(env, settings, emulator, other, UNLIMITED)  # BackOrderCondition, config at the website
        save_config(cur, "cataloginventory/item_options/min_qty", "-5", "websites", WEBSITE)
        until(env, settings, emulator, other, 8)          # a negative threshold is a count: 3 + 5
        delete_config(cur, "cataloginventory/item_options/backorders", "websites", WEBSITE)
        delete_config(cur, "cataloginventory/item_options/min_qty", "websites", WEBSITE)
        save_config(cur, "cataloginventory/item_options/manage_stock", "0")
        until(env, settings, emulator, other, UNLIMITED)  # Manage Stock = No for the whole store
        delete_config(cur, "cataloginventory/item_options/manage_stock")
        until(env, settings, emulator, other, 3)
