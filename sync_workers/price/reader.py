"""Read price, special price and its window for many SKUs, in either Commerce edition.

EAV values are keyed by entity_id (Open Source) or by the live version's row_id (Adobe Commerce
staging); a value at the configured store overrides the default store's.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mappings.price import PriceRecord

ATTRIBUTES = ("price", "special_price", "special_from_date", "special_to_date")


class PriceReader:
    def __init__(self, conn: Any, store_id: int):
        self.conn = conn
        self.store_id = store_id
        with conn.cursor() as cur:
            cur.execute(
                "SELECT a.attribute_code, a.attribute_id FROM eav_attribute a JOIN eav_entity_type t "
                "ON t.entity_type_id = a.entity_type_id WHERE t.entity_type_code = 'catalog_product' "
                f"AND a.attribute_code IN ({', '.join(['%s'] * len(ATTRIBUTES))})", ATTRIBUTES)
            self.attribute_ids = dict(cur.fetchall())
            cur.execute("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'catalog_product_entity' AND COLUMN_NAME = 'row_id'")
            self.staging = cur.fetchone()[0] == 1

    def read(self, skus: Iterable[str]) -> dict[str, PriceRecord]:
        wanted = sorted(set(skus))
        if not wanted:
            return {}
        marks = ", ".join(["%s"] * len(wanted))
        link = "row_id" if self.staging else "entity_id"
        live = " AND p.created_in <= UNIX_TIMESTAMP() AND p.updated_in > UNIX_TIMESTAMP()" if self.staging else ""
        fields: dict[str, dict[str, Any]] = {sku: {} for sku in wanted}
        by_id = {v: k for k, v in self.attribute_ids.items()}
        with self.conn.cursor() as cur:
            for table in ("catalog_product_entity_decimal", "catalog_product_entity_datetime"):
                cur.execute(
                    f"SELECT p.sku, v.attribute_id, v.store_id, v.value FROM catalog_product_entity p "
                    f"JOIN {table} v ON v.{link} = p.{link} AND v.store_id IN (0, %s) "
                    f"AND v.attribute_id IN ({', '.join(['%s'] * len(by_id))}) "
                    f"WHERE p.sku IN ({marks}){live} ORDER BY v.store_id",
                    [self.store_id, *by_id, *wanted])
                for sku, attribute_id, _store, value in cur.fetchall():
                    fields[sku][by_id[attribute_id]] = value  # the store's row comes last and wins
        return {sku: PriceRecord(sku, f.get("price"), f.get("special_price"), f.get("special_from_date"),
                                 f.get("special_to_date")) for sku, f in fields.items()}
