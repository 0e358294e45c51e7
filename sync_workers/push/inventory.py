"""`walmart-sync work inventory`: keep Walmart's quantity equal to Commerce's salable quantity.

The quantity is MSI's salable quantity for the configured stock (mappings/inventory.py), 0 for a
product the store view does not sell (disabled there, not on its website:
sync_workers/commerce/salable.py), read for the SKUs the stock events name; pushing, feeds and retries are the ValueWorker's.
"""

from __future__ import annotations

from typing import Any

from config.components import consumed_by
from mappings.inventory import inventory_feed, walmart_quantity
from sync_workers.commerce.salable import read_positions
from sync_workers.push.value_worker import ValueWorker


class InventoryWorker(ValueWorker):
    name = "inventory"
    families = consumed_by("inventory")
    feed_type = "inventory"
    single_api = "inventory_put"
    # a cataloginventory/item_options/* setting changed (cdc_listener/translate.py): every product may sell
    # differently now, and no product row says so
    catalogue_event_types = frozenset({"stock_config"})

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        mapping = self.settings.mapping
        positions = read_positions(self.commerce, skus, mapping.stock_id, mapping.msi_enabled, mapping.store_id,
                                   mapping.website_id)
        return {sku: str(walmart_quantity(p, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity))
                for sku, p in positions.items()}

    def push_single(self, sku: str, value: str) -> None:
        self.client.update_inventory(sku, int(value), self.settings.workers.ship_node)

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        return inventory_feed({sku: int(v) for sku, v in values.items()})

    def _feed_options(self) -> dict[str, Any]:
        return {"ship_node": self.settings.workers.ship_node}
