"""Shipping translation rules (pure)."""

from __future__ import annotations

from mappings.shipping import CommerceShipment, lines_to_ship, walmart_carrier


def test_carrier_mapping() -> None:
    carriers = {"ups": "UPS", "dhl": "DHL Ecommerce - US", "bad": "Not A Carrier"}
    template = "https://t.example/{number}"
    assert walmart_carrier("UPS", "x", carriers, template, "1") == {"carrier": "UPS"}
    assert walmart_carrier("dhl", None, carriers, template, "1") == {"carrier": "DHL Ecommerce - US"}
    assert walmart_carrier("custom", "Acme", carriers, template, "42") == {
        "otherCarrier": "Acme", "trackingURL": "https://t.example/42"}
    assert walmart_carrier("bad", None, carriers, template, "7")["otherCarrier"] == "bad"


def test_only_the_difference_is_shipped_oldest_first() -> None:
    lines = {10: "1", 11: "2"}
    shipments = [CommerceShipment(1, {10: 1}, "T1", "ups", "UPS"),
                 CommerceShipment(2, {10: 1, 11: 1}, "T2", "ups", "UPS"),
                 CommerceShipment(3, {11: 1}, None, None, None)]  # no track: not yet
    todo = [(s.shipment_id, line, qty) for s, line, qty in lines_to_ship(shipments, lines, {"1": 1})]
    assert todo == [(2, "1", 1), (2, "2", 1)]
    assert lines_to_ship(shipments, lines, {"1": 2, "2": 1}) == []
    assert lines_to_ship([CommerceShipment(4, {99: 1}, "T", "ups", "")], lines, {}) == []  # not a PO line


def test_a_line_ships_with_its_own_method_then_the_orders_then_the_configured_one() -> None:
    from mappings.shipping import commerce_ship_method, line_method_code

    assert line_method_code("EXPRESS", "Standard", "Standard") == "Express"   # the line's, Walmart's spelling
    assert line_method_code("ONEDAY", None, "Standard") == "OneDay"
    assert line_method_code("EXPEDITED", "Value", "Standard") == "Value"      # not a methodCode: the order's
    assert line_method_code(None, None, "Freight") == "Freight"
    assert line_method_code("", "nonsense", "Standard") == "Standard"
    table = {"Express": "walmart_express"}
    assert commerce_ship_method("EXPRESS", table, "marketplace") == "walmart_express"
    assert commerce_ship_method("WhiteGlove", table, "marketplace") == "marketplace"
    assert commerce_ship_method(None, table, "marketplace") == "marketplace"
