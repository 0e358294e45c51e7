"""Seed a Commerce database the way a real store looks to the sidecar.

Stores and websites, the catalog_product EAV type and attributes, three sources, two stocks with
links and website sales channels, sales sequences and order statuses, and N products with source
items, legacy stock, prices (some on special price), and valid UPC/EAN/GTIN identifiers.
Attribute ids deliberately do not start at Magento's usual numbers, so code that hard-codes them
fails here. On Adobe Commerce, product rows are versions: row_id differs from entity_id and
some products carry a scheduled future version with another price.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pymysql

from devstack.commerce_db import create_sequence_tables
from devstack.commerce_schema.variants import SEQUENCE_ENTITIES, Edition
from devstack.oracles.identifiers import with_gs1_check_digit

ROW_ID_OFFSET = 100_000  # Adobe Commerce: row ids live in another range than entity ids
STAGING_MAX_VERSION = 2_147_483_647
FIRST_ATTRIBUTE_ID = 131  # anything but Magento's usual 73..., so nobody can hard-code ids
BATCH_ROWS = 2_000

WEBSITES = [(0, "admin", "Admin", 0, 0, 0), (1, "base", "Main Website", 0, 1, 1),
            (2, "walmart_us", "Walmart Channel", 0, 2, 0)]
STORE_GROUPS = [(0, 0, "Default", 0, 0, "default"), (1, 1, "Main Website Store", 2, 1,
                "main_website_store"), (2, 2, "Walmart Store", 2, 2, "walmart_store")]
STORES = [(0, "admin", 0, 0, "Admin", 0, 1), (1, "default", 1, 1, "Default Store View", 0, 1),
          (2, "walmart_us", 2, 2, "Walmart Store View", 0, 1)]
SOURCES = [("default", "Default Source", 1, "US", "78701"),
           ("wh_east", "East Warehouse", 1, "US", "07001"),
           ("wh_west", "West Warehouse", 1, "US", "90001")]
STOCKS = [(1, "Default Stock"), (2, "Walmart Stock")]
STOCK_LINKS = [(1, "default", 1), (2, "wh_east", 1), (2, "wh_west", 2)]
SALES_CHANNELS = [("website", "base", 1), ("website", "walmart_us", 2)]
ORDER_STATUSES = [("pending", "Pending", "new"), ("processing", "Processing", "processing"),
                  ("complete", "Complete", "complete"), ("closed", "Closed", "closed"),
                  ("canceled", "Canceled", "canceled"), ("holded", "On Hold", "holded"),
                  ("payment_review", "Payment Review", "payment_review"),
                  ("pending_payment", "Pending Payment", "pending_payment"),
                  ("fraud", "Suspected Fraud", "processing")]

# (code, backend_type, frontend_input, label, is_user_defined, is_global)
PRODUCT_ATTRIBUTES = [
    ("name", "varchar", "text", "Product Name", 0, 0),
    ("status", "int", "select", "Enable Product", 0, 2),
    ("visibility", "int", "select", "Visibility", 0, 0),
    ("price", "decimal", "price", "Price", 0, 2),
    ("special_price", "decimal", "price", "Special Price", 0, 2),
    ("special_from_date", "datetime", "date", "Special Price From Date", 0, 2),
    ("special_to_date", "datetime", "date", "Special Price To Date", 0, 2),
    ("cost", "decimal", "price", "Cost", 0, 2),
    ("weight", "decimal", "weight", "Weight", 0, 1),
    ("upc", "varchar", "text", "UPC", 1, 1),
    ("gtin", "varchar", "text", "GTIN", 1, 1),
    ("ean", "varchar", "text", "EAN", 1, 1),
    ("isbn", "varchar", "text", "ISBN", 1, 1),
]
RMA_ITEM_OPTIONS = {
    "reason": ["Wrong Size", "Damaged", "Not as Described", "Other"],
    "condition": ["Unopened", "Opened", "Damaged"],
    "resolution": ["Exchange", "Refund", "Store Credit"],
}


@dataclass
class SeedSummary:
    edition: Edition
    products: int
    skus: list[str] = field(repr=False)
    attribute_ids: dict[str, int]
    attribute_set_ids: dict[str, int]
    seconds: float
    rows: dict[str, int]


def _insert(cur: Any, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
    """Multi-row INSERT in batches; PyMySQL folds executemany into one statement per batch."""
    rows = list(rows)
    if not rows:
        return 0
    sql = (
        f"INSERT INTO `{table}` ({', '.join(f'`{c}`' for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    for start in range(0, len(rows), BATCH_ROWS):
        cur.executemany(sql, rows[start:start + BATCH_ROWS])
    return len(rows)


def sku_for(index: int) -> str:
    return f"WS-{index:06d}"


def identifiers_for(index: int) -> dict[str, str]:
    """Deterministic, unique, check-digit-valid ids: every product a UPC, some an EAN/GTIN."""
    ids = {"upc": with_gs1_check_digit(f"81{index:09d}")}
    if index % 3 == 0:
        ids["ean"] = with_gs1_check_digit(f"50{index:010d}")
    if index % 5 == 0:
        ids["gtin"] = with_gs1_check_digit(f"10{index:011d}")
    return ids


def _seed_structure(cur: Any, edition: Edition, rows: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    rows["store_website"] = _insert(cur, "store_website", ["website_id", "code", "name", "sort_order",
                                    "default_group_id", "is_default"], WEBSITES)
    rows["store_group"] = _insert(cur, "store_group", ["group_id", "website_id", "name",
                                  "root_category_id", "default_store_id", "code"], STORE_GROUPS)
    rows["store"] = _insert(cur, "store", ["store_id", "code", "website_id", "group_id", "name",
                            "sort_order", "is_active"], STORES)

    cur.execute(
        "INSERT INTO eav_entity_type (entity_type_code, entity_model, attribute_model, entity_table,"
        " increment_model, increment_per_store, default_attribute_set_id) VALUES"
        " ('customer', 'Magento\\\\Customer\\\\Model\\\\ResourceModel\\\\Customer', NULL,"
        "  'customer_entity', NULL, 0, 1),"
        " ('catalog_category', 'Magento\\\\Catalog\\\\Model\\\\ResourceModel\\\\Category', NULL,"
        "  'catalog_category_entity', NULL, 0, 3),"
        " ('catalog_product', 'Magento\\\\Catalog\\\\Model\\\\ResourceModel\\\\Product',"
        "  'Magento\\\\Catalog\\\\Model\\\\ResourceModel\\\\Eav\\\\Attribute',"
        "  'catalog_product_entity', NULL, 0, 0)"
    )
    cur.execute("SELECT entity_type_id FROM eav_entity_type WHERE entity_type_code='catalog_product'")
    product_type_id = cur.fetchone()[0]
    _insert(cur, "eav_attribute_set", ["entity_type_id", "attribute_set_name", "sort_order"],
            [(product_type_id, "Default", 1), (product_type_id, "Walmart Apparel", 2)])
    cur.execute("SELECT attribute_set_name, attribute_set_id FROM eav_attribute_set "
                "WHERE entity_type_id=%s", (product_type_id,))
    set_ids = dict(cur.fetchall())
    cur.execute("UPDATE eav_entity_type SET default_attribute_set_id=%s WHERE entity_type_id=%s",
                (set_ids["Default"], product_type_id))

    cur.execute(f"ALTER TABLE eav_attribute AUTO_INCREMENT={FIRST_ATTRIBUTE_ID}")
    _insert(cur, "eav_attribute", ["entity_type_id", "attribute_code", "backend_type",
            "frontend_input", "frontend_label", "is_user_defined", "is_required"],
            [(product_type_id, code, backend, fin, label, user, 0)
             for code, backend, fin, label, user, _g in PRODUCT_ATTRIBUTES])
    cur.execute("SELECT attribute_code, attribute_id FROM eav_attribute WHERE entity_type_id=%s",
                (product_type_id,))
    attribute_ids = dict(cur.fetchall())
    _insert(cur, "catalog_eav_attribute", ["attribute_id", "is_global"],
            [(attribute_ids[code], scope) for code, *_r, scope in PRODUCT_ATTRIBUTES])
    rows["eav_attribute"] = len(attribute_ids)

    if edition == "adobe_commerce":
        cur.execute(
            "INSERT INTO eav_entity_type (entity_type_code, entity_model, entity_table,"
            " increment_model, increment_per_store) VALUES ('rma_item',"
            " 'Magento\\\\Rma\\\\Model\\\\ResourceModel\\\\Item', 'magento_rma_item_entity',"
            " 'Magento\\\\Eav\\\\Model\\\\Entity\\\\Increment\\\\NumericValue', 1)"
        )
        rma_type_id = cur.lastrowid
        for code, labels in RMA_ITEM_OPTIONS.items():
            cur.execute(
                "INSERT INTO eav_attribute (entity_type_id, attribute_code, backend_type,"
                " frontend_input, frontend_label, is_user_defined, is_required)"
                " VALUES (%s, %s, 'int', 'select', %s, 0, 1)",
                (rma_type_id, code, code.title()),
            )
            attribute_id = cur.lastrowid
            for position, label in enumerate(labels):
                cur.execute("INSERT INTO eav_attribute_option (attribute_id, sort_order) "
                            "VALUES (%s, %s)", (attribute_id, position))
                cur.execute("INSERT INTO eav_attribute_option_value (option_id, store_id, value) "
                            "VALUES (%s, 0, %s)", (cur.lastrowid, label))

    _insert(cur, "cataloginventory_stock", ["stock_id", "website_id", "stock_name"], [(1, 0, "Default")])
    rows["inventory_source"] = _insert(cur, "inventory_source", ["source_code", "name", "enabled",
                                       "country_id", "postcode"], SOURCES)
    rows["inventory_stock"] = _insert(cur, "inventory_stock", ["stock_id", "name"], STOCKS)
    _insert(cur, "inventory_source_stock_link", ["stock_id", "source_code", "priority"], STOCK_LINKS)
    _insert(cur, "inventory_stock_sales_channel", ["type", "code", "stock_id"], SALES_CHANNELS)

    _insert(cur, "sales_order_status", ["status", "label"], [(s, label) for s, label, _st in ORDER_STATUSES])
    _insert(cur, "sales_order_status_state", ["status", "state", "is_default", "visible_on_front"],
            [(s, state, int(s == state or (s, state) == ("pending", "new")), 1)
             for s, _l, state in ORDER_STATUSES])

    entities = SEQUENCE_ENTITIES[edition]
    for store_id, *_rest in STORES:
        if store_id not in (0, 1):  # 0 and 1 come with the schema, like a fresh install
            create_sequence_tables(cur.connection, store_id, entities)
        for entity in entities:
            cur.execute("INSERT INTO sales_sequence_meta (entity_type, store_id, sequence_table) "
                        "VALUES (%s, %s, %s)", (entity, store_id, f"sequence_{entity}_{store_id}"))
            prefix = "" if store_id in (0, 1) else str(store_id)
            cur.execute("INSERT INTO sales_sequence_profile (meta_id, prefix, suffix, start_value,"
                        " step, max_value, warning_value, is_active) VALUES"
                        " (%s, %s, '', 1, 1, 4294967295, 4294966295, 1)", (cur.lastrowid, prefix))
    return attribute_ids, set_ids


def _seed_products(cur: Any, edition: Edition, count: int, attribute_ids: dict[str, int],
                   set_ids: dict[str, int], rng: random.Random, rows: dict[str, int]) -> list[str]:
    staged = edition == "adobe_commerce"
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    skus = [sku_for(i) for i in range(1, count + 1)]
    entity_ids = list(range(1, count + 1))
    set_for = [set_ids["Walmart Apparel"] if i % 4 == 0 else set_ids["Default"] for i in entity_ids]

    if staged:
        _insert(cur, "sequence_product", ["sequence_value"], [(e,) for e in entity_ids])
        future_version = int(time.time()) + 7 * 86_400  # staging update ids are start timestamps
        live_rows = [(ROW_ID_OFFSET + e, e, set_for[e - 1], "simple", skus[e - 1], 1,
                      future_version if e % 50 == 0 else STAGING_MAX_VERSION) for e in entity_ids]
        _insert(cur, "catalog_product_entity", ["row_id", "entity_id", "attribute_set_id", "type_id",
                "sku", "created_in", "updated_in"], live_rows)
        future_rows = [(ROW_ID_OFFSET * 2 + e, e, set_for[e - 1], "simple", skus[e - 1],
                        future_version, STAGING_MAX_VERSION) for e in entity_ids if e % 50 == 0]
        _insert(cur, "catalog_product_entity", ["row_id", "entity_id", "attribute_set_id", "type_id",
                "sku", "created_in", "updated_in"], future_rows)
        versions = [(ROW_ID_OFFSET + e, e, False) for e in entity_ids] + \
                   [(r[0], r[1], True) for r in future_rows]
        link = "row_id"
    else:
        _insert(cur, "catalog_product_entity", ["entity_id", "attribute_set_id", "type_id", "sku"],
                [(e, set_for[e - 1], "simple", skus[e - 1]) for e in entity_ids])
        versions = [(e, e, False) for e in entity_ids]
        link = "entity_id"
    rows["catalog_product_entity"] = len(versions)

    decimals, varchars, ints, datetimes = [], [], [], []
    prices = {e: round(rng.uniform(5, 500), 2) for e in entity_ids}
    for key, entity_id, is_future in versions:
        price = prices[entity_id] * (0.9 if is_future else 1.0)
        decimals.append((attribute_ids["price"], 0, key, round(price, 2)))
        decimals.append((attribute_ids["weight"], 0, key, round(rng.uniform(0.1, 20), 4)))
        varchars.append((attribute_ids["name"], 0, key, f"Seeded product {entity_id}"))
        ints.append((attribute_ids["status"], 0, key, 1))
        ints.append((attribute_ids["visibility"], 0, key, 4))
        for kind, code in identifiers_for(entity_id).items():
            varchars.append((attribute_ids[kind], 0, key, code))
        if entity_id % 10 == 0:  # a special price window around now
            decimals.append((attribute_ids["special_price"], 0, key, round(price * 0.8, 2)))
            datetimes.append((attribute_ids["special_from_date"], 0, key, now - timedelta(days=1)))
            datetimes.append((attribute_ids["special_to_date"], 0, key, now + timedelta(days=30)))
    value_columns = ["attribute_id", "store_id", link, "value"]
    rows["catalog_product_entity_decimal"] = _insert(cur, "catalog_product_entity_decimal", value_columns, decimals)
    rows["catalog_product_entity_varchar"] = _insert(cur, "catalog_product_entity_varchar", value_columns, varchars)
    rows["catalog_product_entity_int"] = _insert(cur, "catalog_product_entity_int", value_columns, ints)
    rows["catalog_product_entity_datetime"] = _insert(cur, "catalog_product_entity_datetime", value_columns, datetimes)
    _insert(cur, "catalog_product_website", ["product_id", "website_id"],
            [(e, w) for e in entity_ids for w in (1, 2)])

    source_items, legacy_items, legacy_status = [], [], []
    for entity_id, sku in zip(entity_ids, skus):
        default_qty = rng.randint(0, 100)
        source_items.append(("default", sku, default_qty, int(default_qty > 0)))
        for source in ("wh_east", "wh_west"):
            if rng.random() < 0.8:
                qty = rng.randint(0, 250)
                source_items.append((source, sku, qty, int(qty > 0)))
        legacy_items.append((entity_id, 1, default_qty, 0, int(default_qty > 0), 0))
        legacy_status.append((entity_id, 0, 1, default_qty, int(default_qty > 0)))
    rows["inventory_source_item"] = _insert(cur, "inventory_source_item",
                                            ["source_code", "sku", "quantity", "status"], source_items)
    rows["cataloginventory_stock_item"] = _insert(
        cur, "cataloginventory_stock_item",
        ["product_id", "stock_id", "qty", "min_qty", "is_in_stock", "website_id"], legacy_items)
    _insert(cur, "cataloginventory_stock_status",
            ["product_id", "website_id", "stock_id", "qty", "stock_status"], legacy_status)
    return skus


def seed_commerce(
    conn: pymysql.Connection, edition: Edition = "open_source", products: int = 100, rng_seed: int = 7,
    composites: bool = False,
) -> SeedSummary:
    """Fill an empty Commerce database (from ``create_commerce_database``) in one transaction;
    ``composites``: then add the bundles and the configurable of ``seed_composites`` (in a second
    one), which the summary's SKUs include."""
    if products < 0:
        raise ValueError("products must be >= 0")
    started = time.perf_counter()
    rng = random.Random(rng_seed)
    rows: dict[str, int] = {}
    with conn.cursor() as cur:
        cur.execute("SET SESSION sql_mode = CONCAT(@@sql_mode, ',NO_AUTO_VALUE_ON_ZERO')")
        cur.execute("SET SESSION foreign_key_checks = 1")
        conn.begin()
        try:
            attribute_ids, set_ids = _seed_structure(cur, edition, rows)
            skus = _seed_products(cur, edition, products, attribute_ids, set_ids, rng, rows)
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    if composites:
        added = seed_composites(conn, edition)
        skus = skus + list(added)
        rows["composites"] = len(added)
    return SeedSummary(edition, products, skus, attribute_ids, set_ids,
                       time.perf_counter() - started, rows)


