"""Selling rules (mappings/selling_rules.py): each rule's effect by hand, the settings' refusals,
and agreement with the agreement check's own implementation (devstack/oracles/selling.py) over
many random rules and values: two codes written apart that must say the same."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest
from pydantic import ValidationError

from config.settings import SellingSettings
from devstack.oracles.selling import price_under, quantity_under
from mappings.selling_rules import ProductGroups, SellingRule, apply_ending, choose_rule, rule_price, rule_quantity

D = Decimal


@pytest.mark.parametrize(("price", "ending", "want"), [
    ("12.10", ".99", "12.99"), ("12.99", ".99", "12.99"), ("13.00", ".99", "13.99"),
    ("12.10", "9.99", "19.99"), ("19.99", "9.99", "19.99"), ("20.00", "9.99", "29.99"),
    ("12.10", ".00", "13.00"), ("12.00", ".00", "12.00"), ("12.10", "9", "19.00"), ("0.50", ".95", "0.95"),
])
def test_price_endings(price: str, ending: str, want: str) -> None:
    assert apply_ending(D(price), ending) == D(want)


def test_markup_then_ending_then_floor_and_ceiling() -> None:
    rule = SellingRule(price_markup_percent=D(10), price_markup_fixed=D("1.00"), price_ending=".99",
                       price_floor=D("15.00"), price_ceiling=D("40.00"))
    assert rule_price(rule, D("20.00")) == D("23.99")   # 22.00 + 1.00 = 23.00 -> 23.99
    assert rule_price(rule, D("5.00")) == D("15.00")    # 6.50 -> 6.99, below the floor
    assert rule_price(rule, D("50.00")) == D("40.00")   # past the ceiling: the ceiling, not an ending
    assert rule_price(SellingRule(), D("19.95")) == D("19.95")  # the default changes nothing


def test_share_reserve_cap_and_minimum() -> None:
    rule = SellingRule(quantity_percent=D(50), quantity_reserve=2, quantity_max=10, quantity_min=3)
    assert rule_quantity(rule, 30) == 10   # (30 - 2) * 50% = 14, capped
    assert rule_quantity(rule, 9) == 3     # 7 * 50% = 3.5 -> 3 (whole units, never rounded up)
    assert rule_quantity(rule, 7) == 0     # 2.5 -> 2, below the minimum: nothing offered
    assert rule_quantity(rule, 1) == 0     # all reserved
    assert rule_quantity(SellingRule(), 7) == 7


def test_the_rule_chosen_product_attribute_then_category_then_set_then_default() -> None:
    default, a, b, c = SellingRule(), SellingRule(quantity_min=1), SellingRule(quantity_min=2), SellingRule(quantity_min=3)
    rules = {"a": a, "b": b, "c": c}
    by_set, by_category = {"Walmart Apparel": "a", "9": "b"}, {5: "b", 3: "c"}
    pick = lambda groups: choose_rule(default, rules, by_set, by_category, groups)  # noqa: E731
    assert pick(ProductGroups(attribute_set_name="Walmart Apparel", category_ids=(5, 3), rule_attribute_value="a")).name == "a"
    assert pick(ProductGroups(attribute_set_name="Walmart Apparel", category_ids=(5, 3))).name == "c"  # lowest id
    assert pick(ProductGroups(attribute_set_name="Walmart Apparel")).name == "a"
    assert pick(ProductGroups(attribute_set_id=9, attribute_set_name="Other")).name == "b"  # by id
    unknown = pick(ProductGroups(attribute_set_name="Other", rule_attribute_value="typo"))
    assert unknown.name == "default" and unknown.why == "the default rule"  # a typo never stops a push
    assert pick(None).name == "default"


def test_settings_refuse_what_cannot_be_meant() -> None:
    with pytest.raises(ValidationError, match="names rules that selling.rules does not define"):
        SellingSettings.model_validate({"by_attribute_set": {"Default": "missing"}})
    with pytest.raises(ValidationError, match="price_floor 20.00 is above price_ceiling 10.00"):
        SellingSettings.model_validate({"default": {"price_floor": "20.00", "price_ceiling": "10.00"}})
    with pytest.raises(ValidationError, match="at most two decimals"):
        SellingSettings.model_validate({"default": {"price_markup_fixed": "0.001"}})
    with pytest.raises(ValidationError, match="price_ending"):
        SellingSettings.model_validate({"default": {"price_ending": "99"}})
    with pytest.raises(ValidationError, match="Extra inputs"):
        SellingSettings.model_validate({"default": {"markup": 5}})


def test_a_quantity_change_does_not_touch_the_price_digest() -> None:
    """Which family's SKUs a rule change re-evaluates: a new share must not spend the price budget."""
    before = SellingSettings.model_validate({"default": {"price_markup_percent": 5}})
    after = SellingSettings.model_validate({"default": {"price_markup_percent": 5, "quantity_percent": 50}})
    assert before.digest("price") == after.digest("price")
    assert before.digest("quantity") != after.digest("quantity")


def test_the_oracle_and_the_mapping_agree_on_random_rules() -> None:
    rng = random.Random(20)
    for _ in range(3000):
        floor = rng.choice([None, D(rng.randint(100, 3000)) / 100])
        ceiling = rng.choice([None, (floor or 0) + D(rng.randint(0, 5000)) / 100])
        rule = SellingRule(
            price_markup_percent=D(rng.randint(-900, 5000)) / 10,
            price_markup_fixed=D(rng.randint(-500, 500)) / 100,
            price_ending=rng.choice([None, ".99", ".95", "9.99", ".00", "9", "5"]),
            price_floor=floor, price_ceiling=ceiling if ceiling else None,
            quantity_percent=D(rng.randint(0, 1000)) / 10, quantity_reserve=rng.randint(0, 5),
            quantity_max=rng.choice([None, rng.randint(5, 50)]), quantity_min=rng.randint(0, 5))
        as_configured = rule.model_dump()
        price, quantity = D(rng.randint(1, 100000)) / 100, rng.randint(0, 200)
        assert rule_price(rule, price) == price_under(as_configured, price), (rule, price)
        assert rule_quantity(rule, quantity) == quantity_under(as_configured, quantity), (rule, quantity)
