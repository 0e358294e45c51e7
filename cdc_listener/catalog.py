"""Identity lookups for the listener, loaded once at start and kept current from the binlog.

Price and legacy-stock rows carry product ids, not SKUs, and shipment/credit-memo items carry
their parent's id, not the order's. Querying the database per row would cost a round trip per
change and race with the stream, so this holds the maps in memory and applies the same
``catalog_product_entity`` / ``sales_shipment`` / ``sales_creditmemo`` row changes the stream
delivers. A miss (a row older than the listener's start) falls back to one query.

Adobe Commerce: product rows are versions (``row_id``) of an entity; the live one satisfies
``created_in <= now < updated_in``, where version ids are the Unix start times of staging
updates (1 and 2147483647 bound the open ends).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cdc_listener.translate import PRICE_ATTRIBUTES, PRICE_WINDOW_ATTRIBUTES, SALABILITY_ATTRIBUTES, Row

WATCHED_ATTRIBUTES = PRICE_ATTRIBUTES | PRICE_WINDOW_ATTRIBUTES | SALABILITY_ATTRIBUTES
PARENT_CACHE_SIZE = 200_000


@dataclass
class ProductVersion:
    entity_id: int
    sku: str
    created_in: int
    updated_in: int

    def is_live(self, now: float) -> bool:
        return self.created_in <= now < self.updated_in


class _Lru(OrderedDict[int, int]):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def put(self, key: int, value: int) -> None:
        self[key] = value
        self.move_to_end(key)
        if len(self) > self.size:
            self.popitem(last=False)


class CommerceCatalog:
    """Implements ``translate.Lookups``; ``observe`` applies stream rows after translation."""

    def __init__(self, query: Callable[[str, tuple[Any, ...]], list[tuple[Any, ...]]],
                 clock: Callable[[], float] = time.time):
        self._query = query
        self._clock = clock
        self.staging = False
        self.attributes: dict[int, str] = {}
        self.skus: dict[int, str] = {}
        self.versions: dict[int, ProductVersion] = {}
        self._entity_rows: dict[int, set[int]] = {}
        self._shipment_orders = _Lru(PARENT_CACHE_SIZE)
        self._creditmemo_orders = _Lru(PARENT_CACHE_SIZE)
        self.fallback_queries = 0

    def load(self) -> CommerceCatalog:
        rows = self._query(
            "SELECT a.attribute_id, a.attribute_code FROM eav_attribute a JOIN eav_entity_type t "
            "ON t.entity_type_id = a.entity_type_id WHERE t.entity_type_code = 'catalog_product' "
            f"AND a.attribute_code IN ({', '.join(['%s'] * len(WATCHED_ATTRIBUTES))})",
            tuple(sorted(WATCHED_ATTRIBUTES)))
        self.attributes = {int(attribute_id): code for attribute_id, code in rows}
        missing = WATCHED_ATTRIBUTES - set(self.attributes.values())
        if missing:
            raise RuntimeError(f"catalog_product attributes not found in eav_attribute: {sorted(missing)}")
        columns = {r[0] for r in self._query(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            "AND TABLE_NAME = 'catalog_product_entity'", ())}
        self.staging = "row_id" in columns
        if self.staging:
            for row_id, entity_id, sku, created_in, updated_in in self._query(
                    "SELECT row_id, entity_id, sku, created_in, updated_in FROM catalog_product_entity", ()):
                self._put_version(int(row_id), ProductVersion(int(entity_id), sku, int(created_in),
                                                              int(updated_in)))
            now = self._clock()
            self.skus = {v.entity_id: v.sku for v in self.versions.values() if v.is_live(now)}
        else:
            self.skus = {int(e): sku for e, sku in self._query(
                "SELECT entity_id, sku FROM catalog_product_entity", ())}
        return self

    def _put_version(self, row_id: int, version: ProductVersion) -> None:
        self.versions[row_id] = version
        self._entity_rows.setdefault(version.entity_id, set()).add(row_id)

    def _drop_version(self, row_id: int) -> None:
        version = self.versions.pop(row_id, None)
        if version is not None:
            self._entity_rows.get(version.entity_id, set()).discard(row_id)

    def _versions_of(self, entity_id: int) -> list[ProductVersion]:
        return [self.versions[r] for r in self._entity_rows.get(entity_id, ())]

    # translate.Lookups -------------------------------------------------------------------
    def attribute_code(self, attribute_id: int) -> str | None:
        return self.attributes.get(attribute_id)

    def sku_for_entity(self, entity_id: int) -> str | None:
        sku = self.skus.get(entity_id)
        if sku is None and self.staging:
            versions = self._versions_of(entity_id)
            now = self._clock()
            sku = next((v.sku for v in versions if v.is_live(now)), versions[0].sku if versions else None)
        return sku

    def product_for_row(self, row_id: int) -> tuple[int, str, bool] | None:
        version = self.versions.get(row_id)
        if version is None:
            return None
        return version.entity_id, version.sku, version.is_live(self._clock())

    def order_for_shipment(self, shipment_id: int) -> int | None:
        return self._parent_order(self._shipment_orders, "sales_shipment", shipment_id)

    def order_for_creditmemo(self, creditmemo_id: int) -> int | None:
        return self._parent_order(self._creditmemo_orders, "sales_creditmemo", creditmemo_id)

    def _parent_order(self, cache: _Lru, table: str, parent_id: int) -> int | None:
        order_id = cache.get(parent_id)
        if order_id is None:
            self.fallback_queries += 1
            rows = self._query(f"SELECT order_id FROM {table} WHERE entity_id = %s", (parent_id,))
            if rows:
                order_id = int(rows[0][0])
                cache.put(parent_id, order_id)
        return order_id

    # stream maintenance ------------------------------------------------------------------
    def observe(self, table: str, before: Row | None, after: Row | None) -> None:
        if table == "catalog_product_entity":
            self._observe_product(before, after)
        elif table == "sales_shipment" and after is not None:
            self._shipment_orders.put(after["entity_id"], after["order_id"])
        elif table == "sales_creditmemo" and after is not None:
            self._creditmemo_orders.put(after["entity_id"], after["order_id"])

    def _observe_product(self, before: Row | None, after: Row | None) -> None:
        if self.staging:
            if before is not None:
                self._drop_version(before["row_id"])
            if after is not None:
                self._put_version(after["row_id"], ProductVersion(
                    after["entity_id"], after["sku"], after["created_in"], after["updated_in"]))
            self._refresh_entity((after or before or {})["entity_id"])
        elif after is None and before is not None:
            self.skus.pop(before["entity_id"], None)
        elif after is not None:
            self.skus[after["entity_id"]] = after["sku"]

    def _refresh_entity(self, entity_id: int) -> None:
        now = self._clock()
        live = next((v.sku for v in self._versions_of(entity_id) if v.is_live(now)), None)
        if live is None:
            self.skus.pop(entity_id, None)
        else:
            self.skus[entity_id] = live
