"""Binlog rows of watched Commerce tables -> change-event drafts. Pure: no I/O, no clock.

Each handler looks at one row change and returns zero or more drafts; rows that cannot change
what Walmart shows (another attribute's decimal, an order update that is not a cancellation)
return nothing, cheaply, before any copying. Identity lookups (entity/row id -> SKU, shipment ->
order) go through ``Lookups``, which the listener keeps current from the same stream.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Protocol

from domain.events import Family, Operation, ReservationMetadata

Row = dict[str, Any]

PRICE_ATTRIBUTES = frozenset({"price", "special_price"})
PRICE_WINDOW_ATTRIBUTES = frozenset({"special_from_date", "special_to_date"})
# catalog_product_entity_int: whether the store view sells the product (AbstractType::isSalable)
SALABILITY_ATTRIBUTES = frozenset({"status"})
# the catalogue rule price index Magento's full reindex swaps in whole (IndexerTableSwapper)
RULE_PRICE_INDEX = "catalogrule_product_price"


class Lookups(Protocol):
    def attribute_code(self, attribute_id: int) -> str | None: ...

    def sku_for_entity(self, entity_id: int) -> str | None: ...

    def product_for_row(self, row_id: int) -> tuple[int, str, bool] | None:
        """Adobe Commerce: (entity_id, sku, is_live_version) of a catalog row version."""
        ...

    def order_for_shipment(self, shipment_id: int) -> int | None: ...

    def order_for_creditmemo(self, creditmemo_id: int) -> int | None: ...


@dataclass(frozen=True)
class Draft:
    family: Family
    type: str
    op: Operation
    key: str
    sku: str | None = None
    order_id: int | None = None
    entity: dict[str, Any] = field(default_factory=dict)
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    reservation: ReservationMetadata | None = None


def json_safe(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value


def pick(row: Row | None, columns: tuple[str, ...]) -> dict[str, Any] | None:
    if row is None:
        return None
    return {c: json_safe(row[c]) for c in columns if c in row}


def changed(before: Row | None, after: Row | None, columns: tuple[str, ...]) -> bool:
    if before is None or after is None:
        return True
    return any(before.get(c) != after.get(c) for c in columns)


def parse_reservation_metadata(raw: Any) -> ReservationMetadata | None:
    """Magento stores JSON in a varchar; tolerate NULL and junk rather than stop the stream."""
    if raw in (None, ""):
        return None
    try:
        data = json.loads(raw)
    except (TypeError, ValueError):
        return ReservationMetadata(event_type="unparseable")
    if not isinstance(data, dict):
        return ReservationMetadata(event_type="unparseable")
    return ReservationMetadata(**{k: None if data.get(k) is None else str(data.get(k))
                                  for k in ReservationMetadata.model_fields})


SOURCE_ITEM = ("source_item_id", "source_code", "sku", "quantity", "status")
RESERVATION = ("reservation_id", "stock_id", "sku", "quantity", "metadata")
LEGACY_STOCK = ("item_id", "product_id", "stock_id", "website_id", "qty", "is_in_stock", "min_qty",
                "backorders", "manage_stock", "use_config_manage_stock", "use_config_min_qty",
                "use_config_backorders")
VALUE = ("value_id", "attribute_id", "store_id", "value")
PRODUCT = ("entity_id", "row_id", "sku", "type_id", "attribute_set_id", "created_in", "updated_in")
SHIPMENT = ("entity_id", "order_id", "increment_id", "store_id", "total_qty", "created_at")
SHIPMENT_ITEM = ("entity_id", "parent_id", "order_item_id", "product_id", "sku", "qty")
TRACK = ("entity_id", "parent_id", "order_id", "track_number", "title", "carrier_code", "created_at")
ORDER = ("entity_id", "increment_id", "ext_order_id", "state", "status", "store_id")
ORDER_ITEM = ("item_id", "order_id", "parent_item_id", "product_id", "sku", "qty_ordered",
              "qty_canceled", "qty_shipped", "qty_invoiced", "qty_refunded", "ext_order_item_id")
CREDITMEMO = ("entity_id", "order_id", "increment_id", "store_id", "state", "grand_total",
              "subtotal", "shipping_amount", "tax_amount", "adjustment", "adjustment_positive",
              "adjustment_negative", "created_at")
WEBSITE = ("product_id", "website_id")
TIER_PRICE = ("value_id", "entity_id", "row_id", "all_groups", "customer_group_id", "qty", "value", "website_id",
              "percentage_value")
RULE_PRICE = ("rule_product_price_id", "rule_date", "customer_group_id", "product_id", "rule_price", "website_id")
BUNDLE_OPTION = ("option_id", "parent_id", "required")
BUNDLE_SELECTION = ("selection_id", "option_id", "parent_product_id", "product_id", "selection_qty",
                    "selection_can_change_qty")
CREDITMEMO_ITEM = ("entity_id", "parent_id", "order_item_id", "product_id", "sku", "qty", "price",
                   "row_total", "tax_amount", "discount_amount")


def _source_item(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    if op == "update" and not changed(before, after, SOURCE_ITEM):
        return []
    row = after or before
    assert row is not None
    return [Draft("stock", "source_item", op, row["sku"], sku=row["sku"],
                  entity={"source_code": row["source_code"], "source_item_id": row["source_item_id"]},
                  before=pick(before, SOURCE_ITEM), after=pick(after, SOURCE_ITEM))]


def _reservation(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    row = after or before
    assert row is not None
    return [Draft("stock", "reservation", op, row["sku"], sku=row["sku"],
                  entity={"reservation_id": row["reservation_id"], "stock_id": row["stock_id"]},
                  before=pick(before, RESERVATION), after=pick(after, RESERVATION),
                  reservation=parse_reservation_metadata(row.get("metadata")))]


def _legacy_stock(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
    if op == "update" and not changed(before, after, LEGACY_STOCK):
        return []
    row = after or before
    assert row is not None
    sku = lookups.sku_for_entity(row["product_id"])
    return [Draft("stock", "legacy_stock_item", op, sku or f"product:{row['product_id']}", sku=sku,
                  entity={"product_id": row["product_id"], "stock_id": row["stock_id"]},
                  before=pick(before, LEGACY_STOCK), after=pick(after, LEGACY_STOCK))]


def _product_of_value(row: Row, lookups: Lookups) -> tuple[int, str | None, bool] | None:
    """(entity_id, sku, live) of an EAV value row, in either edition."""
    if "row_id" in row:
        found = lookups.product_for_row(row["row_id"])
        return found if found is None else (found[0], found[1], found[2])
    entity_id = row["entity_id"]
    return entity_id, lookups.sku_for_entity(entity_id), True


def _value(kind: str, attributes: frozenset[str], family: Family = "price") -> Callable[..., list[Draft]]:
    def handle(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
        row = after or before
        assert row is not None
        code = lookups.attribute_code(row["attribute_id"])
        if code not in attributes:
            return []
        if op == "update" and not changed(before, after, ("value", "store_id", "attribute_id")):
            return []
        product = _product_of_value(row, lookups)
        if product is None or not product[2]:
            return []  # a scheduled (not live) staging version, or a row of a deleted product
        entity_id, sku, _live = product
        entity = {"entity_id": entity_id, "store_id": row["store_id"], "attribute": code}
        if "row_id" in row:
            entity["row_id"] = row["row_id"]
        return [Draft(family, kind, op, sku or f"product:{entity_id}", sku=sku, entity=entity,
                      before=pick(before, VALUE), after=pick(after, VALUE))]

    return handle


def _website(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
    """A product assigned to or removed from a website: the store view may sell it or not now."""
    if op == "update" and not changed(before, after, WEBSITE):
        return []
    row = after or before
    assert row is not None
    sku = lookups.sku_for_entity(row["product_id"])
    return [Draft("stock", "website", op, sku or f"product:{row['product_id']}", sku=sku,
                  entity={"product_id": row["product_id"], "website_id": row["website_id"]},
                  before=pick(before, WEBSITE), after=pick(after, WEBSITE))]


def _tier_price(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
    if op == "update" and not changed(before, after, TIER_PRICE):
        return []
    row = after or before
    assert row is not None
    product = _product_of_value(row, lookups)
    if product is None or not product[2]:
        return []
    entity_id, sku, _live = product
    return [Draft("price", "tier_price", op, sku or f"product:{entity_id}", sku=sku,
                  entity={"entity_id": entity_id, "value_id": row["value_id"], "website_id": row["website_id"]},
                  before=pick(before, TIER_PRICE), after=pick(after, TIER_PRICE))]


def _rule_price(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
    """A row of the rule price index (a partial reindex writes them in place)."""
    if op == "update" and not changed(before, after, RULE_PRICE):
        return []
    row = after or before
    assert row is not None
    sku = lookups.sku_for_entity(row["product_id"])
    return [Draft("price", "catalog_rule_price", op, sku or f"product:{row['product_id']}", sku=sku,
                  entity={"product_id": row["product_id"], "website_id": row["website_id"],
                          "customer_group_id": row["customer_group_id"]},
                  before=pick(before, RULE_PRICE), after=pick(after, RULE_PRICE))]


def _bundle_sku(parent: int, lookups: Lookups) -> tuple[str | None, bool]:
    """(SKU, live) of a bundle by its option's or selection's parent column: the entity id, or on
    Adobe Commerce the version's row_id (Magento_BundleStaging)."""
    version = lookups.product_for_row(parent)
    if version is not None:
        return version[1], version[2]
    return lookups.sku_for_entity(parent), True


