"""The catalogue facts both Magento oracles need: which product row a SKU is, in either edition.

Magento Open Source keys product values by ``entity_id``; Adobe Commerce's staging
(Magento_CatalogStaging) keys them by ``row_id``, one row per version of the product, the live
one being ``created_in <= now < updated_in`` (staging update ids are their start timestamps), and
keeps ``entity_id`` for stock, sales and inventory. Attribute ids and value tables come from
``eav_attribute`` (merchants' attributes have no fixed id). Config values come from
``core_config_data`` at the default scope when the database has that table, else from the
modules' shipped defaults (the dev stack's schema has none).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Product:
    sku: str
    entity_id: int
    link_id: int     # the key of its EAV values: entity_id, or the live version's row_id
    type_id: str


def _has_column(conn: Any, table: str, column: str) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s AND COLUMN_NAME = %s", (table, column))
        return cur.fetchone() is not None


def is_staged(conn: Any) -> bool:
    """Adobe Commerce (row_id on catalog_product_entity) rather than Open Source."""
    return _has_column(conn, "catalog_product_entity", "row_id")


def products(conn: Any, skus: Iterable[str], at_unix: int) -> dict[str, Product]:
    """The product (its live version at ``at_unix`` on Adobe Commerce) of each SKU that exists."""
    wanted = sorted(set(skus))
    if not wanted:
        return {}
    marks = ", ".join(["%s"] * len(wanted))
    if is_staged(conn):
        sql = (f"SELECT sku, entity_id, row_id, type_id FROM catalog_product_entity WHERE sku IN ({marks}) "
               "AND created_in <= %s AND updated_in > %s")
        args: list[Any] = [*wanted, at_unix, at_unix]
    else:
        sql = f"SELECT sku, entity_id, entity_id, type_id FROM catalog_product_entity WHERE sku IN ({marks})"
        args = list(wanted)
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return {sku: Product(sku, int(entity), int(link), str(type_id or "simple"))
                for sku, entity, link, type_id in cur.fetchall()}


def product_attributes(conn: Any, codes: Iterable[str]) -> dict[str, tuple[int, str]]:
    """attribute code -> (attribute_id, backend_type) of the catalog_product entity type."""
    wanted = sorted(set(codes))
    with conn.cursor() as cur:
        cur.execute("SELECT a.attribute_code, a.attribute_id, a.backend_type FROM eav_attribute a "
                    "JOIN eav_entity_type t ON t.entity_type_id = a.entity_type_id "
                    "WHERE t.entity_type_code = 'catalog_product' "
                    f"AND a.attribute_code IN ({', '.join(['%s'] * len(wanted))})", wanted)
        return {code: (int(attribute_id), str(backend)) for code, attribute_id, backend in cur.fetchall()}


def config_value(conn: Any, path: str, default: str) -> str:
    """A default-scope config value, or the module default when the store has not set it."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = 'core_config_data'")
        if cur.fetchone() is None:
            return default
        cur.execute("SELECT value FROM core_config_data WHERE path = %s AND scope = 'default' AND scope_id = 0",
                    (path,))
        row = cur.fetchone()
    return default if row is None or row[0] is None else str(row[0])


_SCOPE_ORDER = ("stores", "websites", "default")


def website_of_store(conn: Any, store_id: int) -> int:
    with conn.cursor() as cur:
        cur.execute("SELECT website_id FROM store WHERE store_id = %s", (store_id,))
        row = cur.fetchone()
    return int(row[0]) if row else 0


def store_config(conn: Any, path: str, store_id: int, default: str) -> str:
    """``ScopeConfigInterface::getValue($path, SCOPE_STORE, $store)``: the store view's own row, else its
    website's, else the default scope's (``Store\\Model\\Config\\Processor\\Fallback``), else the
    module's config.xml default. A NULL value counts as unset."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = 'core_config_data'")
        if cur.fetchone() is None:
            return default
        cur.execute("SELECT scope, scope_id, value FROM core_config_data WHERE path = %s AND value IS NOT NULL",
                    (path,))
        rows = cur.fetchall()
    wanted = {"stores": store_id, "websites": website_of_store(conn, store_id), "default": 0}
    for scope in _SCOPE_ORDER:
        for row_scope, scope_id, value in rows:
            if row_scope == scope and int(scope_id) == wanted[scope]:
                return str(value)
    return default
