"""Selling rules end to end (issue 20): Commerce rows -> listener -> price and inventory workers ->
the Walmart emulator, with rules chosen by attribute set and by a product attribute, and a rule
change reaching Walmart at the workers' next start with no change in Commerce.

Expected values are worked out twice: by hand in each assertion, and by the agreement check's
oracle (devstack/oracles/selling.py), which shares no code with mappings/selling_rules.py."""

from __future__ import annotations

import threading
from typing import Any

import requests

from devstack.agreement import check_inventory_and_price
from operations.sku_lookup import look_up_sku, render
from sync_workers.stores.value_state import connect_state
from sync_workers.walmart.client import WalmartClient
from tests.support.cdc_helpers import wait_for, worker_pipeline
from walmart_sync.components import build_worker

LISTED = [f"WS-{n:06d}" for n in range(1, 13)]
RULE_ATTRIBUTE = "walmart_selling_rule"
SELLING = {
    "default": {"price_markup_percent": "10", "price_ending": ".99"},
    "rules": {"apparel": {"price_markup_fixed": "2.50", "price_ceiling": "30.00", "quantity_percent": "50",
                          "quantity_reserve": 2, "quantity_max": 10, "quantity_min": 3},
              "clearance": {"price_markup_percent": "-50", "price_floor": "5.00"}},
    "by_attribute_set": {"Walmart Apparel": "apparel"},  # the seed puts every 4th product in it
    "rule_attribute": RULE_ATTRIBUTE,
}


def walmart(emulator: Any) -> dict[str, Any]:
    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()


def price_of(emulator: Any, sku: str) -> float | None:
    return walmart(emulator)["prices"].get(sku, {}).get("currentPrice", {}).get("amount")


def set_price(cur: Any, env: Any, sku: str, value: str) -> None:
    """The default-store price row, as Magento\\Catalog\\Model\\ResourceModel\\Product saves it."""
    cur.execute("INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value) "
                "SELECT %s, 0, entity_id, %s FROM catalog_product_entity WHERE sku = %s "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (env.seed.attribute_ids["price"], value, sku))


def create_rule_attribute(cur: Any) -> int:
    """A text product attribute, as Magento\\Eav\\Setup\\EavSetup::addAttribute writes one."""
    cur.execute("INSERT INTO eav_attribute (entity_type_id, attribute_code, backend_type, frontend_input, "
                "frontend_label, is_required, is_user_defined) SELECT entity_type_id, %s, 'varchar', 'text', "
                "'Walmart selling rule', 0, 1 FROM eav_entity_type WHERE entity_type_code = 'catalog_product'",
                (RULE_ATTRIBUTE,))
    return int(cur.lastrowid)


