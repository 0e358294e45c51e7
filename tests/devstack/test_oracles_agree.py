"""The dev stack's oracles (devstack/oracles) and the sidecar's own readers give the same answers
on the seeded store of both editions, and where a plausible bug in the sidecar would give another
answer, the oracle (and so the agreement check built on it) tells them apart.

Cases where the production readers differ from Magento's rules today are strict xfails: they
document a reported bug, and fail loudly once it is fixed so the marker goes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest

from devstack.agreement import check_inventory_and_price
from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.oracles.msi import expected_walmart_quantity, salable_quantities
from devstack.oracles.prices import DEFAULT_TIMEZONE, final_prices
from devstack.oracles.refunds import CreditedItem, expected_cancelled, expected_order_refund, returns_over_credited
from devstack.walmart_emulator.app import WalmartEmulator
from mappings.inventory import walmart_quantity
from mappings.price import effective_price
from mappings.refunds import CreditedItem as ProductionCredited
from mappings.refunds import WalmartLine, plan_refund
from sync_workers.commerce.prices import PriceReader
from sync_workers.commerce.salable import read_positions

PRODUCTS = 60
STORE = ZoneInfo(DEFAULT_TIMEZONE)  # the seed sets no general/locale/timezone


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def seeded(request, stack, tmp_path_factory) -> CommerceEnvironment:
    return prepare_environment(stack.endpoints, tmp_path_factory.mktemp("oracles"), request.param,
                               products=PRODUCTS, name=f"or_{uuid.uuid4().hex[:6]}")


def _link(env: CommerceEnvironment) -> tuple[str, str]:
    if env.edition == "adobe_commerce":
        return "row_id", " AND created_in <= UNIX_TIMESTAMP() AND updated_in > UNIX_TIMESTAMP()"
    return "entity_id", ""


def set_value(cur, env: CommerceEnvironment, table: str, code: str, sku: str, value, store_id: int = 0) -> None:
    link, live = _link(env)
    cur.execute(f"INSERT INTO catalog_product_entity_{table} (attribute_id, store_id, {link}, value) "
                f"SELECT %s, %s, {link}, %s FROM catalog_product_entity WHERE sku = %s{live} "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)",
                (env.seed.attribute_ids[code], store_id, value, sku))


def set_source(cur, sku: str, source: str, quantity: float, status: int) -> None:
    cur.execute("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = VALUES(status)",
                (source, sku, quantity, status))


def reserve(cur, stock_id: int, sku: str, quantity: float, event: str = "order_placed") -> None:
    cur.execute("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES (%s, %s, %s, %s)",
                (stock_id, sku, quantity, f'{{"event_type":"{event}","object_type":"order","object_id":""}}'))


def production_quantities(conn, skus: list[str], stock_id: int, msi: bool, buffer: int) -> dict[str, int]:
    positions = read_positions(conn, skus, stock_id, msi, store_id=1, website_id=1)
    return {sku: walmart_quantity(positions[sku], buffer) for sku in skus}


def oracle_quantities(conn, skus: list[str], stock_id: int, msi: bool, buffer: int) -> dict[str, int]:
    """For store view 1 on website 1: its config scope, and whether it sells the product at all."""
    found = salable_quantities(conn, skus, stock_id, msi, store_id=1, website_id=1)
    return {sku: expected_walmart_quantity(found[sku], buffer) for sku in skus}


# the seeded store ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("stock_id", "msi"), [(2, True), (1, True), (1, False)])
@pytest.mark.parametrize("buffer", [0, 3])
def test_salable_quantity_agrees_on_the_seeded_store(seeded, stock_id: int, msi: bool, buffer: int) -> None:
    skus = seeded.seed.skus
    with seeded.admin_connection() as conn:
        oracle = oracle_quantities(conn, skus, stock_id, msi, buffer)
        assert oracle == production_quantities(conn, skus, stock_id, msi, buffer)
    assert len({q for q in oracle.values()}) > 5  # a real spread of quantities, not all 0


@pytest.mark.parametrize("store_id", [0, 1, 2])
def test_final_price_agrees_on_the_seeded_store(seeded, store_id: int) -> None:
    skus = seeded.seed.skus
    with seeded.admin_connection() as conn:
        oracle = final_prices(conn, skus, store_id)
        reader = PriceReader(conn, store_id)
        records, now = reader.read(skus), reader.wall_clock()
    production = {sku: effective_price(records[sku], now) for sku in skus}
    assert oracle == {sku: None if p is None else p.quantize(Decimal("0.01"), ROUND_HALF_UP)
                      for sku, p in production.items()}
    specials = [sku for n, sku in enumerate(skus, start=1) if n % 10 == 0]
    assert all(oracle[sku] < Decimal(str(records[sku].price)) for sku in specials)  # the seed's open specials


# constructed cases: what a plausible bug would get wrong -------------------------------------------

def _walmart_showing(sku: str, quantity: int, price: Decimal | None) -> WalmartEmulator:
    app = WalmartEmulator()
    app.seed_items("local-client", [sku])
    seller = app.seller("local-client")
    seller.inventory[(sku, "default")] = quantity
    if price is not None:
        seller.prices[sku] = {"currentPriceType": "BASE", "currentPrice": {"currency": "USD", "amount": float(price)}}
    return app


def test_stock_counts_only_in_stock_items_at_enabled_linked_sources_plus_reservations(seeded) -> None:
    """Walmart stock 2 = wh_east + wh_west. Of 8 + 30 + 50 + 70 units only wh_west's 8 count; its
    reservations net -2; the item's own threshold is 2: Magento sells 4, Walmart shows 4 - buffer 1."""
    sku = "WS-000011"
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("INSERT IGNORE INTO inventory_source (source_code, name, enabled, country_id, postcode) "
                    "VALUES ('wh_closed', 'Closed Warehouse', 0, 'US', '10001')")
        cur.execute("INSERT IGNORE INTO inventory_source_stock_link (stock_id, source_code, priority) "
                    "VALUES (2, 'wh_closed', 3)")
        set_source(cur, sku, "wh_west", 8, 1)
        set_source(cur, sku, "wh_east", 30, 0)     # out of stock: counts 0
        set_source(cur, sku, "wh_closed", 50, 1)   # disabled source
        set_source(cur, sku, "default", 70, 1)     # not linked to stock 2
        reserve(cur, 2, sku, -3)
        reserve(cur, 2, sku, 1, "order_canceled")
        reserve(cur, 1, sku, -5)                   # another stock's
        cur.execute("UPDATE cataloginventory_stock_item SET use_config_min_qty = 0, min_qty = 2 WHERE product_id = "
                    "(SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s)", (sku,))
        found = salable_quantities(conn, [sku], 2)[sku]
        assert found.quantity == Decimal(4)
        assert oracle_quantities(conn, [sku], 2, True, 1) == production_quantities(conn, [sku], 2, True, 1) == {sku: 3}

        settings = seeded.settings(mapping={"inventory_safety_buffer": 1})
        assert settings.mapping.stock_id == 2 and settings.mapping.store_id == 2
        price = final_prices(conn, [sku], 2)[sku]
        right = check_inventory_and_price(settings, _walmart_showing(sku, 3, price), "local-client", conn, [sku])
        assert all(c.ok for c in right), [c.describe() for c in right]
        # what a worker would have pushed had it got one of Magento's rules wrong
        mistakes = {"counted the disabled source": 3 + 50, "ignored the reservations": 3 + 2,
                    "counted the out-of-stock item": 3 + 30, "counted the unlinked source": 3 + 70,
                    "ignored the item's threshold": 3 + 2, "added another stock's reservation": 0}
        for wrong in mistakes.values():
            inventory, _price = check_inventory_and_price(settings, _walmart_showing(sku, wrong, price),
                                                          "local-client", conn, [sku])
            assert inventory.lost == [f"{sku}: Walmart {wrong}, Commerce 3"]


