"""Pure order rules (mappings/orders.py): Walmart's charges and tax into a cart, and which
Walmart-side cancellations Commerce still has to follow."""

from __future__ import annotations

import pytest

from domain.walmart_orders import WalmartOrder
from mappings.orders import (
    CommerceItemQty,
    OrderShapeError,
    WalmartLineQty,
    walmart_order_to_cart,
    walmart_side_follow_up,
    walmart_side_signature,
)


def walmart_line(number: str, sku: str, qty: int, product: float, tax: float, shipping: float = 0.0,
                 shipping_tax: float = 0.0, statuses: tuple[tuple[str, int], ...] = ()) -> dict:
    charges = [{"chargeType": "PRODUCT", "chargeAmount": {"amount": product},
                "tax": {"taxAmount": {"amount": tax}}}]
    if shipping:
        charges.append({"chargeType": "SHIPPING", "chargeAmount": {"amount": shipping},
                        "tax": {"taxAmount": {"amount": shipping_tax}}})
    each = {"unitOfMeasurement": "EACH"}
    return {"lineNumber": number, "item": {"sku": sku, "productName": sku}, "statusDate": 1_700_000_000_000,
            "orderLineQuantity": {**each, "amount": str(qty)},
            "charges": {"charge": charges}, "orderLineStatuses": {"orderLineStatus": [
                {"status": s, "statusQuantity": {**each, "amount": str(q)}}
                for s, q in (statuses or (("Created", qty),))]}}


def order(*lines: dict) -> WalmartOrder:
    """A Walmart order as the Orders API sends it, read through the sidecar's one order model."""
    return WalmartOrder.model_validate({
        "purchaseOrderId": "P1", "customerOrderId": "C1", "customerEmailId": "c1@relay.walmart.com",
        "orderDate": 1_700_000_000_000, "orderLines": {"orderLine": list(lines)},
        "shippingInfo": {"postalAddress": {"name": "Jane Q Doe", "address1": "1 Main", "city": "Bentonville",
                                           "postalCode": "72716", "country": "USA"}}})


def test_walmart_tax_is_carried_per_open_unit_and_on_shipping() -> None:
    cart = walmart_order_to_cart(order(
        walmart_line("1", "A", 4, 40.0, 3.2, shipping=5.0, shipping_tax=0.4,
                     statuses=(("Created", 3), ("Cancelled", 1))),
        walmart_line("2", "B", 1, 10.0, 0.8)))
    assert [(l.sku, l.qty, l.unit_price, l.tax) for l in cart.lines] == [("A", 3, 10.0, 2.4), ("B", 1, 10.0, 0.8)]
    assert (cart.shipping_amount, cart.shipping_tax) == (5.0, 0.4)
    assert cart.address["lastname"] == "Q Doe"


def test_a_charge_that_is_not_a_number_is_a_shape_error() -> None:
    bad = walmart_line("1", "A", 1, 10.0, 0.8)
    bad["charges"]["charge"][0]["tax"]["taxAmount"]["amount"] = "ten"
    with pytest.raises(OrderShapeError, match="not a number"):
        walmart_order_to_cart(order(bad))


def item(line: str, ordered: int, shipped: int = 0, canceled: int = 0, refunded: int = 0) -> CommerceItemQty:
    return CommerceItemQty(line, ordered, shipped, canceled, refunded)


def wline(line: str, quantity: int, cancelled: int = 0, intent: bool = False) -> WalmartLineQty:
    return WalmartLineQty(line, quantity, cancelled, intent)


def test_walmart_cancelling_everything_open_cancels_the_commerce_order() -> None:
    follow = walmart_side_follow_up([item("1", 2), item("2", 1, shipped=1)],
                                    [wline("1", 2, cancelled=2), wline("2", 1)], honour_intent=True)
    assert follow.walmart_cancelled == {"1": 2} and follow.cancel_order


def test_cancellations_commerce_made_itself_are_not_followed_back() -> None:
    # Commerce cancelled 1 and refunded 1 before shipping; Walmart shows those 2 cancelled
    assert not walmart_side_follow_up([item("1", 3, canceled=1, refunded=1)], [wline("1", 3, cancelled=2)], True)
    # units Walmart had cancelled before the import were never ordered in Commerce
    assert not walmart_side_follow_up([item("1", 2)], [wline("1", 3, cancelled=1)], True)


def test_a_partial_change_is_noted_and_intents_follow_the_setting() -> None:
    follow = walmart_side_follow_up([item("1", 2), item("2", 1)], [wline("1", 2, intent=True), wline("2", 1)], True)
    assert follow.intent_lines == ["1"] and not follow.cancel_order
    assert "asked Walmart to cancel line(s) 1" in follow.note("P1")
    assert walmart_side_follow_up([item("1", 2)], [wline("1", 2, intent=True)], True).cancel_order
    assert not walmart_side_follow_up([item("1", 2)], [wline("1", 2, intent=True)], False).cancel_order
    # an intent on a line already shipped is Walmart's to refuse, not Commerce's to follow
    assert not walmart_side_follow_up([item("1", 2, shipped=2)], [wline("1", 2, intent=True)], True)


