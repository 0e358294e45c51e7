"""Read what a selling rule is chosen by (mappings/selling_rules.py ``choose_rule``): each product's
attribute set, its categories and the value of the attribute that names its rule.

The rule attribute may be a text attribute (its value is the rule's name) or a dropdown, whose int
value is an option id: the name is then the option's admin label (``eav_attribute_option_value``
at store 0), what the merchant typed when creating the option, as Magento's
``Magento\\Eav\\Model\\Entity\\Attribute\\Source\\Table`` reads labels. Categories are
``catalog_category_product`` rows keyed by entity_id in both editions (Magento's category links
are not staged).
"""

from __future__ import annotations

from collections.abc import Iterable

from mappings.selling_rules import ProductGroups
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader

CHUNK = 500  # below MariaDB's in_predicate_conversion_threshold (1000), where IN lists turn slow


class ProductGroupReader:
    def __init__(self, conn: DbConnection, store_id: int, rule_attribute: str | None):
        self.conn = conn
        self.rule_attribute = rule_attribute
        self.eav = EavReader(conn, store_id, [rule_attribute] if rule_attribute else [])
        with conn.cursor() as cur:
            cur.execute("SELECT attribute_set_id, attribute_set_name FROM eav_attribute_set")
            self.set_names = {int(i): str(n) for i, n in cur.fetchall()}
            self.dropdown = False
            if rule_attribute and rule_attribute in self.eav.attribute_ids:
                cur.execute("SELECT backend_type, frontend_input FROM eav_attribute WHERE attribute_id = %s",
                            (self.eav.attribute_ids[rule_attribute],))
                backend, frontend = cur.fetchone() or (None, None)
                self.dropdown = backend == "int" and frontend in ("select", "multiselect")

    def read(self, skus: Iterable[str]) -> dict[str, ProductGroups]:
        wanted = sorted(set(skus))
        products = {row.sku: row for row in self.eav.products(wanted)}
        categories: dict[int, list[int]] = {}
        with self.conn.cursor() as cur:
            ids = sorted(row.entity_id for row in products.values())
            for start in range(0, len(ids), CHUNK):
                part = ids[start:start + CHUNK]
                cur.execute("SELECT product_id, category_id FROM catalog_category_product WHERE product_id IN "
                            f"({', '.join(['%s'] * len(part))})", part)
                for product_id, category_id in cur.fetchall():
                    categories.setdefault(int(product_id), []).append(int(category_id))
        named = self._rule_names(list(products)) if self.rule_attribute else {}
        return {sku: ProductGroups(attribute_set_id=row.attribute_set_id,
                                   attribute_set_name=self.set_names.get(row.attribute_set_id),
                                   category_ids=tuple(sorted(categories.get(row.entity_id, ()))),
                                   rule_attribute_value=named.get(sku))
                for sku, row in products.items()}

    def attribute_texts(self, skus: list[str]) -> dict[str, str]:
        """SKU -> the attribute's value as text (a dropdown's option admin label), where it has one."""
        return self._rule_names(skus) if self.rule_attribute else {}

    def _rule_names(self, skus: list[str]) -> dict[str, str]:
        assert self.rule_attribute is not None
        raw = {sku: values.get(self.rule_attribute) for sku, values in self.eav.values(skus).items()}
        if not self.dropdown:
            return {sku: str(value) for sku, value in raw.items() if value not in (None, "")}
        option_ids = sorted({int(str(v).split(",")[0]) for v in raw.values() if v not in (None, "")})
        labels: dict[int, str] = {}
        with self.conn.cursor() as cur:
            for start in range(0, len(option_ids), CHUNK):
                part = option_ids[start:start + CHUNK]
                cur.execute("SELECT option_id, value FROM eav_attribute_option_value WHERE store_id = 0 AND option_id IN "
                            f"({', '.join(['%s'] * len(part))})", part)
                labels.update({int(o): str(v) for o, v in cur.fetchall()})
        return {sku: labels[int(str(v).split(",")[0])] for sku, v in raw.items()
                if v not in (None, "") and int(str(v).split(",")[0]) in labels}
