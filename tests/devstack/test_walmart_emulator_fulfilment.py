"""The Walmart emulator's fulfilment rules (issue 21), asked through the sidecar's own client: ship
methods and their dates on orders and lines, shipNodeType on GET /v3/orders, WFS orders the seller
cannot act on, WFS nodes the seller cannot write, and the ship-by + 4 days auto-cancel."""

from __future__ import annotations

import pytest

from config.settings import WalmartSettings
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError
from sync_workers.walmart.orders import CancelLine, ShipLine

CLIENT = "local-client"
WFS_NODE, NODE = "9000000001", "1000000001"


@pytest.fixture
def walmart():
    emulator = WalmartEmulator({CLIENT: "local-secret"})
    emulator.seed_items(CLIENT, ["A", "B"])
    emulator.add_ship_node(CLIENT, NODE)
    emulator.add_ship_node(CLIENT, WFS_NODE, "WFSFulfilled")
    with EmulatorServer(emulator) as server:
        yield emulator, WalmartClient(WalmartSettings(base_url=server.url, client_id=CLIENT,
                                                      client_secret="local-secret"))


def test_methods_dates_and_ship_node_types(walmart) -> None:
    emulator, client = walmart
    express = emulator.create_order(CLIENT, [{"sku": "A"}, {"sku": "B", "methodCode": "Value"}], method_code="Express",
                                    ship_node=NODE)
    wfs = emulator.create_order(CLIENT, [{"sku": "A"}], fulfilled_by="WFSFulfilled")
    listed = {o.purchaseOrderId: o for o in client.orders.list_orders()}
    assert set(listed) == {express.purchase_order_id}  # seller-fulfilled only, as Walmart's default
    seen = listed[express.purchase_order_id]
    assert seen.ship_method == "Express" and seen.ship_node_id == NODE and not seen.fulfilled_by_walmart
    assert [line.ship_method for line in seen.orderLines.orderLine] == ["EXPRESS", "VALUE"]
    assert seen.deliver_by_ms - seen.ship_by_ms == 86_400_000
    wfs_listed = list(client.orders.list_orders(shipNodeType="WFSFulfilled"))
    assert [o.purchaseOrderId for o in wfs_listed] == [wfs.purchase_order_id]
    assert wfs_listed[0].fulfilled_by_walmart and wfs_listed[0].ship_node_id == WFS_NODE
    with pytest.raises(WalmartClientError, match="shipNodeType"):
        list(client.orders.list_orders(shipNodeType="Amazon"))


def test_the_seller_cannot_act_on_a_wfs_order_nor_write_a_wfs_node(walmart) -> None:
    emulator, client = walmart
    wfs = emulator.create_order(CLIENT, [{"sku": "A"}], fulfilled_by="WFSFulfilled")
    po = wfs.purchase_order_id
    for act in (lambda: client.orders.acknowledge(po), lambda: client.orders.cancel(po, [CancelLine("1", 1)]),
                lambda: client.orders.ship(po, [ShipLine("1", 1, "S1", "1Z", carrier="UPS")])):
        with pytest.raises(WalmartClientError) as refused:
            act()
        assert "fulfilled by Walmart (WFS)" in str(refused.value.details[0].description)
    assert wfs.lines[0].quantity_in("Created") == 1
    emulator.set_wfs_inventory(CLIENT, "A", WFS_NODE, 12)
    with pytest.raises(WalmartClientError) as refused:
        client.update_inventory("A", 5, WFS_NODE)
    assert "Walmart Fulfillment Services node" in str(refused.value.details[0].description)
    assert client.update_inventories("A", {NODE: 4, WFS_NODE: 5}) == {NODE: "Success", WFS_NODE: "Failed"}
    assert client.get_inventories("A")[WFS_NODE] == 12 and client.get_inventories("A")[NODE] == 4
    with pytest.raises(ValueError, match="numeric"):
        emulator.add_ship_node(CLIENT, "wh_east")


def test_lines_not_shipped_by_the_ship_by_date_plus_four_days_are_auto_cancelled(walmart) -> None:
    emulator, client = walmart
    late = emulator.create_order(CLIENT, [{"sku": "A", "quantity": 2}, {"sku": "B"}])
    client.orders.acknowledge(late.purchase_order_id)
    client.orders.ship(late.purchase_order_id, [ShipLine("2", 1, "S1", "1Z", carrier="UPS")])
    wfs = emulator.create_order(CLIENT, [{"sku": "A"}], fulfilled_by="WFSFulfilled")
    deadline = late.estimated_ship_date + 4 * 86_400_000
    assert emulator.apply_ship_by_rule(CLIENT, deadline - 1) == {}
    assert emulator.apply_ship_by_rule(CLIENT, deadline) == {late.purchase_order_id: ["1"]}
    line = client.orders.get(late.purchase_order_id).line("1")
    assert line.quantity("Cancelled") == 2 and line.orderLineStatuses.orderLineStatus[0].cancellationReason == \
        "AUTO_CANCEL"
    assert client.orders.get(late.purchase_order_id).line("2").quantity("Shipped") == 1
    assert wfs.lines[0].quantity_in("Created") == 1  # Walmart's own orders are not the seller's to lose
