"""`walmart-sync work inventory`: keep Walmart's quantity equal to Commerce's salable quantity.

The quantity is MSI's salable quantity for the configured stock (mappings/inventory.py), 0 for a
product the store view does not sell (disabled there, not on its website:
sync_workers/commerce/salable.py), then the SKU's selling rule (share, reserve, cap, minimum:
mappings/selling_rules.py), read for the SKUs the stock events name; pushing, feeds and retries
are the ValueWorker's. ``quantity_targets`` is also what the reconciler compares Walmart with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from config import Settings
from config.components import consumed_by
from mappings.inventory import inventory_feed, walmart_quantity
from mappings.selling_rules import rule_quantity
from plumbing.db import DbConnection
from sync_workers.commerce.salable import read_positions
from sync_workers.push.lag_time import LagTimeSync
from sync_workers.push.selling import SellingRules
from sync_workers.push.value_worker import ValueWorker


def quantity_targets(settings: Settings, commerce: DbConnection, rules: SellingRules, skus: Iterable[str],
                     log: Any = None) -> dict[str, str]:
    """SKU -> the quantity Walmart should show now: Magento's salable quantity for the channel's
    stock and store view, then the SKU's selling rule (one computation for the worker that pushes
    it and the reconciler that checks Walmart against it)."""
    mapping = settings.mapping
    positions = read_positions(commerce, set(skus), mapping.stock_id, mapping.msi_enabled, mapping.store_id,
                               mapping.website_id)
    chosen = rules.choices(positions)
    targets = {}
    for sku, position in positions.items():
        salable = walmart_quantity(position, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity)
        targets[sku] = str(rule_quantity(chosen[sku].rule, salable))
        if log is not None and targets[sku] != str(salable):
            log.debug("selling rule applied", sku=sku, rule=chosen[sku].name, why=chosen[sku].why,
                      commerce=salable, walmart=targets[sku])
    return targets


class InventoryWorker(ValueWorker):
    name = "inventory"
    families = consumed_by("inventory")
    feed_type = "inventory"
    single_api = "inventory_put"
    selling_family = "quantity"
    # a cataloginventory/item_options/* setting changed (cdc_listener/translate.py): every product may sell
    # differently now, and no product row says so
    catalogue_event_types = frozenset({"stock_config"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lag_times = LagTimeSync(self.settings, self.client, self.commerce, self.state.conn, self._catalogue,
                                     self.clock)

    def tick(self) -> None:
        super().tick()
        self.lag_times.tick()  # lag time rides with quantity, on its own feed budget

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        return quantity_targets(self.settings, self.commerce, self.rules, skus, self.log)

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_inventory(sku, int(value), self.settings.workers.ship_node)

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return inventory_feed({sku: int(v) for sku, v in values.items()})

    def _feed_options(self) -> dict[str, Any]:
        return {"ship_node": self.settings.workers.ship_node}