def test_an_expired_special_price_no_longer_counts_and_a_store_value_wins(seeded) -> None:
    sku = "WS-000013"
    today = datetime.now(STORE).replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        # a store-view special price counts only with the price scope per website (catalog/price/scope = 1;
        # global, Magento's default, makes price attributes global: SwitchPriceAttributeScopeOnConfigChange)
        cur.execute("INSERT INTO core_config_data (scope, scope_id, path, value) VALUES ('default', 0, "
                    "'catalog/price/scope', '1') ON DUPLICATE KEY UPDATE value = VALUES(value)")
        set_value(cur, seeded, "decimal", "price", sku, 50)
        set_value(cur, seeded, "decimal", "special_price", sku, 40)
        set_value(cur, seeded, "datetime", "special_from_date", sku, today - timedelta(days=9))
        set_value(cur, seeded, "datetime", "special_to_date", sku, today - timedelta(days=2))
        set_value(cur, seeded, "decimal", "special_price", sku, 30, store_id=2)
        set_value(cur, seeded, "datetime", "special_to_date", sku, today + timedelta(days=2), store_id=2)
        assert final_prices(conn, [sku], 1)[sku] == Decimal("50.00")   # the default special ended
        assert final_prices(conn, [sku], 2)[sku] == Decimal("30.00")   # the store's own window is open
        for store_id in (1, 2):
            reader = PriceReader(conn, store_id)
            assert effective_price(reader.read([sku])[sku], reader.wall_clock()) == final_prices(conn, [sku], store_id)[sku]

        settings = seeded.settings()
        quantity = oracle_quantities(conn, [sku], 2, True, 0)[sku]
        assert all(c.ok for c in check_inventory_and_price(settings, _walmart_showing(sku, quantity, Decimal(30)),
                                                           "local-client", conn, [sku]))
        _inventory, price = check_inventory_and_price(settings, _walmart_showing(sku, quantity, Decimal(40)),
                                                      "local-client", conn, [sku])
        assert price.lost == [f"{sku}: Walmart 40.0, Commerce 30.00"]  # a worker that ignored the to-date
        cur.execute("DELETE FROM core_config_data WHERE path = 'catalog/price/scope'")
        # global scope: the store's special_price row is not read (store 0's 40 is), but its special_to_date
        # still is (the dates are not price attributes, their scope does not switch): 40 runs to today + 2
        assert final_prices(conn, [sku], 2)[sku] == Decimal("40.00")
        reader = PriceReader(conn, 2)
        assert effective_price(reader.read([sku])[sku], reader.wall_clock()) == Decimal("40.00")