def test_price_rules_by_attribute_set_and_product_attribute(stack, tmp_path) -> None:
    with worker_pipeline(stack, tmp_path, "open_source", "price", 12, LISTED, selling=SELLING) as \
            (env, settings, emulator, app, _loop):
        with env.admin_connection(autocommit=True) as conn, conn.cursor() as cur:
            attribute_id = create_rule_attribute(cur)
            set_price(cur, env, "WS-000001", "10.00")   # Default set: +10% = 11.00, ending .99 -> 11.99
            set_price(cur, env, "WS-000004", "19.00")   # Walmart Apparel: +2.50 = 21.50
            set_price(cur, env, "WS-000008", "40.00")   # Walmart Apparel: 42.50, ceiling 30.00
            cur.execute("INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value) "
                        "SELECT %s, 0, entity_id, 'clearance' FROM catalog_product_entity WHERE sku = 'WS-000002'",
                        (attribute_id,))
            set_price(cur, env, "WS-000002", "8.00")    # its own rule: -50% = 4.00, floor 5.00
            set_price(cur, env, "WS-000003", "12.10")   # Default: 13.31 -> 13.99
        for sku, want in (("WS-000001", 11.99), ("WS-000004", 21.5), ("WS-000008", 30.0), ("WS-000002", 5.0),
                          ("WS-000003", 13.99)):
            wait_for(lambda s=sku, w=want: price_of(emulator, s) == w, 30,
                     f"{sku} at {want} on Walmart (is {price_of(emulator, sku)})")
        state = connect_state(settings)
        try:
            with env.admin_connection() as commerce:
                _inventory, price = check_inventory_and_price(settings, app, "local-client", commerce,
                                                              ["WS-000001", "WS-000002", "WS-000003", "WS-000004",
                                                               "WS-000008"])
        finally:
            state.close()
        assert price.checked == 5 and not price.lost, price.describe()  # the oracle agrees

        # support staff see which rule decided the price, and why that one
        state = connect_state(settings)
        try:
            with env.admin_connection() as commerce:
                apparel = look_up_sku(settings, "WS-000008", commerce, state, WalmartClient(settings.walmart))
                own = look_up_sku(settings, "WS-000002", commerce, state, None)
        finally:
            state.close()
        assert apparel.selling_rule is not None and apparel.selling_rule.name == "apparel"
        assert apparel.selling_rule.why == "attribute set Walmart Apparel"
        assert apparel.price is not None and apparel.price.final_price == "30.00"
        assert "selling rule   apparel (attribute set Walmart Apparel): price_markup_fixed 2.50, " \
               "price_ceiling 30.00" in render(apparel)
        assert own.selling_rule is not None and own.selling_rule.why == "the product's selling-rule attribute"


def test_quantity_rules_and_a_rule_change_reaching_walmart_with_no_commerce_change(stack, tmp_path) -> None:
    with worker_pipeline(stack, tmp_path, "open_source", "inventory", 12, LISTED, selling=SELLING) as \
            (env, settings, emulator, _app, loop):
        with env.admin_connection(autocommit=True) as conn, conn.cursor() as cur:
            skus = ("WS-000004", "WS-000008", "WS-000005")
            cur.execute("DELETE FROM inventory_reservation WHERE sku IN (%s, %s, %s)", skus)  # a clean start
            for sku, qty in zip(skus, (30, 7, 9), strict=True):
                # the seed's stock 2 is sources wh_east and wh_west; source items as
                # Magento\\InventoryApi\\Api\\SourceItemsSaveInterface writes them
                for source, quantity, status in (("wh_east", qty, 1), ("wh_west", 0, 0)):
                    cur.execute("INSERT INTO inventory_source_item (source_code, sku, quantity, status) "
                                "VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), "
                                "status = VALUES(status)", (source, sku, quantity, status))
        node = settings.workers.ship_node or "default"

        def quantity(sku: str) -> int | None:
            return walmart(emulator)["inventory"].get(f"{sku}@{node}")

        # Walmart Apparel: (30 - 2) * 50% = 14, capped at 10; (7 - 2) * 50% = 2, below the minimum 3 -> 0
        # Default set: no quantity rule -> 9
        for sku, want in (("WS-000004", 10), ("WS-000008", 0), ("WS-000005", 9)):
            wait_for(lambda s=sku, w=want: quantity(s) == w, 30, f"{sku} at {want} on Walmart (is {quantity(sku)})")

        # The merchant lifts the cap and the minimum: the next start compares every SKU again
        loop.stop()
        changed = settings.model_copy(update={"selling": settings.selling.model_copy(update={"rules": {
            **settings.selling.rules,
            "apparel": settings.selling.rules["apparel"].model_copy(update={"quantity_max": None, "quantity_min": 0}),
        }})})
        restarted = build_worker("inventory", changed)
        thread = threading.Thread(target=restarted.run, daemon=True)
        thread.start()
        try:
            for sku, want in (("WS-000004", 14), ("WS-000008", 2), ("WS-000005", 9)):
                wait_for(lambda s=sku, w=want: quantity(s) == w, 60,
                         f"{sku} at {want} after the rule change (is {quantity(sku)})")
        finally:
            restarted.stop()
            thread.join(30)
