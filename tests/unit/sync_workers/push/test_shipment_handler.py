"""ShipmentWorker.handle() called directly with shipment events of Commerce orders that came from
Walmart, against the Commerce database and the Walmart emulator's orders."""

from __future__ import annotations

import json
import threading
from dataclasses import replace

import pytest

from sync_workers.runtime.errors import classify
from sync_workers.walmart.errors import WalmartClientError
from sync_workers.walmart.orders import ShipLine, _ship_line
from tests.support.handlers import CLIENT_ID, fast_client, handler_world, mapped_order, walmart_down
from tests.support.records import deliver

UPS = ("1Z999AA10123456784", "ups", "United Parcel Service")


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("shipment")) as running:
        yield running


@pytest.fixture(scope="module")
def worker(world):
    return world.handler("shipment")


def shipment(world, order_id: int, items: dict[int, int], track: tuple[str, str, str] | None = None) -> list[tuple]:
    """The rows Magento writes for a shipment (and its first track), as row changes."""
    changes = [world.changes.insert("sales_shipment", "INSERT INTO sales_shipment (order_id, store_id, total_qty) "
                                    "VALUES (%s, 2, %s)", (order_id, sum(items.values())))]
    shipment_id = changes[0][3]["entity_id"]
    for item_id, qty in items.items():
        changes.append(world.changes.insert(
            "sales_shipment_item", "INSERT INTO sales_shipment_item (parent_id, order_item_id, qty, sku) "
            "SELECT %s, item_id, %s, sku FROM sales_order_item WHERE item_id = %s", (shipment_id, qty, item_id)))
    if track:
        changes.append(track_change(world, order_id, shipment_id, track))
    return changes


def track_change(world, order_id: int, shipment_id: int, track: tuple[str, str, str]) -> tuple:
    return world.changes.insert("sales_shipment_track", "INSERT INTO sales_shipment_track (parent_id, order_id, "
                                "track_number, carrier_code, title) VALUES (%s, %s, %s, %s, %s)",
                                (shipment_id, order_id, *track))



def trackings(world, po: str, line: str) -> list[dict]:
    return [s.tracking for s in world.seller.orders[po].line(line).statuses if s.tracking]


def test_a_tracked_shipment_ships_its_lines_on_walmart(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000002", "quantity": 2}, {"sku": "WS-000003", "quantity": 1}])
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 2, order.items[1]: 1}, UPS))
    assert [json.loads(r.value)["type"] for r in records] == ["shipment", "shipment_item", "shipment_item",
                                                              "shipment_track"]
    assert {r.key for r in records} == {str(order.order_id).encode()}
    calls = world.calls("order_shipping")["order_shipping"]

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Shipped": 2}, "2": {"Shipped": 1}}
    assert world.calls("order_shipping")["order_shipping"] == calls + 1  # one call for the whole PO
    (tracking,) = trackings(world, order.po, "1")
    assert (tracking["carrierName"], tracking["trackingNumber"], tracking["methodCode"]) == \
        ({"carrier": "UPS"}, "1Z999AA10123456784", "Standard")
    assert "trackingURL" not in tracking  # a carrier Walmart knows needs none


def test_a_shipment_reads_the_walmart_order_once(world, worker) -> None:
    # the read that decides what to ship is also the "before" of the exactly-once check
    order = mapped_order(world, [{"sku": "WS-000008", "quantity": 2}])
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 2}, UPS))
    calls = world.calls("order", "order_shipping")

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Shipped": 2}}
    assert world.calls("order", "order_shipping") == {"order": calls["order"] + 1,
                                                      "order_shipping": calls["order_shipping"] + 1}


