"""The selling rules as the merchant configured them, computed with this oracle's own code.

The agreement check judges the sidecar's mappings/selling_rules.py; it must not reuse it. The
rules are read from the settings as plain values (``settings.selling.model_dump()``), the groups
with SQL of our own, and the arithmetic is written again from the documented behaviour
(docs/workers.md "Selling rules"): markup percent then fixed, rounded half-up to cents; the next
price with the configured ending; floor, then ceiling. Quantity: reserve off, share floored, cap,
nothing below the minimum. Rule choice: the product's attribute, the lowest mapped category, the
attribute set by name then id, the default.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any


def _price_after(price: Decimal, ending: str) -> Decimal:
    whole, _, cents = ending.partition(".")
    if not _:  # '9': whole units ending in 9
        tail, period = Decimal(int(ending)), Decimal(10)
    else:
        tail, period = Decimal(int(whole or 0)) + Decimal(int(cents)) / 100, Decimal(10 ** len(whole))
    # walk up period by period from the largest candidate not above the price
    candidate = (price // period) * period + tail
    while candidate < price:
        candidate += period
    while candidate - period >= price:
        candidate -= period
    return candidate.quantize(Decimal("0.01"))


def price_under(rule: dict[str, Any], price: Decimal) -> Decimal:
    markup = Decimal(str(rule.get("price_markup_percent") or 0))
    fixed = Decimal(str(rule.get("price_markup_fixed") or 0))
    value = (price + price * markup / 100 + fixed).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    if rule.get("price_ending") and value > 0:
        value = _price_after(value, str(rule["price_ending"]))
    floor, ceiling = rule.get("price_floor"), rule.get("price_ceiling")
    if floor is not None:
        value = max(value, Decimal(str(floor)))
    if ceiling is not None:
        value = min(value, Decimal(str(ceiling)))
    return value


def quantity_under(rule: dict[str, Any], quantity: int) -> int:
    left = quantity - int(rule.get("quantity_reserve") or 0)
    if left <= 0:
        return 0
    share = Decimal(str(rule.get("quantity_percent", 100)))
    offered = int((Decimal(left) * share) // 100)
    cap = rule.get("quantity_max")
    if cap is not None and offered > cap:
        offered = int(cap)
    return offered if offered >= int(rule.get("quantity_min") or 0) else 0


def rules_for(conn: Any, selling: dict[str, Any], skus: Iterable[str]) -> dict[str, dict[str, Any]]:
    """SKU -> the rule (a dict of the configured values) that applies to it."""
    wanted = sorted(set(skus))
    chosen = {sku: selling["default"] for sku in wanted}
    if not wanted:
        return chosen
    marks = ", ".join(["%s"] * len(wanted))
    with conn.cursor() as cur:
        cur.execute(f"SELECT p.sku, p.entity_id, s.attribute_set_name, p.attribute_set_id FROM catalog_product_entity p "
                    f"LEFT JOIN eav_attribute_set s ON s.attribute_set_id = p.attribute_set_id WHERE p.sku IN ({marks})",
                    wanted)
        products = {sku: (int(entity), name, int(set_id)) for sku, entity, name, set_id in cur.fetchall()}
        cur.execute(f"SELECT p.sku, MIN(c.category_id) FROM catalog_category_product c JOIN catalog_product_entity p "
                    f"ON p.entity_id = c.product_id WHERE p.sku IN ({marks}) AND c.category_id IN "
                    f"({', '.join(str(int(c)) for c in selling['by_category']) or 'NULL'}) GROUP BY p.sku", wanted)
        category = {sku: int(c) for sku, c in cur.fetchall() if c is not None}
        named: dict[str, str] = {}
        if selling.get("rule_attribute"):
            cur.execute("SELECT attribute_id, backend_type FROM eav_attribute WHERE attribute_code = %s "
                        "AND entity_type_id = (SELECT entity_type_id FROM eav_entity_type "
                        "WHERE entity_type_code = 'catalog_product')", (selling["rule_attribute"],))
            found = cur.fetchone()
            cur.execute("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                        "AND TABLE_NAME = 'catalog_product_entity' AND COLUMN_NAME = 'row_id'")
            link = "row_id" if cur.fetchone()[0] else "entity_id"  # Adobe Commerce keys values by version
            if found:
                attribute_id, backend = found
                cur.execute(f"SELECT p.sku, v.value FROM catalog_product_entity_{backend} v JOIN catalog_product_entity p "
                            f"ON p.{link} = v.{link} WHERE v.attribute_id = %s AND v.store_id = 0 "
                            f"AND p.sku IN ({marks})", [attribute_id, *wanted])
                raw = {sku: value for sku, value in cur.fetchall() if value not in (None, "")}
                if backend == "int":
                    cur.execute("SELECT option_id, value FROM eav_attribute_option_value WHERE store_id = 0")
                    labels = {str(o): str(v) for o, v in cur.fetchall()}
                    named = {sku: labels[str(v)] for sku, v in raw.items() if str(v) in labels}
                else:
                    named = {sku: str(v) for sku, v in raw.items()}
    rules = selling["rules"]
    for sku in wanted:
        if named.get(sku, "").strip() in rules:
            chosen[sku] = rules[named[sku].strip()]
        elif sku in category:
            chosen[sku] = rules[selling["by_category"][category[sku]]]
        elif sku in products:
            _entity, set_name, set_id = products[sku]
            key = set_name if set_name in selling["by_attribute_set"] else str(set_id)
            if key in selling["by_attribute_set"]:
                chosen[sku] = rules[selling["by_attribute_set"][key]]
    return chosen
