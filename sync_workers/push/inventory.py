"""`walmart-sync work inventory`: keep Walmart's quantity equal to Commerce's salable quantity.

The quantity is MSI's salable quantity for the configured stock (mappings/inventory.py), read for
the SKUs the stock events name, then the SKU's selling rule (share, reserve, cap, minimum:
mappings/selling_rules.py); pushing, feeds and retries are the ValueWorker's.
"""

from __future__ import annotations

from typing import Any

from config.components import consumed_by
from mappings.inventory import inventory_feed, walmart_quantity
from mappings.selling_rules import rule_quantity
from sync_workers.commerce.salable import read_positions
from sync_workers.push.value_worker import ValueWorker


class InventoryWorker(ValueWorker):
    name = "inventory"
    families = consumed_by("inventory")
    feed_type = "inventory"
    single_api = "inventory_put"
    selling_family = "quantity"

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        mapping = self.settings.mapping
        positions = read_positions(self.commerce, skus, mapping.stock_id, mapping.msi_enabled)
        rules = self.rules.choices(positions)
        targets = {}
        for sku, position in positions.items():
            salable = walmart_quantity(position, mapping.inventory_safety_buffer)
            targets[sku] = str(rule_quantity(rules[sku].rule, salable))
            if targets[sku] != str(salable):
                self.log.debug("selling rule applied", sku=sku, rule=rules[sku].name, why=rules[sku].why,
                               commerce=salable, walmart=targets[sku])
        return targets

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_inventory(sku, int(value), self.settings.workers.ship_node)

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return inventory_feed({sku: int(v) for sku, v in values.items()})

    def _feed_options(self) -> dict[str, Any]:
        return {"ship_node": self.settings.workers.ship_node}