def test_a_special_price_runs_through_its_last_day_in_the_store_timezone(seeded) -> None:
    """special_to_date 2031-01-01 runs through that day in the store's timezone (Los Angeles):
    at 2031-01-02 03:00 UTC it is 19:00 on the 1st there."""
    sku = "WS-000017"
    at = datetime(2031, 1, 2, 3, 0, tzinfo=UTC)
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        set_value(cur, seeded, "decimal", "price", sku, 50)
        set_value(cur, seeded, "decimal", "special_price", sku, 30)
        set_value(cur, seeded, "datetime", "special_to_date", sku, datetime(2031, 1, 1))
        assert final_prices(conn, [sku], 2, at=at)[sku] == Decimal("30.00")
        assert final_prices(conn, [sku], 2, at=at + timedelta(hours=6))[sku] == Decimal("50.00")  # 01:00 on the 2nd


def test_production_ends_the_special_price_in_the_store_timezone(seeded) -> None:
    """``Magento\\Catalog\\Model\\Product\\Type\\Price::calculateSpecialPrice`` asks
    ``Magento\\Framework\\Stdlib\\DateTime\\Timezone::isScopeDateInInterval`` for the product's store:
    the dates are compared with the store's wall clock (``scopeTimeStamp``, general/locale/timezone),
    not the host's. At 03:00 UTC on the 2nd it is still the 1st in Los Angeles: the special holds.
    The reader told the store is on UTC (what the host clock used to stand for) ends it."""
    sku = "WS-000017"
    at = datetime(2031, 1, 2, 3, 0, tzinfo=UTC)
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        set_value(cur, seeded, "decimal", "price", sku, 50)
        set_value(cur, seeded, "decimal", "special_price", sku, 30)
        set_value(cur, seeded, "datetime", "special_to_date", sku, datetime(2031, 1, 1))
        reader = PriceReader(conn, 2)
        record = reader.read([sku])[sku]
        for instant, expected in ((at, Decimal(30)), (at + timedelta(hours=6), Decimal(50))):
            assert effective_price(record, reader.wall_clock(instant)) == final_prices(conn, [sku], 2, at=instant)[sku] \
                == expected
        as_if_utc = PriceReader(conn, 2, timezone="UTC")
        assert effective_price(record, as_if_utc.wall_clock(at)) == Decimal(50)  # the host-clock bug, on a UTC host


