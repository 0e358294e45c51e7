"""Pure translation and ack tracking: each rule on hand-made rows, no servers."""

from __future__ import annotations

from decimal import Decimal

from cdc_listener.gtid import merge_mariadb_gtid
from cdc_listener.position import BinlogPosition, parse_start
from cdc_listener.publisher import TransactionTracker
from cdc_listener.translate import parse_reservation_metadata, translate, translate_query
from domain.events import event_id


class FakeLookups:
    attributes = {10: "price", 11: "special_price", 12: "special_from_date", 13: "cost", 14: "status", 15: "visibility"}
    skus = {1: "SKU-1"}
    rows = {501: (1, "SKU-1", True), 502: (1, "SKU-1", False)}

    def attribute_code(self, attribute_id):
        return self.attributes.get(attribute_id)

    def sku_for_entity(self, entity_id):
        return self.skus.get(entity_id)

    def product_for_row(self, row_id):
        return self.rows.get(row_id)

    def order_for_shipment(self, shipment_id):
        return {7: 70}.get(shipment_id)

    def order_for_creditmemo(self, creditmemo_id):
        return {8: 80}.get(creditmemo_id)


L = FakeLookups()


def test_source_item_update_only_when_stock_changes() -> None:
    before = {"source_item_id": 1, "source_code": "default", "sku": "A", "quantity": Decimal("5"), "status": 1}
    assert translate("inventory_source_item", "update", before, dict(before), L) == []
    [draft] = translate("inventory_source_item", "update", before, {**before, "quantity": Decimal("4")}, L)
    assert (draft.family, draft.key, draft.after["quantity"], draft.before["quantity"]) == ("stock", "A", "4", "5")


def test_reservation_metadata_parsed_and_junk_tolerated() -> None:
    row = {"reservation_id": 3, "stock_id": 2, "sku": "A", "quantity": Decimal("-1"),
           "metadata": '{"event_type":"order_placed","object_type":"order","object_id":"","object_increment_id":"000000007"}'}
    [draft] = translate("inventory_reservation", "insert", None, row, L)
    assert draft.reservation.event_type == "order_placed"
    assert draft.reservation.object_increment_id == "000000007" and draft.reservation.object_id == ""
    assert parse_reservation_metadata("{not json").event_type == "unparseable"
    assert parse_reservation_metadata(None) is None


def test_price_rows_filtered_by_attribute_and_live_version() -> None:
    value = {"value_id": 1, "attribute_id": 10, "store_id": 0, "entity_id": 1, "value": Decimal("9.99")}
    [draft] = translate("catalog_product_entity_decimal", "insert", None, value, L)
    assert (draft.family, draft.type, draft.key, draft.entity["attribute"]) == ("price", "price", "SKU-1", "price")
    assert translate("catalog_product_entity_decimal", "insert", None, {**value, "attribute_id": 13}, L) == []
    staged = {"value_id": 2, "attribute_id": 11, "store_id": 0, "row_id": 501, "value": Decimal("5")}
    [draft] = translate("catalog_product_entity_decimal", "insert", None, staged, L)
    assert draft.key == "SKU-1" and draft.entity["row_id"] == 501
    assert translate("catalog_product_entity_decimal", "insert", None, {**staged, "row_id": 502}, L) == []


def test_salability_rows_are_stock_events() -> None:
    """status (catalog_product_entity_int) and website assignment decide whether the store sells it."""
    status = {"value_id": 3, "attribute_id": 14, "store_id": 1, "entity_id": 1, "value": 2}
    [draft] = translate("catalog_product_entity_int", "insert", None, status, L)
    assert (draft.family, draft.type, draft.key, draft.entity["store_id"]) == ("stock", "status", "SKU-1", 1)
    assert translate("catalog_product_entity_int", "insert", None, {**status, "attribute_id": 15}, L) == []
    [draft] = translate("catalog_product_website", "delete", {"product_id": 1, "website_id": 1}, None, L)
    assert (draft.family, draft.type, draft.key, draft.op) == ("stock", "website", "SKU-1", "delete")


def test_tier_and_rule_price_rows_are_price_events() -> None:
    tier = {"value_id": 4, "entity_id": 1, "all_groups": 1, "customer_group_id": 0, "qty": Decimal(1),
            "value": Decimal("8"), "website_id": 0, "percentage_value": None}
    [draft] = translate("catalog_product_entity_tier_price", "insert", None, tier, L)
    assert (draft.family, draft.type, draft.key) == ("price", "tier_price", "SKU-1")
    rule = {"rule_product_price_id": 9, "rule_date": None, "customer_group_id": 0, "product_id": 1,
            "rule_price": Decimal("7"), "website_id": 1}
    [draft] = translate("catalogrule_product_price", "insert", None, rule, L)
    assert (draft.family, draft.type, draft.key) == ("price", "catalog_rule_price", "SKU-1")


def test_rule_index_swap_is_one_catalogue_event() -> None:
    """IndexerTableSwapper::swapIndexTables renames the rebuilt copy in (renameTablesBatch)."""
    swap = ("RENAME TABLE `catalogrule_product_price` TO `catalogrule_product_price1a2b3c4d`,"
            "`catalogrule_product_price__temp5e6f7a8b` TO `catalogrule_product_price`")
    [draft] = translate_query(swap, "magento", "magento")
    assert (draft.family, draft.type, draft.sku) == ("price", "rule_index_swapped", None)
    assert translate_query(swap.replace("`catalogrule_product_price`", "magento.catalogrule_product_price"),
                           "other", "magento") != []
    assert translate_query(swap, "other", "magento") == []  # another database's table
    assert translate_query("RENAME TABLE a TO b", "magento", "magento") == []
    assert translate_query("ALTER TABLE catalogrule_product_price ADD x INT", "magento", "magento") == []


