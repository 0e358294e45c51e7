"""Selling rules: what the merchant sells on Walmart and at what price, from Commerce's values.

Marketplace sellers rarely publish Commerce's numbers as they are (M2E Pro calls these Selling and
Synchronization policies): the marketplace's fees are priced in with a markup, prices end in .99,
a floor keeps a pricing error from selling at a loss, and only a share of the stock is offered so
the web shop keeps some. A rule is chosen per product (a product attribute naming the rule, else
its category, else its attribute set, else the default) and applied *after* Magento's own rules:
the quantity rule to the salable quantity (mappings/inventory.py), the price rule to Magento's
final price (mappings/price.py).

Order of the price rule, and why: markup first (percent, then fixed: "10% + 1.00 per item" is how
fees are quoted), then the ending (the shopper sees it), then floor and ceiling last, because they
are the merchant's hard limits and an ending must not push a price past them. A floor or ceiling
that is not a valid ending is sent as it is. Quantities: the reserve is kept back first (units the
web shop keeps whatever the share), then the share is taken and floored (Walmart takes whole
units), then the cap, and below the minimum nothing is offered (a last unit or two oversell when
both channels sell at once).
"""

from __future__ import annotations

import math
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

CENT = Decimal("0.01")


class SellingRule(BaseModel):
    """One selling rule. The defaults change nothing: Walmart gets Commerce's values."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    price_markup_percent: Decimal = Field(
        Decimal(0), ge=-90, le=1000, description="Added to Commerce's final price, in percent (negative: a discount).")
    price_markup_fixed: Decimal = Field(Decimal(0), description="Added after the percentage, in the store's currency.")
    price_ending: str | None = Field(
        None, pattern=r"^[0-9]?\.[0-9]{2}$|^[0-9]$",
        description="Raise the price to the next one ending so: '.99' (12.10 -> 12.99), '9.99' "
                    "(12.10 -> 19.99), '.00' (whole units), '9' (whole units ending in 9). Unset: cents as computed.")
    price_floor: Decimal | None = Field(None, gt=0, description="Never below this price.")
    price_ceiling: Decimal | None = Field(None, gt=0, description="Never above this price.")
    quantity_percent: Decimal = Field(
        Decimal(100), ge=0, le=100, description="The share of the salable quantity offered on Walmart.")
    quantity_reserve: int = Field(0, ge=0, description="Units kept back for the web shop before the share is taken.")
    quantity_max: int | None = Field(None, ge=0, description="Never offer more than this.")
    quantity_min: int = Field(0, ge=0, description="Offer nothing while fewer than this would be offered.")

    @field_validator("price_markup_fixed", "price_floor", "price_ceiling")
    @classmethod
    def _cents(cls, value: Decimal | None) -> Decimal | None:
        if value is not None and value != value.quantize(CENT):
            raise ValueError("a price takes at most two decimals")
        return value

    @model_validator(mode="after")
    def _limits_in_order(self) -> SellingRule:
        if self.price_floor is not None and self.price_ceiling is not None and self.price_floor > self.price_ceiling:
            raise ValueError(f"price_floor {self.price_floor} is above price_ceiling {self.price_ceiling}")
        if self.quantity_max is not None and self.quantity_max < self.quantity_min:
            raise ValueError(f"quantity_max {self.quantity_max} is below quantity_min {self.quantity_min}")
        return self

    def changes_price(self) -> bool:
        return bool(self.price_markup_percent or self.price_markup_fixed or self.price_ending
                    or self.price_floor or self.price_ceiling)

    def changes_quantity(self) -> bool:
        return bool(self.quantity_percent != 100 or self.quantity_reserve or self.quantity_max is not None
                    or self.quantity_min)


def apply_ending(price: Decimal, ending: str) -> Decimal:
    """The smallest price >= ``price`` whose last digits are ``ending``. The ending's digits before
    the point set how many whole units repeat: '.99' every 1.00, '9.99' every 10.00, '9' every 10."""
    if "." in ending:
        whole, cents = ending.split(".")
        tail = Decimal(f"{whole or '0'}.{cents}")
        step = Decimal(10) ** len(whole)
    else:
        tail, step = Decimal(ending), Decimal(10)
    base = (price - tail) / step
    candidate = base.to_integral_value(rounding=ROUND_CEILING) * step + tail
    return candidate.quantize(CENT)


def rule_price(rule: SellingRule, final_price: Decimal) -> Decimal:
    """The price Walmart gets for a Commerce final price under ``rule`` (two decimals)."""
    price = final_price * (1 + rule.price_markup_percent / 100) + rule.price_markup_fixed
    price = price.quantize(CENT, rounding=ROUND_HALF_UP)
    if rule.price_ending is not None and price > 0:
        price = apply_ending(price, rule.price_ending)
    if rule.price_floor is not None and price < rule.price_floor:
        price = rule.price_floor
    if rule.price_ceiling is not None and price > rule.price_ceiling:
        price = rule.price_ceiling
    return price


def rule_quantity(rule: SellingRule, salable: int) -> int:
    """The quantity Walmart gets for a salable quantity (already whole and >= 0) under ``rule``."""
    offered = max(0, salable - rule.quantity_reserve)
    offered = math.floor(Decimal(offered) * rule.quantity_percent / 100)
    if rule.quantity_max is not None:
        offered = min(offered, rule.quantity_max)
    return 0 if offered < rule.quantity_min else offered


class ProductGroups(BaseModel):
    """What a rule is chosen by, as read from Commerce for one product."""

    model_config = ConfigDict(frozen=True)

    attribute_set_id: int | None = None
    attribute_set_name: str | None = None
    category_ids: tuple[int, ...] = ()
    rule_attribute_value: str | None = None


class RuleChoice(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    rule: SellingRule
    why: str


def choose_rule(default: SellingRule, rules: dict[str, SellingRule], by_attribute_set: dict[str, str],
                by_category: dict[int, str], groups: ProductGroups | None) -> RuleChoice:
    """The product's own rule (its attribute names one), else its category's (the lowest category
    id wins when several map: deterministic, and documented), else its attribute set's (by name or
    id), else the default. An attribute naming an unknown rule falls through, so a typo in the
    catalogue never stops a push (the lookup shows why)."""
    if groups is not None:
        named = (groups.rule_attribute_value or "").strip()
        if named and named in rules:
            return RuleChoice(name=named, rule=rules[named], why="the product's selling-rule attribute")
        for category in sorted(groups.category_ids):
            if category in by_category:
                name = by_category[category]
                return RuleChoice(name=name, rule=rules[name], why=f"category {category}")
        for key in (groups.attribute_set_name, None if groups.attribute_set_id is None else str(groups.attribute_set_id)):
            if key is not None and key in by_attribute_set:
                name = by_attribute_set[key]
                return RuleChoice(name=name, rule=rules[name], why=f"attribute set {key}")
    return RuleChoice(name="default", rule=default, why="the default rule")
