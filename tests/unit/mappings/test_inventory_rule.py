"""The salable-quantity rule itself, case by case (pure)."""

from __future__ import annotations

from decimal import Decimal

from mappings.inventory import StockPosition, inventory_feed, walmart_quantity


def test_salable_quantity_rule() -> None:
    base = StockPosition("A", source_quantity=Decimal("12"), in_stock=True)
    assert walmart_quantity(base) == 12
    assert walmart_quantity(StockPosition("A", Decimal("12"), True, reservations=Decimal("-5"))) == 7
    assert walmart_quantity(StockPosition("A", Decimal("12"), True, min_qty=Decimal("2"))) == 10
    assert walmart_quantity(StockPosition("A", Decimal("12"), True, min_qty=Decimal("-3"))) == 15  # backorders
    assert walmart_quantity(StockPosition("A", Decimal("12"), False)) == 0  # not salable
    assert walmart_quantity(StockPosition("A", Decimal("2"), True, reservations=Decimal("-5"))) == 0
    assert walmart_quantity(StockPosition("A", Decimal("7.5"), True)) == 7  # whole units only
    assert walmart_quantity(base, safety_buffer=3) == 9
    # ManageStockCondition / BackOrderCondition: Magento sells whatever the count -> the configured quantity
    assert walmart_quantity(StockPosition("A", Decimal("12"), True, manage_stock=False), unlimited=100) == 100
    assert walmart_quantity(StockPosition("A", Decimal("0"), False, manage_stock=False), unlimited=100) == 100
    assert walmart_quantity(StockPosition("A", Decimal("0"), True, backorders=True), unlimited=100) == 100
    assert walmart_quantity(StockPosition("A", Decimal("0"), True, backorders=True, min_qty=Decimal("-4")),
                            unlimited=100) == 4  # a negative threshold is a count
    assert walmart_quantity(StockPosition("A", Decimal("12"), True, manage_stock=False, sellable=False),
                            unlimited=100) == 0
    # no stock index row (disabled on the default stock, no legacy stock item): 0 whatever the sources hold
    assert walmart_quantity(StockPosition("A", Decimal("12"), True, sellable=False)) == 0


def test_inventory_feed_payload() -> None:
    assert inventory_feed({"B": 2, "A": 1}) == {"InventoryHeader": {"version": "1.4"}, "Inventory": [
        {"sku": "A", "quantity": {"unit": "EACH", "amount": 1}},
        {"sku": "B", "quantity": {"unit": "EACH", "amount": 2}}]}


def test_per_node_quantities_round_trip_and_make_the_multi_node_feed() -> None:
    from mappings.inventory import mp_inventory_feed, node_value, parse_node_value

    value = node_value({"1000000002": 7, "1000000001": 0})
    assert value == "1000000001=0,1000000002=7"  # canonical: the same quantities are the same value
    assert parse_node_value(value) == {"1000000001": 0, "1000000002": 7}
    assert mp_inventory_feed({"A": parse_node_value(value)}) == {
        "inventoryHeader": {"version": "1.5"},
        "inventory": [{"sku": "A", "shipNodes": [
            {"shipNode": "1000000001", "quantity": {"unit": "EACH", "amount": 0}},
            {"shipNode": "1000000002", "quantity": {"unit": "EACH", "amount": 7}}]}]}
