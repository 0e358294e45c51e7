"""The order importer in shadow mode against the Commerce and Walmart emulators: a trial needs no
change to Commerce, so on a stock Magento (no companion module) the importer goes on, places
nothing, acknowledges nothing, and records the PO as what it would import."""

from __future__ import annotations

import pytest

from sync_workers.stores.shadow import ShadowLedger
from tests.support.handlers import CLIENT_ID, handler_world
from tests.support.records import deliver, polled_record
from tests.unit.sync_workers.pull.test_order_import_module import commerce_as, commerce_orders


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("order_shadow"), commerce_api=True) as running:
        yield running


def test_shadow_mode_imports_nothing_even_without_the_module_and_records_the_po(world) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000002", "quantity": 3, "unitPrice": 4.0}])
    po = order.purchase_order_id
    importer = world.handler("order_import", world.with_settings(walmart={"mode": "shadow"}))
    with commerce_as(world, module_version=None):
        assert deliver(importer, [polled_record(world.prefix, order.to_json())]) == []
        importer.tick()  # acknowledges nothing in shadow mode
    assert commerce_orders(world, po) == []
    assert world.order_map().state(po) is None
    assert world.walmart.writes_received["order_acknowledge"] == 0
    assert order.lines[0].statuses[0].status == "Created"
    held = {(e.kind, e.key): e for e in ShadowLedger(world.state_conn).of_key(po)}
    assert held[("order_import", po)].value == "1 line" and '"qty":3' in held[("order_import", po)].payload
    assert ("acknowledge", po) in held
    assert held[("order_import", po)].latency_ms is not None
