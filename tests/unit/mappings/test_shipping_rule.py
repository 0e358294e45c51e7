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
