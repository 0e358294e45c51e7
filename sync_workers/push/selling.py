"""The selling rules of each SKU (mappings/selling_rules.py), for the value workers and the lookup.

Product groups are read only when some rule can change a value (``selling.active()``): a store
with no rules pays no query. A rule change re-evaluates every SKU once, at the next start of the
worker whose family it affects: the digest of the rules each family's values were computed under
is kept in the state store (``selling_rules_applied``) and compared at start, so a new markup
reaches Walmart without waiting for each product to change in Commerce; so does switching
``price.promotions`` (its value is part of the price family's digest when on).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from config import Settings
from mappings.selling_rules import RuleChoice, choose_rule
from plumbing.db import DbConnection, transaction
from sync_workers.commerce.product_groups import ProductGroupReader

APPLIED_DDL = """
CREATE TABLE IF NOT EXISTS selling_rules_applied (
  family VARCHAR(16) NOT NULL PRIMARY KEY,
  digest CHAR(16) NOT NULL,
  applied_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


class SellingRules:
    def __init__(self, settings: Settings, commerce: DbConnection):
        self.selling = settings.selling
        self.commerce = commerce
        self.store_id = settings.mapping.store_id
        self._reader: ProductGroupReader | None = None

    def choices(self, skus: Iterable[str]) -> dict[str, RuleChoice]:
        """SKU -> the rule that decides its values (the default for SKUs Commerce does not have)."""
        s = self.selling
        wanted = sorted(set(skus))
        if not s.active():
            default = choose_rule(s.default, s.rules, s.by_attribute_set, s.by_category, None)
            return {sku: default for sku in wanted}
        if self._reader is None or self._reader.eav.missing:
            # an attribute the store does not have (yet): asked again at every read until the
            # merchant creates it, so its values count from then on without a restart
            self._reader = ProductGroupReader(self.commerce, self.store_id, s.rule_attribute)
        groups = self._reader.read(wanted)
        return {sku: choose_rule(s.default, s.rules, s.by_attribute_set, s.by_category, groups.get(sku))
                for sku in wanted}


def rules_changed_since_applied(state: DbConnection, settings: Settings, family: Literal["price", "quantity"]) -> bool:
    """True when ``family``'s values were computed under other rules than today's. The caller
    schedules the re-evaluation first and then calls ``record_rules_applied``: a crash between the
    two re-evaluates again (harmless), never not at all. A store that never had rules has nothing
    to re-evaluate."""
    with state.cursor() as cur:
        cur.execute(APPLIED_DDL)
        cur.execute("SELECT digest FROM selling_rules_applied WHERE family = %s", (family,))
        row = cur.fetchone()
    stored = None if row is None else str(row[0])
    return stored != applied_digest(settings, family) and (stored is not None or settings.selling.active()
                                                           or (family == "price" and promotions_on(settings)))


def promotions_on(settings: Settings) -> bool:
    return settings.price.promotions != "base_only"


def applied_digest(settings: Settings, family: Literal["price", "quantity"]) -> str:
    """The rules' digest; for prices with ``price.promotions`` on, that too (switching it re-sends every
    price, with or without its promotion). base_only keeps the digest it always had."""
    digest = settings.selling.digest(family)
    if family != "price" or not promotions_on(settings):
        return digest
    import hashlib

    return hashlib.sha256(f"{digest}|{settings.price.promotions}".encode()).hexdigest()[:16]


def record_rules_applied(state: DbConnection, settings: Settings, family: Literal["price", "quantity"]) -> None:
    with transaction(state) as cur:
        cur.execute("INSERT INTO selling_rules_applied (family, digest) VALUES (%s, %s) "
                    "ON DUPLICATE KEY UPDATE digest = VALUES(digest)", (family, applied_digest(settings, family)))