def test_the_signature_changes_only_with_walmart_side_facts() -> None:
    assert walmart_side_signature([wline("1", 2)]) == ""
    assert walmart_side_signature([wline("1", 2, cancelled=1), wline("2", 1, intent=True)]) == "c:1=1;i:2"


def test_the_module_request_carries_every_line_its_own_amounts_and_only_the_contracts_fields() -> None:
    """The body of POST /V1/walmart-sync/orders (commerce-module/contract.json routes.place): every
    field it sends is declared there (Magento refuses any other), every required one is present."""
    import json

    from mappings.orders import marketplace_order_request
    from tests.support.paths import REPO_ROOT

    walmart = order(walmart_line("1", "A", 2, 20.0, 1.6, shipping=4.99, shipping_tax=0.4),
                    walmart_line("2", "A", 1, 5.0, 0.4, statuses=(("Created", 1),)))
    body = marketplace_order_request(walmart, walmart_order_to_cart(walmart), "walmart_us")
    spec = json.loads((REPO_ROOT / "commerce-module" / "contract.json").read_text())["routes"]["place"]["request"]
    sent = body["order"]
    assert set(body) == {"order"} and set(sent) <= set(spec["order"])
    assert {k for k, f in spec["order"].items() if f["required"]} <= {k for k, v in sent.items() if v is not None}
    assert set(sent["shipping_address"]) <= set(spec["order"]["shipping_address"]["fields"])
    assert (sent["purchase_order_id"], sent["order_date"], sent["store_code"]) == ("P1", "2023-11-14T22:13:20Z",
                                                                                   "walmart_us")
    assert sent["lines"] == [  # one SKU on two lines stays two lines (the cart flow would merge them)
        {"line_number": "1", "sku": "A", "qty": 2, "unit_price": 10.0, "tax_amount": 1.6, "shipping_amount": 4.99,
         "shipping_tax_amount": 0.4},
        {"line_number": "2", "sku": "A", "qty": 1, "unit_price": 5.0, "tax_amount": 0.4, "shipping_amount": 0.0,
         "shipping_tax_amount": 0.0}]
    assert all(set(line) <= set(spec["order"]["lines"]["items"]) for line in sent["lines"])


def test_the_module_request_carries_the_ship_method_mapped_the_dates_and_who_fulfils_it() -> None:
    """Walmart's ship method is mapped through ``mapping.ship_method_map`` (case-insensitively:
    Walmart writes line methods upper-case), an unmapped one gets the default; estimatedShipDate and
    estimatedDeliveryDate go as ISO-8601 UTC; a WFS order says so, with the node and its source."""
    from mappings.orders import marketplace_order_request

    base = order(walmart_line("1", "A", 1, 20.0, 1.6)).model_dump()
    base["shippingInfo"].update(methodCode="Express", estimatedShipDate=1_700_086_400_000,
                                estimatedDeliveryDate=1_700_172_800_000)
    express = WalmartOrder.model_validate(base)
    table = {"express": "next_day", "Standard": "ground"}
    sent = marketplace_order_request(express, walmart_order_to_cart(express), "walmart_us", table, "fallback",
                                     source_code="wh_west")["order"]
    assert (sent["ship_method"], sent["shipping_method_code"]) == ("Express", "next_day")
    assert (sent["estimated_ship_date"], sent["estimated_delivery_date"]) == ("2023-11-15T22:13:20Z",
                                                                               "2023-11-16T22:13:20Z")
    assert (sent["fulfillment"], sent["ship_node"], sent["source_code"]) == ("SellerFulfilled", None, "wh_west")

    base["shippingInfo"]["methodCode"] = "Freight"
    base["shipNode"] = {"type": "WFSFulfilled", "name": "Walmart Fulfillment Services", "id": "9000000001"}
    wfs = WalmartOrder.model_validate(base)
    sent = marketplace_order_request(wfs, walmart_order_to_cart(wfs), "walmart_us", table, "fallback")["order"]
    assert (sent["shipping_method_code"], sent["fulfillment"], sent["ship_node"]) == ("fallback", "WFSFulfilled",
                                                                                       "9000000001")
    # with no dates Walmart gave, none are sent (the module's fields are optional)
    plain = order(walmart_line("1", "A", 1, 20.0, 1.6))
    sent = marketplace_order_request(plain, walmart_order_to_cart(plain), "walmart_us")["order"]
    assert sent["estimated_ship_date"] is None and sent["shipping_method_code"] == "marketplace"
