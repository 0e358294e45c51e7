"""Orders the way a Walmart seller runs them (issue 21): the ship method and Walmart's dates carried
into Commerce and shipped with the line's method code; WFS orders recorded without touching stock and
never acted on; several ship nodes, each publishing its own sources' quantity.

Walmart poller -> Kafka -> importer -> Commerce (REST emulator, the module's contract) -> binlog ->
listener -> shipment / inventory workers -> Walmart emulator."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.support.cdc_helpers import wait_for
from tests.support.order_helpers import order_pipeline, state_of


def _utc(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _commerce_order(env, po: str) -> tuple[int, str]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT entity_id, shipping_method FROM sales_order WHERE ext_order_id = %s", (po,))
        rows = cur.fetchall()
    assert len(rows) == 1, rows
    return int(rows[0][0]), str(rows[0][1])


def _comments(env, order_id: int) -> list[str]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT comment FROM sales_order_status_history WHERE parent_id = %s ORDER BY entity_id",
                    (order_id,))
        return [str(c) for (c,) in cur.fetchall()]


def _module_row(env, po: str) -> tuple:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT ship_method, estimated_ship_date, estimated_delivery_date, fulfillment, ship_node, "
                    "source_code FROM walmart_sync_marketplace_order WHERE purchase_order_id = %s", (po,))
        return cur.fetchone()


def _facts(settings, po: str) -> tuple:
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import connect_state

    return OrderMap(connect_state(settings)).facts(po)


def test_an_express_order_arrives_with_its_method_and_dates_and_ships_with_each_lines_method(stack, tmp_path) -> None:
    # the operator's table: Walmart's Express becomes the store's "next_day_air" method of the module's carrier
    with order_pipeline(stack, tmp_path, workers=("order_import", "shipment"), listener=True,
                        mapping={"ship_method_map": {"Express": "next_day_air", "Standard": "ground"}}) as \
            (env, settings, walmart, merchant, runners):
        order = walmart.create_order("local-client", [
            {"sku": "WS-000003", "quantity": 2, "unitPrice": 11.25},
            # a line Walmart sold with a method of its own (fulfillment.shipMethod STANDARD)
            {"sku": "WS-000004", "quantity": 1, "unitPrice": 30.0, "methodCode": "Standard"}], method_code="Express")
        po = order.purchase_order_id
        document = order.to_json()
        ship_by, deliver_by = (document["shippingInfo"]["estimatedShipDate"],
                               document["shippingInfo"]["estimatedDeliveryDate"])
        assert deliver_by - ship_by == 86_400_000  # the emulator's Express promise: shipped in a day, there the next
        wait_for(lambda: (s := state_of(settings, po)) and s.status == "acknowledged", 30, "the PO acknowledged")

        order_id, shipping_method = _commerce_order(env, po)
        assert shipping_method == "walmartsync_next_day_air"  # the mapped method, not one fixed method
        placement = _comments(env, order_id)[0]
        assert "ship method Express" in placement
        assert f"ship by {_utc(ship_by)} UTC" in placement and f"deliver by {_utc(deliver_by)} UTC" in placement
        method, ship_date, delivery_date, fulfillment, _node, source = _module_row(env, po)
        assert (method, str(ship_date), str(delivery_date), fulfillment, source) == (
            "Express", _utc(ship_by), _utc(deliver_by), "SellerFulfilled", None)
        facts = _facts(settings, po)  # the sidecar's own record of them
        assert (facts.ship_method, facts.ship_by, facts.deliver_by, facts.walmart_fulfilled) == (
            "Express", ship_by, deliver_by, False)

        merchant.ship(order_id)  # the warehouse ships everything with one UPS track
        seller = walmart.seller("local-client")
        wait_for(lambda: all(line.quantity_in("Shipped") == line.quantity for line in seller.orders[po].lines), 30,
                 "both lines shipped on Walmart")
        methods = {line.number: {s.tracking["methodCode"] for s in line.statuses if s.tracking}
                   for line in seller.orders[po].lines}
        assert methods == {"1": {"Express"}, "2": {"Standard"}}


WFS_NODE = "9000000001"


def _reservations(env, order_id: int) -> list[tuple]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT sku, quantity FROM inventory_reservation WHERE metadata LIKE %s",
                    (f'%"object_id":"{order_id}"%',))
        return list(cur.fetchall())


def _on_hand(env, sku: str) -> float:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(quantity) FROM inventory_source_item WHERE sku = %s", (sku,))
        return float(cur.fetchone()[0])


def test_a_wfs_order_is_recorded_without_touching_stock_and_never_acted_on(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, workers=("order_import", "shipment", "cancellation"), listener=True,
                        worker_settings={"wfs_orders": "import", "wfs_ship_nodes": [WFS_NODE]}) as \
            (env, settings, walmart, merchant, runners):
        walmart.add_ship_node("local-client", WFS_NODE, "WFSFulfilled")
        on_hand = _on_hand(env, "WS-000005")
        # more than Commerce holds: Walmart ships it from its own warehouse, Commerce's stock is not asked
        wfs = walmart.create_order("local-client", [{"sku": "WS-000005", "quantity": int(on_hand) + 50}],
                                   fulfilled_by="WFSFulfilled")
        # Walmart often ships a WFS order before it is polled: it is still recorded, every unit sold
        shipped = walmart.create_order("local-client", [{"sku": "WS-000007", "quantity": 2}],
                                       fulfilled_by="WFSFulfilled")
        shipped.walmart_ships()
        seller = walmart.create_order("local-client", [{"sku": "WS-000006", "quantity": 1}])
        assert wfs.to_json()["shipNode"] == {"type": "WFSFulfilled", "name": "Walmart Fulfillment Services",
                                             "id": WFS_NODE}
        wait_for(lambda: (s := state_of(settings, wfs.purchase_order_id)) and s.status == "wfs_recorded", 30,
                 "the WFS order recorded")
        wait_for(lambda: (s := state_of(settings, shipped.purchase_order_id)) and s.status == "wfs_recorded", 30,
                 "the WFS order Walmart already shipped recorded")
        shipped_id, _ = _commerce_order(env, shipped.purchase_order_id)
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT sku, qty_ordered FROM sales_order_item WHERE order_id = %s", (shipped_id,))
            assert [(s, float(q)) for s, q in cur.fetchall()] == [("WS-000007", 2.0)]
        assert _reservations(env, shipped_id) == []
        wait_for(lambda: (s := state_of(settings, seller.purchase_order_id)) and s.status == "acknowledged", 30,
                 "the seller-fulfilled order acknowledged")
        order_id, _ = _commerce_order(env, wfs.purchase_order_id)
        assert "fulfilled by Walmart (WFS)" in _comments(env, order_id)[0]
        assert _module_row(env, wfs.purchase_order_id)[3:5] == ("WFSFulfilled", WFS_NODE)
        assert _facts(settings, wfs.purchase_order_id).walmart_fulfilled
        assert _reservations(env, order_id) == []  # nothing reserved ...
        seller_id, _ = _commerce_order(env, seller.purchase_order_id)
        assert _reservations(env, seller_id)  # ... while the seller's order reserved its unit
        assert _on_hand(env, "WS-000005") == on_hand
        # never acknowledged (Walmart takes none for WFS): its units stay Created
        assert [s.status for line in wfs.lines for s in line.statuses] == ["Created"]

        # the merchant ships and cancels the WFS record in Commerce by mistake: nothing goes to Walmart
        shipment_worker, cancellation_worker = runners[2].handler, runners[3].handler
        merchant.ship(order_id, {next(iter(_items(env, order_id))): 1})
        wait_for(lambda: shipment_worker.wfs_skipped >= 1, 30, "the shipment worker to pass the WFS order over")
        merchant.cancel(order_id)
        wait_for(lambda: cancellation_worker.wfs_skipped >= 1, 30, "the cancellation worker to pass it over")
        assert [s.status for line in wfs.lines for s in line.statuses] == ["Created"]
        calls = walmart.seller("local-client").calls
        assert calls["order_shipping"] == 0 and calls["order_cancel"] == 0 and calls["order_acknowledge"] == 1
        # the cancellation handed back no stock the placement never took
        assert _reservations(env, order_id) == []


def _items(env, order_id: int) -> dict[int, str]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT item_id, sku FROM sales_order_item WHERE order_id = %s", (order_id,))
        return {int(i): str(s) for i, s in cur.fetchall()}


def test_wfs_orders_are_ignored_by_default_as_walmart_lists_only_seller_fulfilled_ones(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path) as (env, settings, walmart, merchant, runners):
        walmart.add_ship_node("local-client", WFS_NODE, "WFSFulfilled")
        wfs = walmart.create_order("local-client", [{"sku": "WS-000005", "quantity": 1}], fulfilled_by="WFSFulfilled")
        seller = walmart.create_order("local-client", [{"sku": "WS-000006", "quantity": 1}])
        wait_for(lambda: (s := state_of(settings, seller.purchase_order_id)) and s.status == "acknowledged", 30,
                 "the seller-fulfilled order acknowledged")
        poller = runners[0]
        polls = poller.polls
        wait_for(lambda: poller.polls >= polls + 2, 10, "two more polls")
        assert state_of(settings, wfs.purchase_order_id) is None  # never listed, never published
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sales_order WHERE ext_order_id = %s", (wfs.purchase_order_id,))
            assert cur.fetchone()[0] == 0


NODE_A, NODE_B = "1000000001", "1000000002"


def _source_qty(env, sku: str) -> dict[str, float]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_code, quantity FROM inventory_source_item WHERE sku = %s AND status = 1", (sku,))
        return {str(code): float(qty) for code, qty in cur.fetchall()}


def test_two_ship_nodes_publish_their_own_sources_and_an_order_from_b_ships_from_bs_source(stack, tmp_path) -> None:
    nodes = {"ship_nodes": {NODE_A: ["wh_east"], NODE_B: ["wh_west"]}, "wfs_ship_nodes": [WFS_NODE]}
    with order_pipeline(stack, tmp_path, workers=("order_import", "shipment", "inventory"), listener=True,
                        worker_settings=nodes) as (env, settings, walmart, merchant, runners):
        for node in (NODE_A, NODE_B):
            walmart.add_ship_node("local-client", node)
        walmart.add_ship_node("local-client", WFS_NODE, "WFSFulfilled")
        walmart.set_wfs_inventory("local-client", "WS-000003", WFS_NODE, 40)  # Walmart's count, not ours
        sku = "WS-000003"
        before = _source_qty(env, sku)
        east, west = int(before["wh_east"]), int(before["wh_west"])
        assert east != west  # the seed gives the two warehouses different counts, so each node shows its own
        order = walmart.create_order("local-client", [{"sku": sku, "quantity": 1}], ship_node=NODE_B)
        po = order.purchase_order_id
        assert order.to_json()["shipNode"]["id"] == NODE_B
        wait_for(lambda: (s := state_of(settings, po)) and s.status == "acknowledged", 30, "the PO acknowledged")
        order_id, _ = _commerce_order(env, po)
        assert _module_row(env, po)[4:] == (NODE_B, "wh_west")  # the node's source named on the order
        assert f"ship node {NODE_B} (source wh_west)" in _comments(env, order_id)[0]

        seller = walmart.seller("local-client")
        # placed, not shipped: MSI reserves the unit on the stock, not a source, so both nodes hold it back
        wait_for(lambda: (seller.inventory.get((sku, NODE_A)), seller.inventory.get((sku, NODE_B))) ==
                 (east - 1, west - 1), 30, f"nodes A/B at {east - 1}/{west - 1}")
        calls = seller.calls["inventories_put"]
        assert calls >= 1 and seller.calls["inventory_put"] == 0  # one multi-node call per SKU, not one per node

        merchant.ship(order_id, source="wh_west")  # the merchant ships it from the source the order names
        wait_for(lambda: seller.orders[po].lines[0].quantity_in("Shipped") == 1, 30, "shipped on Walmart")
        after = _source_qty(env, sku)
        assert (after["wh_east"], after["wh_west"]) == (east, west - 1)
        # the reservation compensated, the unit gone from B's source: A has its own count again, B one less
        wait_for(lambda: (seller.inventory.get((sku, NODE_A)), seller.inventory.get((sku, NODE_B))) ==
                 (east, west - 1), 30, f"nodes A/B at {east}/{west - 1}")
        assert (sku, "default") not in seller.inventory  # the single-node default is not written
        assert seller.inventory[(sku, WFS_NODE)] == 40  # WFS inventory never pushed over