# Bundles and a configurable (seed_composites) -------------------------------------------------

@dataclass(frozen=True)
class SeededBundle:
    sku: str
    # (required, [(component SKU, selection_qty, can_change_qty)]) per option, in position order
    options: tuple[tuple[bool, tuple[tuple[str, int, bool], ...]], ...]


# WS-BUNDLE-1: two required options and an optional one; WS-BUNDLE-2: optional options only.
SEEDED_BUNDLES = (
    SeededBundle("WS-BUNDLE-1", ((True, (("WS-000001", 1, False), ("WS-000002", 1, False))),
                                 (True, (("WS-000003", 2, False),)),
                                 (False, (("WS-000004", 1, False),)))),
    SeededBundle("WS-BUNDLE-2", ((False, (("WS-000006", 1, False),)),
                                 (False, (("WS-000007", 3, False),)))),
)
CONFIGURABLE_SKU = "WS-CONF-1"
CONFIGURABLE_SIZES = ("S", "M", "L")
VARIANT_GROUP_ID = "WSCONF1GROUP"


def configurable_children() -> list[str]:
    return [f"{CONFIGURABLE_SKU}-{size}" for size in CONFIGURABLE_SIZES]


def composite_identifier(position: int) -> str:
    """UPCs of the composites' own products (bundles, the configurable's children), apart from
    ``identifiers_for``'s range."""
    return with_gs1_check_digit(f"82{position:09d}")


