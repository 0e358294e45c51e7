"""Seeding: 10,000 products per edition, structure the sidecar resolves at run time."""

from __future__ import annotations

import pytest

from devstack.commerce_db import create_commerce_database
from devstack.seed import STAGING_MAX_VERSION, seed_commerce
from mappings.identifiers import normalize_identifier

PRODUCTS = 10_000


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def seeded(request, stack):
    edition = request.param
    name = f"seed_{edition}"
    create_commerce_database(stack.endpoints.mysql, name, edition)
    conn = stack.endpoints.mysql.connect(name, autocommit=False)
    summary = seed_commerce(conn, edition, PRODUCTS)
    conn.commit()
    yield edition, summary, conn
    conn.close()


def _one(conn, sql, *args):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def test_ten_thousand_products_with_stock_and_prices(seeded) -> None:
    edition, summary, conn = seeded
    assert summary.products == PRODUCTS and len(set(summary.skus)) == PRODUCTS
    print(f"{edition}: seeded {PRODUCTS} products in {summary.seconds:.2f}s")  # bench/ tracks speed
    assert _one(conn, "SELECT COUNT(DISTINCT entity_id) FROM catalog_product_entity")[0][0] == PRODUCTS
    assert _one(conn, "SELECT COUNT(DISTINCT sku) FROM inventory_source_item "
                      "WHERE source_code='default'")[0][0] == PRODUCTS
    assert _one(conn, "SELECT COUNT(*) FROM cataloginventory_stock_item")[0][0] == PRODUCTS
    # Every legacy stock item mirrors the default source, as MSI keeps it.
    assert _one(conn, "SELECT COUNT(*) FROM cataloginventory_stock_item s "
                      "JOIN catalog_product_entity p ON p.entity_id = s.product_id "
                      "JOIN inventory_source_item i ON i.sku = p.sku AND i.source_code='default' "
                      "WHERE s.qty <> i.quantity OR s.is_in_stock <> i.status")[0][0] == 0


def test_attributes_are_resolved_not_hard_coded(seeded) -> None:
    _edition, summary, conn = seeded
    rows = dict(_one(conn, "SELECT a.attribute_code, a.attribute_id FROM eav_attribute a JOIN "
                           "eav_entity_type t ON t.entity_type_id = a.entity_type_id "
                           "WHERE t.entity_type_code = 'catalog_product'"))
    assert rows == summary.attribute_ids
    assert rows["price"] != 77 and rows["special_price"] != 78  # Magento's usual ids
    assert _one(conn, "SELECT backend_type FROM eav_attribute WHERE attribute_id=%s",
                rows["special_from_date"])[0][0] == "datetime"


def test_identifiers_are_valid(seeded) -> None:
    _edition, summary, conn = seeded
    ids = summary.attribute_ids
    # Each product has its own code (Adobe Commerce repeats it on the product's version rows).
    for code, products in (("upc", PRODUCTS), ("ean", PRODUCTS // 3), ("gtin", PRODUCTS // 5)):
        values = [r[0] for r in _one(conn, "SELECT value FROM catalog_product_entity_varchar "
                                           "WHERE attribute_id=%s", ids[code])]
        assert values, code
        assert all(normalize_identifier(code, v) == v for v in values)
        assert len(set(values)) == products


def test_sources_stocks_and_channels(seeded) -> None:
    _edition, _summary, conn = seeded
    assert {r[0] for r in _one(conn, "SELECT source_code FROM inventory_source")} == {
        "default", "wh_east", "wh_west"}
    links = set(_one(conn, "SELECT stock_id, source_code FROM inventory_source_stock_link"))
    assert links == {(1, "default"), (2, "wh_east"), (2, "wh_west")}
    assert set(_one(conn, "SELECT code, stock_id FROM inventory_stock_sales_channel")) == {
        ("base", 1), ("walmart_us", 2)}
    assert _one(conn, "SELECT COUNT(*) FROM store WHERE store_id = 0")[0][0] == 1
    assert _one(conn, "SELECT COUNT(*) FROM sequence_order_2")[0][0] == 0


def test_edition_product_keys(seeded) -> None:
    edition, summary, conn = seeded
    price = summary.attribute_ids["price"]
    if edition == "open_source":
        assert _one(conn, "SELECT COUNT(*) FROM catalog_product_entity_decimal "
                          "WHERE attribute_id=%s", price)[0][0] == PRODUCTS
        return
    # Adobe Commerce: row ids are not entity ids; every 50th product has a scheduled version.
    assert _one(conn, "SELECT COUNT(*) FROM catalog_product_entity WHERE row_id = entity_id")[0][0] == 0
    versions = _one(conn, "SELECT entity_id, COUNT(*) FROM catalog_product_entity "
                          "GROUP BY entity_id HAVING COUNT(*) > 1")
    assert len(versions) == PRODUCTS // 50
    live = _one(conn, "SELECT COUNT(*) FROM catalog_product_entity WHERE created_in <= UNIX_TIMESTAMP() "
                      "AND updated_in > UNIX_TIMESTAMP()")[0][0]
    assert live == PRODUCTS
    prices = _one(conn, "SELECT p.created_in > UNIX_TIMESTAMP(), d.value FROM catalog_product_entity p "
                        "JOIN catalog_product_entity_decimal d ON d.row_id = p.row_id "
                        "AND d.attribute_id = %s WHERE p.entity_id = 50 ORDER BY p.created_in", price)
    (live_future, live_price), (future_flag, future_price) = prices
    assert (live_future, future_flag) == (0, 1) and future_price < live_price
    assert _one(conn, "SELECT MAX(updated_in) FROM catalog_product_entity")[0][0] == STAGING_MAX_VERSION


@pytest.mark.parametrize("edition", ["open_source", "adobe_commerce"])
def test_composites_bundles_over_seeded_products_and_a_configurable(stack, edition) -> None:
    from devstack.seed import CONFIGURABLE_SKU, composite_skus, configurable_children

    name = f"seed_comp_{edition}"
    create_commerce_database(stack.endpoints.mysql, name, edition)
    conn = stack.endpoints.mysql.connect(name, autocommit=False)
    try:
        summary = seed_commerce(conn, edition, 10, composites=True)
        assert summary.skus[-len(composite_skus()):] == composite_skus()
        link = "row_id" if edition == "adobe_commerce" else "entity_id"
        assert dict(_one(conn, "SELECT sku, type_id FROM catalog_product_entity WHERE type_id <> 'simple'")) == {
            "WS-BUNDLE-1": "bundle", "WS-BUNDLE-2": "bundle", CONFIGURABLE_SKU: "configurable"}
        selections = _one(conn, f"SELECT p.sku, c.sku, s.selection_qty FROM catalog_product_bundle_selection s "
                                f"JOIN catalog_product_entity p ON p.{link} = s.parent_product_id "
                                "JOIN catalog_product_entity c ON c.entity_id = s.product_id ORDER BY s.selection_id")
        assert [(p, c, int(q)) for p, c, q in selections][:3] == [
            ("WS-BUNDLE-1", "WS-000001", 1), ("WS-BUNDLE-1", "WS-000002", 1), ("WS-BUNDLE-1", "WS-000003", 2)]
        children = _one(conn, f"SELECT c.sku FROM catalog_product_super_link l JOIN catalog_product_entity p "
                              f"ON p.{link} = l.parent_id JOIN catalog_product_entity c ON c.entity_id = l.product_id "
                              "WHERE p.sku = %s ORDER BY c.sku", CONFIGURABLE_SKU)
        assert sorted(c for (c,) in children) == sorted(configurable_children())
    finally:
        conn.close()