def test_a_default_scope_timezone_moves_the_window_for_oracle_and_production_alike(seeded) -> None:
    """A store whose general/locale/timezone (core_config_data, default scope) is Tokyo: at 16:00 UTC
    on the 1st it is already the 2nd there, the special that ran through the 1st has ended."""
    sku = "WS-000017"
    at = datetime(2031, 1, 1, 16, 0, tzinfo=UTC)
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        set_value(cur, seeded, "decimal", "price", sku, 50)
        set_value(cur, seeded, "decimal", "special_price", sku, 30)
        set_value(cur, seeded, "datetime", "special_to_date", sku, datetime(2031, 1, 1))
        reader = PriceReader(conn, 2)
        record = reader.read([sku])[sku]
        assert effective_price(record, reader.wall_clock(at)) == final_prices(conn, [sku], 2, at=at)[sku] == 30
        cur.execute("INSERT INTO core_config_data (scope, scope_id, path, value) "
                    "VALUES ('default', 0, 'general/locale/timezone', 'Asia/Tokyo')")
        try:
            assert effective_price(record, reader.wall_clock(at)) == final_prices(conn, [sku], 2, at=at)[sku] == 50
        finally:
            cur.execute("DELETE FROM core_config_data WHERE path = 'general/locale/timezone'")


def _disable_a_stocked_product(cur, env: CommerceEnvironment, sku: str) -> None:
    set_source(cur, sku, "default", 25, 1)
    cur.execute("UPDATE cataloginventory_stock_item SET qty = 25, is_in_stock = 1 WHERE product_id = "
                "(SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s)", (sku,))
    set_value(cur, env, "int", "status", sku, 2)  # Magento's "disabled"


@pytest.mark.parametrize("msi", [True, False])
def test_a_disabled_product_has_no_salable_quantity_on_the_default_stock(seeded, msi: bool) -> None:
    sku = "WS-000019"
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        set_value(cur, seeded, "int", "status", sku, 1)
        set_source(cur, sku, "default", 25, 1)
        cur.execute("UPDATE cataloginventory_stock_item SET qty = 25, is_in_stock = 1 WHERE product_id = "
                    "(SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s)", (sku,))
        assert oracle_quantities(conn, [sku], 1, msi, 0) == {sku: 25}
        _disable_a_stocked_product(cur, seeded, sku)
        assert oracle_quantities(conn, [sku], 1, msi, 0) == {sku: 0}
        # stocks other than the default index source items whatever the product's status, but the store
        # view sells only an enabled product (AbstractType::isSalable): 0 there too
        assert oracle_quantities(conn, [sku], 2, True, 0) == production_quantities(conn, [sku], 2, True, 0) \
            == {sku: 0}