def test_store_settings_that_change_every_product() -> None:
    row = {"config_id": 1, "scope": "stores", "scope_id": 1, "path": "cataloginventory/item_options/min_qty",
           "value": "3"}
    [draft] = translate("core_config_data", "insert", None, row, L)
    assert (draft.family, draft.type, draft.sku) == ("stock", "stock_config", None)
    [draft] = translate("core_config_data", "update", {**row, "path": "catalog/price/scope", "value": "0"},
                        {**row, "path": "catalog/price/scope", "value": "1"}, L)
    assert (draft.family, draft.type) == ("price", "price_config")
    assert translate("core_config_data", "insert", None, {**row, "path": "web/secure/base_url"}, L) == []


def test_cancellation_only_on_transition() -> None:
    before = {"entity_id": 5, "state": "processing", "status": "processing", "increment_id": "1"}
    [draft] = translate("sales_order", "update", before, {**before, "state": "canceled", "status": "canceled"}, L)
    assert (draft.family, draft.type, draft.key) == ("cancellation", "order_canceled", "5")
    canceled = {**before, "state": "canceled"}
    assert translate("sales_order", "update", canceled, {**canceled, "status": "x"}, L) == []
    item = {"item_id": 9, "order_id": 5, "sku": "A", "qty_canceled": Decimal("0"), "qty_ordered": Decimal("2")}
    [draft] = translate("sales_order_item", "update", item, {**item, "qty_canceled": Decimal("1")}, L)
    assert draft.type == "order_item_canceled" and draft.key == "5"
    assert translate("sales_order_item", "update", item, {**item, "qty_shipped": Decimal("1")}, L) == []


def test_children_keyed_by_their_order() -> None:
    [ship] = translate("sales_shipment_item", "insert", None,
                       {"entity_id": 1, "parent_id": 7, "order_item_id": 3, "sku": "A", "qty": 1}, L)
    [memo] = translate("sales_creditmemo_item", "insert", None,
                       {"entity_id": 2, "parent_id": 8, "order_item_id": 3, "sku": "A", "qty": 1}, L)
    assert (ship.key, memo.key) == ("70", "80")


def test_event_ids_are_deterministic() -> None:
    assert event_id("0-1-5", 3) == event_id("0-1-5", 3)
    assert len({event_id("0-1-5", 3), event_id("0-1-5", 4), event_id("0-1-6", 3), event_id("0-1-5", 3, 1)}) == 4
    assert event_id("0-1-5", 3, 1) == "0-1-5/3/1"


def test_tracker_only_advances_over_fully_acked_prefix() -> None:
    tracker = TransactionTracker()
    p1, p2 = BinlogPosition(log_file="b.1", log_pos=100), BinlogPosition(log_file="b.1", log_pos=200)
    first, second = tracker.open(), tracker.open()
    tracker.sent(first)
    tracker.sent(second)
    tracker.close(first, p1, 1)
    tracker.close(second, p2, 2)
    tracker.acked(second)
    assert tracker.safe() is None  # the first transaction is still in flight
    tracker.acked(first)
    assert tracker.safe() == (p2, 2)
    abandoned = tracker.open()
    tracker.close(abandoned, None, None)
    assert tracker.safe() == (p2, 2)


def test_positions_and_start_specs() -> None:
    assert merge_mariadb_gtid("0-1-5,1-2-9", "0-1-6") == "0-1-6,1-2-9"
    assert merge_mariadb_gtid(None, "2-1-1") == "2-1-1"
    assert parse_start("binlog.000003:4").position == BinlogPosition(log_file="binlog.000003", log_pos=4)
    assert parse_start("gtid:0-1-100").gtid == "0-1-100"
    assert parse_start(None).kind == "checkpoint" and parse_start("current").kind == "current"


def test_bundle_selection_and_option_rows_name_the_bundle() -> None:
    row = {"selection_id": 4, "option_id": 2, "parent_product_id": 1, "product_id": 9, "selection_qty": Decimal("2"),
           "selection_can_change_qty": 0}
    [draft] = translate("catalog_product_bundle_selection", "insert", None, row, L)
    assert (draft.family, draft.type, draft.sku) == ("stock", "bundle_selection", "SKU-1")
    assert translate("catalog_product_bundle_selection", "update", row, {**row, "position": 3}, L) == []
    [changed_qty] = translate("catalog_product_bundle_selection", "update", row, {**row, "selection_qty": 5}, L)
    assert changed_qty.after is not None and changed_qty.after["selection_qty"] == 5
    option = {"option_id": 2, "parent_id": 1, "required": 1}
    [draft] = translate("catalog_product_bundle_option", "update", option, {**option, "required": 0}, L)
    assert (draft.type, draft.sku) == ("bundle_option", "SKU-1")
    # Adobe Commerce: the parent column is a version's row_id; a scheduled version's rows are ignored
    [live] = translate("catalog_product_bundle_option", "insert", None, {**option, "parent_id": 501}, L)
    assert live.sku == "SKU-1"
    assert translate("catalog_product_bundle_option", "insert", None, {**option, "parent_id": 502}, L) == []