def test_a_shipment_waits_for_its_track_and_only_the_shipped_quantity_goes(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000004", "quantity": 3}])
    changes = shipment(world, order.order_id, {order.items[0]: 2})  # no tracking number yet
    shipment_id = changes[0][3]["entity_id"]
    calls = world.calls("order_shipping")["order_shipping"]
    assert deliver(worker, world.changes.changes(changes)) == []
    assert world.walmart_lines(order.po) == {"1": {"Created": 3}}
    assert world.calls("order_shipping")["order_shipping"] == calls

    track = world.changes.changes([track_change(world, order.order_id, shipment_id, ("AF-77", "custom",
                                                                                      "Acme Freight"))])
    assert deliver(worker, track) == []
    assert world.walmart_lines(order.po) == {"1": {"Created": 1, "Shipped": 2}}
    (tracking,) = trackings(world, order.po, "1")
    assert tracking["carrierName"] == {"otherCarrier": "Acme Freight"}
    assert tracking["trackingURL"] == "https://www.17track.net/en/track?nums=AF-77"


def test_the_same_records_twice_ship_nothing_the_second_time(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000005", "quantity": 2}, {"sku": "WS-000006", "quantity": 2}])
    first = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 2, order.items[1]: 1}, UPS))
    assert deliver(worker, first) == []
    calls = world.calls("order_shipping")
    assert deliver(worker, first) == []  # a replay after a crash between Walmart's update and the commit
    assert world.calls("order_shipping") == calls
    assert world.walmart_lines(order.po) == {"1": {"Shipped": 2}, "2": {"Created": 1, "Shipped": 1}}

    # a second shipment: only its own unit goes; replaying both shipments' events then sends nothing
    second = world.changes.changes(shipment(world, order.order_id, {order.items[1]: 1}, ("9400100000000000000000",
                                                                                         "usps", "USPS")))
    assert deliver(worker, second) == []
    assert world.walmart_lines(order.po) == {"1": {"Shipped": 2}, "2": {"Shipped": 2}}
    calls = world.calls("order_shipping")
    assert deliver(worker, first + second) == []
    assert world.calls("order_shipping") == calls


def test_a_line_the_customer_asked_to_cancel_ships_with_the_override_when_commerce_shipped_it(world, worker
                                                                                              ) -> None:
    # the goods left (a Commerce shipment with its track): Walmart must charge, not cancel; without
    # intentToCancelOverride Walmart refuses the shipment for good
    order = mapped_order(world, [{"sku": "WS-000011", "quantity": 1}, {"sku": "WS-000012", "quantity": 1}],
                         intent_to_cancel=("2",))
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 1, order.items[1]: 1}, UPS))

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Shipped": 1}, "2": {"Shipped": 1}}


def test_the_emulator_refuses_an_intent_to_cancel_line_shipped_without_a_true_override(world) -> None:
    walmart_order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000013", "quantity": 1}],
                                               intent_to_cancel=("1",))
    client = fast_client(world.settings)
    line = ShipLine("1", 1, "S1", "1Z999AA10123456784", carrier="UPS")
    with pytest.raises(WalmartClientError) as refused:
        client.orders.ship(walmart_order.purchase_order_id, [line])
    assert refused.value.details[0].field == "intentToCancelOverride"
    body = {"orderShipment": {"orderLines": {"orderLine": [{**_ship_line(line), "intentToCancelOverride": "false"}]}}}
    with pytest.raises(WalmartClientError):  # a string is not the boolean the spec asks for
        client._send("order_shipping", "POST", f"/v3/orders/{walmart_order.purchase_order_id}/shipping", json=body,
                     idempotent=False)
    client.orders.ship(walmart_order.purchase_order_id, [replace(line, intent_to_cancel_override=True)])
    assert world.walmart_lines(walmart_order.purchase_order_id) == {"1": {"Shipped": 1}}


def test_orders_that_did_not_come_from_walmart_are_left_alone(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000007", "quantity": 1}], map_it=False)
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 1}, UPS))
    calls = dict(world.seller.calls)
    assert deliver(worker, records) == []
    assert dict(world.seller.calls) == calls  # not even read from Walmart
    assert world.walmart_lines(order.po) == {"1": {"Created": 1}}