def _bundle(kind: str, columns: tuple[str, ...], parent_column: str) -> Callable[..., list[Draft]]:
    """A bundle's option (its required flag) or selection (which product, how many) changed: the
    bundle's quantity may change with no stock row (push/inventory.py reads it from its components).
    A component's own stock change needs no event here: the inventory worker reads the bundles
    holding any SKU its batch names."""
    def handle(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
        if op == "update" and not changed(before, after, columns):
            return []
        drafts: list[Draft] = []
        for row in {id(r): r for r in (before, after) if r is not None}.values():
            sku, live = _bundle_sku(row[parent_column], lookups)
            if not live:
                continue  # a scheduled version's options: the live bundle is unchanged
            key = sku or f"product:{row[parent_column]}"
            if any(d.key == key for d in drafts):
                continue
            drafts.append(Draft("stock", kind, op, key, sku=sku,
                                entity={parent_column: row[parent_column], columns[0]: row[columns[0]]},
                                before=pick(before, columns), after=pick(after, columns)))
        return drafts

    return handle


CONFIG = ("config_id", "scope", "scope_id", "path", "value")
# core_config_data paths that change what the store sells or the price it shows, for every product
# at once (StockConfiguration's cataloginventory/item_options/*; the price scope; the store's timezone)
CONFIG_FAMILIES: tuple[tuple[str, Family, str], ...] = (
    ("cataloginventory/item_options/", "stock", "stock_config"),
    ("catalog/price/scope", "price", "price_config"),
    ("general/locale/timezone", "price", "price_config"),
)


def _config(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    """A store setting changed: no product row changes with it, so the event names no SKU and the
    worker reads every pushed SKU again (``catalogue_event_types``)."""
    if op == "update" and not changed(before, after, CONFIG):
        return []
    row = after or before
    assert row is not None
    path = str(row.get("path") or "")
    for prefix, family, kind in CONFIG_FAMILIES:
        if path.startswith(prefix):
            return [Draft(family, kind, op, f"config:{path}", entity={"path": path, "scope": row.get("scope"),
                                                                     "scope_id": row.get("scope_id")},
                          before=pick(before, CONFIG), after=pick(after, CONFIG))]
    return []


_RENAME = re.compile(r"^\s*RENAME\s+TABLES?\s+(.*)$", re.IGNORECASE | re.DOTALL)
_PAIR = re.compile(r"([`\w.$]+)\s+TO\s+([`\w.$]+)", re.IGNORECASE)


def _table_name(ident: str, default_schema: str) -> tuple[str, str]:
    parts = [p.strip("`") for p in re.findall(r"`[^`]*`|[^.`]+", ident)]
    return (parts[-2], parts[-1]) if len(parts) > 1 else (default_schema, parts[-1])


def translate_query(query: str, default_schema: str, database: str) -> list[Draft]:
    """A statement (QueryEvent) that changes what Walmart shows with no row event: a RENAME TABLE
    that swaps a rebuilt ``catalogrule_product_price`` in (``IndexerTableSwapper::swapIndexTables``,
    ``ActiveTableSwitcher``). Which SKUs' rule prices changed is not in the binlog (the new table
    was filled under another name, unwatched), so the event names none: the price worker reads
    every pushed SKU again."""
    found = _RENAME.match(query)
    if found is None:
        return []
    for _old, new in _PAIR.findall(found.group(1)):
        schema, table = _table_name(new, default_schema)
        if table == RULE_PRICE_INDEX and schema == database:
            return [Draft("price", "rule_index_swapped", "update", RULE_PRICE_INDEX,
                          entity={"table": RULE_PRICE_INDEX}, after={"statement": query[:500]})]
    return []


def _product(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    row = after or before
    assert row is not None
    drafts = []
    entity = {"entity_id": row["entity_id"]}
    if "row_id" in row:
        entity["row_id"] = row["row_id"]
    if op != "update" or changed(before, after, ("sku", "type_id", "attribute_set_id")):
        drafts.append(Draft("catalog", "product", op, row["sku"], sku=row["sku"], entity=entity,
                            before=pick(before, PRODUCT), after=pick(after, PRODUCT)))
    if "row_id" in row and (op != "update" or changed(before, after, ("created_in", "updated_in"))):
        # A staging version starts or ends: the live price may have changed with no value row.
        drafts.append(Draft("price", "staging_version", op, row["sku"], sku=row["sku"],
                            entity=entity, before=pick(before, PRODUCT), after=pick(after, PRODUCT)))
        # ... and so may its status (a scheduled disable)
        drafts.append(Draft("stock", "staging_version", op, row["sku"], sku=row["sku"],
                            entity=entity, before=pick(before, PRODUCT), after=pick(after, PRODUCT)))
    return drafts


def _shipment(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    if op != "insert":
        return []
    assert after is not None
    return [Draft("shipment", "shipment", op, str(after["order_id"]), order_id=after["order_id"],
                  entity={"shipment_id": after["entity_id"]}, after=pick(after, SHIPMENT))]


def _shipment_item(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
    if op != "insert":
        return []
    assert after is not None
    order_id = lookups.order_for_shipment(after["parent_id"])
    return [Draft("shipment", "shipment_item", op, str(order_id), order_id=order_id, sku=after.get("sku"),
                  entity={"shipment_id": after["parent_id"], "shipment_item_id": after["entity_id"],
                          "order_item_id": after["order_item_id"]},
                  after=pick(after, SHIPMENT_ITEM))]


def _track(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    if op == "update" and not changed(before, after, ("track_number", "carrier_code", "title")):
        return []
    row = after or before
    assert row is not None
    return [Draft("shipment", "shipment_track", op, str(row["order_id"]), order_id=row["order_id"],
                  entity={"shipment_id": row["parent_id"], "track_id": row["entity_id"]},
                  before=pick(before, TRACK), after=pick(after, TRACK))]


def _order(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    if op != "update" or after is None or before is None:
        return []
    if after.get("state") != "canceled" or before.get("state") == "canceled":
        return []
    return [Draft("cancellation", "order_canceled", op, str(after["entity_id"]),
                  order_id=after["entity_id"], entity={"order_id": after["entity_id"]},
                  before=pick(before, ORDER), after=pick(after, ORDER))]


def _order_item(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    if op != "update" or after is None or before is None:
        return []
    if (after.get("qty_canceled") or 0) <= (before.get("qty_canceled") or 0):
        return []
    return [Draft("cancellation", "order_item_canceled", op, str(after["order_id"]),
                  order_id=after["order_id"], sku=after.get("sku"),
                  entity={"order_id": after["order_id"], "order_item_id": after["item_id"]},
                  before=pick(before, ORDER_ITEM), after=pick(after, ORDER_ITEM))]


def _creditmemo(op: Operation, before: Row | None, after: Row | None, _l: Lookups) -> list[Draft]:
    if op != "insert":
        return []
    assert after is not None
    return [Draft("refund", "creditmemo", op, str(after["order_id"]), order_id=after["order_id"],
                  entity={"creditmemo_id": after["entity_id"]}, after=pick(after, CREDITMEMO))]


def _creditmemo_item(op: Operation, before: Row | None, after: Row | None, lookups: Lookups) -> list[Draft]:
    if op != "insert":
        return []
    assert after is not None
    order_id = lookups.order_for_creditmemo(after["parent_id"])
    return [Draft("refund", "creditmemo_item", op, str(order_id), order_id=order_id, sku=after.get("sku"),
                  entity={"creditmemo_id": after["parent_id"], "creditmemo_item_id": after["entity_id"],
                          "order_item_id": after["order_item_id"]},
                  after=pick(after, CREDITMEMO_ITEM))]


HANDLERS: dict[str, Callable[[Operation, Row | None, Row | None, Lookups], list[Draft]]] = {
    "inventory_source_item": _source_item,
    "inventory_reservation": _reservation,
    "cataloginventory_stock_item": _legacy_stock,
    "catalog_product_entity_decimal": _value("price", PRICE_ATTRIBUTES),
    "catalog_product_entity_datetime": _value("special_price_window", PRICE_WINDOW_ATTRIBUTES),
    "catalog_product_entity_int": _value("status", SALABILITY_ATTRIBUTES, "stock"),
    "catalog_product_website": _website,
    "catalog_product_bundle_option": _bundle("bundle_option", BUNDLE_OPTION, "parent_id"),
    "catalog_product_bundle_selection": _bundle("bundle_selection", BUNDLE_SELECTION, "parent_product_id"),
    "catalog_product_entity_tier_price": _tier_price,
    RULE_PRICE_INDEX: _rule_price,
    "core_config_data": _config,
    "catalog_product_entity": _product,
    "sales_shipment": _shipment,
    "sales_shipment_item": _shipment_item,
    "sales_shipment_track": _track,
    "sales_order": _order,
    "sales_order_item": _order_item,
    "sales_creditmemo": _creditmemo,
    "sales_creditmemo_item": _creditmemo_item,
}
WATCHED_TABLES: tuple[str, ...] = tuple(HANDLERS)


def translate(table: str, op: Operation, before: Row | None, after: Row | None,
              lookups: Lookups) -> list[Draft]:
    return HANDLERS[table](op, before, after, lookups)