def composite_skus() -> list[str]:
    """Every SKU ``seed_composites`` adds, in the order their identifiers are numbered."""
    return [b.sku for b in SEEDED_BUNDLES] + [CONFIGURABLE_SKU, *configurable_children()]


def seed_composites(conn: pymysql.Connection, edition: Edition = "open_source") -> dict[str, int]:
    """Add bundles over seeded simple products and a configurable with three children (size
    S/M/L) to a seeded database, in one transaction (a store creating them: the binlog carries
    every row). The components must exist (``seed_commerce`` with 7 products or more).
    Returns SKU -> entity id of what it added."""
    staged = edition == "adobe_commerce"
    with conn.cursor() as cur:
        conn.begin()
        try:
            cur.execute("SELECT attribute_code, attribute_id FROM eav_attribute a JOIN eav_entity_type t "
                        "ON t.entity_type_id = a.entity_type_id WHERE t.entity_type_code = 'catalog_product'")
            attribute_ids = {str(c): int(i) for c, i in cur.fetchall()}
            type_id = _scalar(cur, "SELECT entity_type_id FROM eav_entity_type WHERE entity_type_code='catalog_product'")
            if "size" not in attribute_ids:
                cur.execute("INSERT INTO eav_attribute (entity_type_id, attribute_code, backend_type, frontend_input,"
                            " frontend_label, is_user_defined, is_required) VALUES (%s, 'size', 'int', 'select',"
                            " 'Size', 1, 0)", (type_id,))
                attribute_ids["size"] = int(cur.lastrowid)
                _insert(cur, "catalog_eav_attribute", ["attribute_id", "is_global"], [(attribute_ids["size"], 1)])
            size_options = {}
            for position, size in enumerate(CONFIGURABLE_SIZES):
                cur.execute("INSERT INTO eav_attribute_option (attribute_id, sort_order) VALUES (%s, %s)",
                            (attribute_ids["size"], position))
                size_options[size] = int(cur.lastrowid)
                cur.execute("INSERT INTO eav_attribute_option_value (option_id, store_id, value) VALUES (%s, 0, %s)",
                            (size_options[size], size))
            set_id = _scalar(cur, "SELECT default_attribute_set_id FROM eav_entity_type WHERE entity_type_id = %s",
                             (type_id,))
            first = _scalar(cur, "SELECT COALESCE(MAX(entity_id), 0) FROM catalog_product_entity") + 1
            kinds = {b.sku: "bundle" for b in SEEDED_BUNDLES}
            kinds[CONFIGURABLE_SKU] = "configurable"
            ids = {sku: first + n for n, sku in enumerate(composite_skus())}
            link = {sku: (ROW_ID_OFFSET + e if staged else e) for sku, e in ids.items()}
            if staged:
                _insert(cur, "sequence_product", ["sequence_value"], [(e,) for e in ids.values()])
                _insert(cur, "catalog_product_entity", ["row_id", "entity_id", "attribute_set_id", "type_id", "sku",
                        "created_in", "updated_in"],
                        [(link[s], e, set_id, kinds.get(s, "simple"), s, 1, STAGING_MAX_VERSION) for s, e in ids.items()])
            else:
                _insert(cur, "catalog_product_entity", ["entity_id", "attribute_set_id", "type_id", "sku"],
                        [(e, set_id, kinds.get(s, "simple"), s) for s, e in ids.items()])
            key = "row_id" if staged else "entity_id"
            columns = ["attribute_id", "store_id", key, "value"]
            children = configurable_children()
            decimals, varchars, ints = [], [], []
            for n, (sku, _e) in enumerate(ids.items(), start=1):
                varchars.append((attribute_ids["name"], 0, link[sku], f"Seeded {kinds.get(sku, 'variant')} {sku}"))
                ints.append((attribute_ids["status"], 0, link[sku], 1))
                ints.append((attribute_ids["visibility"], 0, link[sku], 1 if sku in children else 4))
                decimals.append((attribute_ids["price"], 0, link[sku], 49.99 if sku in kinds else 24.99))
                decimals.append((attribute_ids["weight"], 0, link[sku], 1.5))
                if sku != CONFIGURABLE_SKU:  # the parent is no offer: it has no identifier of its own
                    varchars.append((attribute_ids["upc"], 0, link[sku], composite_identifier(n)))
            for sku, size in zip(children, CONFIGURABLE_SIZES):
                ints.append((attribute_ids["size"], 0, link[sku], size_options[size]))
            _insert(cur, "catalog_product_entity_varchar", columns, varchars)
            _insert(cur, "catalog_product_entity_int", columns, ints)
            _insert(cur, "catalog_product_entity_decimal", columns, decimals)
            _insert(cur, "catalog_product_website", ["product_id", "website_id"],
                    [(e, w) for e in ids.values() for w in (1, 2)])
            # every product has a stock item (Magento creates one per product); bundles' and the
            # parent's say "in stock", their quantity is their parts'
            _insert(cur, "cataloginventory_stock_item", ["product_id", "stock_id", "qty", "min_qty", "is_in_stock",
                    "website_id"], [(e, 1, 0, 0, 1, 0) for e in ids.values()])
            _insert(cur, "inventory_source_item", ["source_code", "sku", "quantity", "status"],
                    [("wh_east", sku, 10, 1) for sku in children])
            _seed_bundle_rows(cur, link)
            _insert(cur, "catalog_product_super_attribute", ["product_id", "attribute_id", "position"],
                    [(link[CONFIGURABLE_SKU], attribute_ids["size"], 0)])
            _insert(cur, "catalog_product_super_link", ["product_id", "parent_id"],
                    [(ids[sku], link[CONFIGURABLE_SKU]) for sku in children])
            _insert(cur, "catalog_product_relation", ["parent_id", "child_id"],
                    [(link[CONFIGURABLE_SKU], ids[sku]) for sku in children])
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
    return ids


