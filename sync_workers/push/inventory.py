"""`walmart-sync work inventory`: keep Walmart's quantity equal to Commerce's salable quantity.

The quantity is MSI's salable quantity for the configured stock (mappings/inventory.py), 0 for a
product the store view does not sell (disabled there, not on its website:
sync_workers/commerce/salable.py); a bundle's is what its components make (mappings/bundles.py),
and a component's change re-reads every bundle holding it in the same batch; then the SKU's
selling rule (share, reserve, cap, minimum: mappings/selling_rules.py), read for the SKUs the
stock events name; pushing, feeds and retries are the ValueWorker's. ``quantity_targets`` is also
what the reconciler compares Walmart with.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from config import Settings
from config.components import consumed_by
from mappings.bundles import Bundle, bundle_quantity
from mappings.inventory import (
    StockPosition,
    always_sold,
    inventory_feed,
    mp_inventory_feed,
    node_value,
    parse_node_value,
    walmart_quantity,
)
from mappings.selling_rules import rule_quantity
from plumbing.db import DbConnection
from sync_workers.commerce.composites import CompositeReader
from sync_workers.commerce.eav import EavReader
from sync_workers.commerce.salable import DEFAULT_STOCK_ID, read_positions, sold_in_store_view
from sync_workers.push.lag_time import LagTimeSync
from sync_workers.push.selling import SellingRules
from sync_workers.push.value_worker import ValueWorker
from sync_workers.walmart.errors import WalmartClientError
from sync_workers.walmart.feeds import FeedType


def quantity_targets(settings: Settings, commerce: DbConnection, rules: SellingRules, skus: Iterable[str],
                     log: Any = None, composites: CompositeReader | None = None) -> dict[str, str]:
    """SKU -> the quantity Walmart should show now: Magento's salable quantity for the channel's
    stock and store view (a bundle's: from its components, ``bundle_targets``), then the SKU's
    selling rule (one computation for the worker that pushes it and the reconciler that checks
    Walmart against it). With ``workers.ship_nodes`` the value names each node's quantity
    (mappings/inventory.py ``node_value``)."""
    mapping = settings.mapping
    wanted = set(skus)
    composites = composites or CompositeReader(commerce, mapping.store_id)
    bundles = composites.bundles(wanted) if wanted else {}
    components = {s.sku for b in bundles.values() for o in b.options for s in o.selections}
    positions = read_positions(commerce, wanted | components, mapping.stock_id, mapping.msi_enabled,
                               mapping.store_id, mapping.website_id)
    chosen = rules.choices(wanted)
    if settings.workers.ship_nodes:
        return _node_targets(settings, commerce, chosen, wanted, bundles, positions, composites.eav)
    salable = _salable(settings, commerce, wanted, bundles, positions, composites.eav)
    targets = {}
    for sku in sorted(wanted):
        targets[sku] = str(rule_quantity(chosen[sku].rule, salable[sku]))
        if log is not None and targets[sku] != str(salable[sku]):
            log.debug("selling rule applied", sku=sku, rule=chosen[sku].name, why=chosen[sku].why,
                      commerce=salable[sku], walmart=targets[sku])
    return targets


def _salable(settings: Settings, commerce: DbConnection, wanted: set[str], bundles: dict[str, Bundle],
             positions: dict[str, StockPosition], eav: EavReader) -> dict[str, int]:
    """SKU -> Walmart's quantity before the selling rule, from one stock's (or node's) positions."""
    mapping = settings.mapping
    out = {sku: walmart_quantity(position, mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity)
           for sku, position in positions.items() if sku in wanted}
    out.update(bundle_targets(settings, commerce, bundles, positions, eav))
    return out


def bundle_targets(settings: Settings, commerce: DbConnection, bundles: dict[str, Bundle],
                   positions: dict[str, StockPosition], eav: EavReader) -> dict[str, int]:
    """A bundle's quantity: how many its components can make (mappings/bundles.py, Magento's
    ``GetBundleProductStockStatus``), 0 where the store view does not sell the bundle itself,
    then the safety buffer; the components count without theirs (the buffer keeps bundles back,
    not units of each part). Components Magento always sells do not bound it; a bundle nothing
    bounds shows ``mapping.unlimited_stock_quantity``."""
    if not bundles:
        return {}
    mapping = settings.mapping
    sold = sold_in_store_view(commerce, eav, sorted(bundles), mapping.website_id,
                              not mapping.msi_enabled or mapping.stock_id == DEFAULT_STOCK_ID)
    component: dict[str, int | None] = {
        sku: None if always_sold(p) else walmart_quantity(p, 0, mapping.unlimited_stock_quantity)
        for sku, p in positions.items()}
    out = {}
    for sku, bundle in bundles.items():
        count = bundle_quantity(bundle, component) if sku in sold else 0
        out[sku] = mapping.unlimited_stock_quantity if count is None else \
            max(0, count - mapping.inventory_safety_buffer)
    return out


def _node_targets(settings: Settings, commerce: DbConnection, chosen: Any, wanted: set[str],
                  bundles: dict[str, Bundle], positions: dict[str, StockPosition],
                  eav: EavReader) -> dict[str, str]:
    """Each node's quantity is MSI's rule over the node's own sources (in stock, enabled, linked to
    the stock). MSI reserves per stock, not per source, so every node subtracts all of the stock's
    open reservations: together the nodes never offer more than Magento would sell, and once a
    shipment deducts the units from the source they left (its reservation compensated), each node
    is exact again. A bundle ships from one node whole: each node's bundle count is made of that
    node's components. The selling rule (chosen on the whole stock) applies to each node's quantity."""
    mapping = settings.mapping
    per_node: dict[str, dict[str, int]] = {sku: {} for sku in wanted}
    for node, sources in settings.workers.ship_nodes.items():
        at_node = read_positions(commerce, set(positions), mapping.stock_id, mapping.msi_enabled, mapping.store_id,
                                 mapping.website_id, sources=sources)
        for sku, salable in _salable(settings, commerce, wanted, bundles, at_node, eav).items():
            per_node[sku][node] = rule_quantity(chosen[sku].rule, salable)
    return {sku: node_value(nodes) for sku, nodes in per_node.items()}


class InventoryWorker(ValueWorker):
    name = "inventory"
    families = consumed_by("inventory")
    feed_type: FeedType = "inventory"
    single_api = "inventory_put"
    selling_family = "quantity"
    # a cataloginventory/item_options/* setting changed (cdc_listener/translate.py): every product may sell
    # differently now, and no product row says so
    catalogue_event_types = frozenset({"stock_config"})

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._composites: CompositeReader | None = None  # the current batch's (types read once a batch)
        self.lag_times = LagTimeSync(self.settings, self.client, self.commerce, self.state.conn, self._catalogue,
                                     self.clock)
        self._multi_node()

    def _pushable(self, skus: set[str]) -> set[str]:
        """A component's change is the bundles' change too: they are read in the same batch."""
        self._composites = CompositeReader(self.commerce, self.settings.mapping.store_id)  # one per batch
        if skus:
            skus = skus | self._composites.bundles_containing(skus)
        return super()._pushable(skus)

    def _batch_composites(self) -> CompositeReader | None:
        return self._composites

    def tick(self) -> None:
        super().tick()
        self.lag_times.tick()  # lag time rides with quantity, on its own feed budget

    def read_targets(self, skus: set[str]) -> dict[str, str]:
        return quantity_targets(self.settings, self.commerce, self.rules, skus, self.log, self._composites)

    def _multi_node(self) -> None:
        if self.settings.workers.ship_nodes:
            # several nodes: one PUT /v3/inventories/{sku} carries every node's quantity, and bulk
            # pushes go as the multi-node MP_INVENTORY feed (inventory.yml; 50 feeds an hour)
            self.feed_type = "MP_INVENTORY"
            self.single_api = "inventories_put"

    def push_single(self, sku: str, value: str) -> None:
        if self.settings.workers.ship_nodes:
            refused = {node: status for node, status in
                       self.client.update_inventories(sku, parse_node_value(value)).items() if status != "Success"}
            if refused:
                raise WalmartClientError(f"Walmart refused the quantity of {sku} at node(s) {refused}", 400)
            return
        self.client.update_inventory(sku, int(value), self.settings.workers.ship_node)

    def feed_payload(self, values: dict[str, str]) -> dict[str, Any]:
        if self.settings.workers.ship_nodes:
            return mp_inventory_feed({sku: parse_node_value(v) for sku, v in values.items()})
        return inventory_feed({sku: int(v) for sku, v in values.items()})

    def _feed_options(self) -> dict[str, Any]:
        return {} if self.settings.workers.ship_nodes else {"ship_node": self.settings.workers.ship_node}