@pytest.mark.parametrize("msi", [True, False])
def test_production_sells_no_disabled_product_on_the_default_stock(seeded, msi: bool) -> None:
    """Magento\\CatalogInventory\\Model\\ResourceModel\\Indexer\\Stock\\DefaultStock::_getStockStatusSelect
    inner-joins the status attribute at value 1, so a disabled product has no stock status row, and
    GetProductSalableQty gives 0 on the default stock (and Magento without MSI sells it nowhere)."""
    sku = "WS-000019"
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        _disable_a_stocked_product(cur, seeded, sku)
        assert production_quantities(conn, [sku], 1, msi, 0) == oracle_quantities(conn, [sku], 1, msi, 0) == {sku: 0}
        set_value(cur, seeded, "int", "status", sku, 1)  # enabled again: the same stock sells
        assert production_quantities(conn, [sku], 1, msi, 0) == {sku: 25}


def _drop_the_legacy_stock_item(cur, sku: str) -> None:
    set_source(cur, sku, "wh_east", 12, 1)
    cur.execute("DELETE FROM cataloginventory_stock_item WHERE product_id = "
                "(SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s)", (sku,))


def test_without_a_legacy_stock_item_nothing_is_salable(seeded) -> None:
    """MSI's stock index LEFT JOINs the legacy stock item: every salable condition is then NULL."""
    sku = "WS-000023"
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        _drop_the_legacy_stock_item(cur, sku)
        assert salable_quantities(conn, [sku], 2)[sku].quantity == Decimal(0)


def test_production_sells_nothing_without_a_legacy_stock_item(seeded) -> None:
    """Magento\\InventoryIndexer\\Indexer\\SelectBuilder LEFT JOINs cataloginventory_stock_item and every
    IsStockItemSalableCondition reads its columns: without one the row is not salable, so
    Magento\\InventorySales\\Model\\GetProductSalableQty gives 0 although wh_east holds 12."""
    sku = "WS-000023"
    with seeded.admin_connection() as conn, conn.cursor() as cur:
        _drop_the_legacy_stock_item(cur, sku)
        assert salable_quantities(conn, [sku], 2)[sku].available >= 12  # in stock at a linked, enabled source
        assert production_quantities(conn, [sku], 2, True, 0) == oracle_quantities(conn, [sku], 2, True, 0) == {sku: 0}


# refunds: the oracle's arithmetic and the refund planner agree -------------------------------------

@pytest.mark.parametrize(("shipped", "canceled", "refunded", "amount", "returned", "cancelled", "order_refund"), [
    (3, 0, 0, "0", 0, 0, "0.00"),          # nothing credited
    (2, 0, 3, "30.00", 0, 1, "20.00"),     # one unit never shipped: a cancellation, two refunded
    (2, 0, 2, "19.98", 1, 0, "9.99"),      # one of two through a Walmart return
    (0, 1, 2, "20.00", 0, 3, "0.00"),      # refunded before shipping: all cancelled
])
def test_refund_expectations(shipped, canceled, refunded, amount, returned, cancelled, order_refund) -> None:
    item = CreditedItem(shipped, canceled, refunded, Decimal(amount))
    assert expected_cancelled(item) == cancelled
    assert expected_order_refund(item, returned) == Decimal(order_refund)
    assert returns_over_credited(item, returned) == 0
    # the production planner, with the returned units routed away, asks Walmart for the same
    share = (refunded - returned, float(Decimal(amount) * (refunded - returned) / refunded) if refunded else 0.0)
    plan = plan_refund([ProductionCredited("1", shipped - returned, canceled, share[0], share[1], 0.0)],
                       {"1": WalmartLine("1", 3, shipped, 0, 3 - shipped, 0.0, 0.0, 0.0, 0.0)}, 0.0)
    planned = sum(r.product for r in plan.refunds)
    assert round(planned, 2) == float(order_refund)


def test_a_return_refunded_beyond_the_credited_units_is_flagged() -> None:
    item = CreditedItem(shipped=2, canceled=0, refunded_qty=1, refunded_amount=Decimal("10.00"))
    assert returns_over_credited(item, 2) == 1 and expected_order_refund(item, 2) == Decimal("0.00")