def _scalar(cur: Any, sql: str, args: Sequence[Any] = ()) -> int:
    cur.execute(sql, args)
    return int(cur.fetchone()[0])


def _seed_bundle_rows(cur: Any, link: dict[str, int]) -> None:
    components = sorted({sku for b in SEEDED_BUNDLES for _r, sels in b.options for sku, *_x in sels})
    cur.execute(f"SELECT sku, MIN(entity_id) FROM catalog_product_entity WHERE sku IN "
                f"({', '.join(['%s'] * len(components))}) GROUP BY sku", components)
    entity = {str(s): int(e) for s, e in cur.fetchall()}
    missing = sorted(set(components) - set(entity))
    if missing:
        raise ValueError(f"bundle components not seeded: {missing} (seed 7 products or more)")
    for bundle in SEEDED_BUNDLES:
        for position, (required, selections) in enumerate(bundle.options):
            cur.execute("INSERT INTO catalog_product_bundle_option (parent_id, required, position, type) "
                        "VALUES (%s, %s, %s, 'select')", (link[bundle.sku], int(required), position))
            option_id = cur.lastrowid
            _insert(cur, "catalog_product_bundle_selection", ["option_id", "parent_product_id", "product_id",
                    "position", "is_default", "selection_qty", "selection_can_change_qty"],
                    [(option_id, link[bundle.sku], entity[sku], n, int(n == 0), qty, int(can_change))
                     for n, (sku, qty, can_change) in enumerate(selections)])