def test_an_event_without_an_order_and_a_shipment_walmart_refuses_are_dead_lettered(world, worker) -> None:
    # an item of a shipment the listener cannot place (its shipment row is gone): no order id
    orphan = world.changes.changes([("sales_shipment_item", "insert", None, {
        "entity_id": 77_777, "parent_id": 77_777, "order_item_id": 1, "product_id": 1, "sku": "WS-000001",
        "qty": 1})])
    # Walmart cancelled the line on its own; the merchant shipped it anyway
    refused = mapped_order(world, [{"sku": "WS-000008", "quantity": 1}])
    world.walmart.walmart_cancel(CLIENT_ID, refused.po, "1")
    refused_records = world.changes.changes(shipment(world, refused.order_id, {refused.items[0]: 1}, UPS))
    good = mapped_order(world, [{"sku": "WS-000009", "quantity": 1}])
    good_records = world.changes.changes(shipment(world, good.order_id, {good.items[0]: 1}, UPS))

    dead = deliver(worker, orphan + refused_records + good_records)

    assert [letter.record for letter in dead if letter.error_code == "UNKNOWN_ORDER"] == orphan
    assert [letter.reason for letter in dead if letter.error_code == "UNKNOWN_ORDER"] == \
        ["shipment event without an order id"]
    walmart_refusals = [letter for letter in dead if letter.error_code != "UNKNOWN_ORDER"]
    assert [letter.record for letter in walmart_refusals] == refused_records  # every record of that order
    assert {letter.error_code for letter in walmart_refusals} == {"INVALID_REQUEST_CONTENT.GMP_ORDER_API"}
    assert walmart_refusals[0].reason.startswith(f"Walmart refused the shipment of PO {refused.po}")
    assert world.walmart_lines(refused.po) == {"1": {"Cancelled": 1}}
    assert world.walmart_lines(good.po) == {"1": {"Shipped": 1}}


def test_walmart_unavailable_fails_the_batch_for_a_retry_and_the_retry_lands(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000010", "quantity": 1}])
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 1}, UPS))
    with walmart_down(world), pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert world.walmart_lines(order.po) == {"1": {"Created": 1}}

    assert deliver(worker, records) == []
    assert world.walmart_lines(order.po) == {"1": {"Shipped": 1}}


def test_a_closed_state_store_connection_fails_the_batch_for_a_retry(world) -> None:
    worker = world.handler("shipment")
    order = mapped_order(world, [{"sku": "WS-000011", "quantity": 1}])
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 1}, UPS))
    worker.orders.conn.close()
    with pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert world.walmart_lines(order.po) == {"1": {"Created": 1}}


def test_two_replicas_reporting_one_shipment_at_once_ship_it_once(world) -> None:
    """After a rebalance the old owner of a partition and the new one reconcile the same order at
    once: both read Walmart before either shipped, and a partial shipment (1 of 3 units) is not
    refused the second time, so without a lock Walmart showed 2 units shipped for 1."""
    old, new = world.handler("shipment"), world.handler("shipment")
    old.reconcile_wait_s = new.reconcile_wait_s = 1.0
    order = mapped_order(world, [{"sku": "WS-000007", "quantity": 3}])
    records = world.changes.changes(shipment(world, order.order_id, {order.items[0]: 1}, UPS))
    new_tried, old_read = threading.Event(), threading.Event()
    shipping, reading = old.client.orders.ship, old.client.orders.get

    def slow_ship(po: str, lines: list, **kwargs: object) -> None:  # held while the new owner tries the same order
        new_tried.wait(10)
        shipping(po, lines, **kwargs)

    def read(po: str):
        found = reading(po)
        old_read.set()
        return found

    old.client.orders.ship, old.client.orders.get = slow_ship, read
    failures: list[BaseException] = []

    def old_owner() -> None:
        try:
            deliver(old, records)
        except BaseException as exc:
            failures.append(exc)

    racing = threading.Thread(target=old_owner)
    racing.start()
    assert old_read.wait(10)
    try:
        deliver(new, records)
    except Exception as exc:
        assert classify(exc) == "retry", exc  # it waited for the order and will find it shipped when retried
    finally:
        new_tried.set()
    racing.join(15)
    assert not failures, failures
    assert deliver(new, records) == []  # the loop's retry
    assert world.walmart_lines(order.po) == {"1": {"Created": 2, "Shipped": 1}}
