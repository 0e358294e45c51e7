"""CancellationWorker.handle() called directly with cancellation events of Commerce orders that came
from Walmart, against the Commerce database and the Walmart emulator's orders."""

from __future__ import annotations

import pytest

from devstack.walmart_emulator.orders import LineStatus
from sync_workers.runtime.errors import classify
from tests.support.handlers import handler_world, mapped_order, walmart_down
from tests.support.records import deliver, raw_record


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("cancellation")) as running:
        yield running


@pytest.fixture(scope="module")
def worker(world):
    return world.handler("cancellation")


def cancel(world, order, quantities: dict[int, int], whole_order: bool = False) -> list:
    """The merchant cancels: items' qty_canceled (and the order's state when all of it goes), as records."""
    changes = [world.changes.change("sales_order_item", "UPDATE sales_order_item SET qty_canceled = %s "
                                    "WHERE item_id = %s", (qty, item), item_id=item)
               for item, qty in quantities.items()]
    if whole_order:
        changes.append(world.changes.change("sales_order", "UPDATE sales_order SET state = 'canceled', "
                                            "status = 'canceled' WHERE entity_id = %s", (order.order_id,),
                                            entity_id=order.order_id))
    return world.changes.changes(changes)



def reasons(world, po: str, line: str) -> list[str | None]:
    return [s.cancellation_reason for s in world.seller.orders[po].line(line).statuses if s.status == "Cancelled"]


def test_an_order_cancelled_in_commerce_is_cancelled_on_walmart(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000002", "quantity": 2}, {"sku": "WS-000003", "quantity": 1}])
    records = cancel(world, order, {order.items[0]: 2, order.items[1]: 1}, whole_order=True)
    assert [r.key for r in records] == [str(order.order_id).encode()] * 3
    calls = world.calls("order_cancel")["order_cancel"]

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 2}, "2": {"Cancelled": 1}}
    assert reasons(world, order.po, "1") == ["SELLER_CANCEL_OUT_OF_STOCK"]  # mapping.cancel_reason
    assert world.calls("order_cancel")["order_cancel"] == calls + 1


def test_a_cancellation_reads_the_walmart_order_once(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000009", "quantity": 2}])
    records = cancel(world, order, {order.items[0]: 1})
    calls = world.calls("order", "order_cancel")

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Created": 1, "Cancelled": 1}}
    assert world.calls("order", "order_cancel") == {"order": calls["order"] + 1,
                                                    "order_cancel": calls["order_cancel"] + 1}


def test_partial_cancellations_cancel_the_difference_and_replays_cancel_nothing(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000004", "quantity": 3}])
    first = cancel(world, order, {order.items[0]: 1})
    assert deliver(worker, first) == []
    assert world.walmart_lines(order.po) == {"1": {"Created": 2, "Cancelled": 1}}
    calls = world.calls("order_cancel")
    assert deliver(worker, first) == []
    assert deliver(worker, first + first) == []
    assert world.calls("order_cancel") == calls
    assert world.walmart_lines(order.po) == {"1": {"Created": 2, "Cancelled": 1}}

    second = cancel(world, order, {order.items[0]: 3}, whole_order=True)
    assert deliver(worker, first + second) == []
    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 3}}
    assert world.calls("order_cancel")["order_cancel"] == calls["order_cancel"] + 1


def test_a_customer_requested_line_uses_walmarts_reason_and_shipped_quantity_is_left(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000005", "quantity": 1}, {"sku": "WS-000006", "quantity": 2},
                                 {"sku": "WS-000007", "quantity": 1}])
    order.walmart.lines[1].intent_to_cancel = True          # the customer asked to cancel line 2
    order.walmart.lines[2].statuses[0].status = "Shipped"   # line 3 already shipped on Walmart
    records = cancel(world, order, {item: qty for item, qty in zip(order.items, (1, 2, 1), strict=True)},
                     whole_order=True)

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 1}, "2": {"Cancelled": 2}, "3": {"Shipped": 1}}
    assert reasons(world, order.po, "1") == ["SELLER_CANCEL_OUT_OF_STOCK"]
    assert reasons(world, order.po, "2") == ["CUSTOMER_REQUESTED_SELLER_TO_CANCEL"]
    calls = world.calls("order_cancel")
    assert deliver(worker, records) == []  # the shipped unit is not tried again
    assert world.calls("order_cancel") == calls


def test_orders_that_did_not_come_from_walmart_are_left_alone(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000008", "quantity": 1}], map_it=False)
    records = cancel(world, order, {order.items[0]: 1}, whole_order=True)
    calls = dict(world.seller.calls)
    assert deliver(worker, records) == []
    assert dict(world.seller.calls) == calls
    assert world.walmart_lines(order.po) == {"1": {"Created": 1}}


def test_an_event_without_an_order_and_an_order_walmart_refuses_are_dead_lettered(world, worker) -> None:
    junk = raw_record(f"{world.prefix}.cancellation", {"schema_version": 1, "family": "cancellation",
                                                       "type": "order_canceled", "key": "x", "order_id": "x"})
    # an order mapped to a PO Walmart does not know (a restored state schema from another seller)
    unknown = mapped_order(world, [{"sku": "WS-000009", "quantity": 1}], map_it=False)
    world.order_map().record("9999999999", "1", unknown.order_id, unknown.increment_id,
                             [("1", unknown.items[0], "WS-000009", 1)])
    unknown_records = cancel(world, unknown, {unknown.items[0]: 1}, whole_order=True)
    good = mapped_order(world, [{"sku": "WS-000010", "quantity": 1}])
    good_records = cancel(world, good, {good.items[0]: 1}, whole_order=True)

    dead = deliver(worker, [junk, *unknown_records, *good_records], envelope=False)

    assert [(letter.record, letter.error_code, letter.reason) for letter in dead if letter.record is junk] == \
        [(junk, "UNKNOWN_ORDER", "cancellation event without an order id")]
    refused = [letter for letter in dead if letter.record is not junk]
    assert [letter.record for letter in refused] == unknown_records
    assert {letter.error_code for letter in refused} == {"CONTENT_NOT_FOUND.GMP_ORDER_API"}
    assert refused[0].reason.startswith("Walmart refused the cancellation of PO 9999999999")
    assert world.walmart_lines(good.po) == {"1": {"Cancelled": 1}}


def test_walmart_unavailable_fails_the_batch_for_a_retry_and_the_retry_lands(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000011", "quantity": 2}])
    records = cancel(world, order, {order.items[0]: 2}, whole_order=True)
    with walmart_down(world), pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert world.walmart_lines(order.po) == {"1": {"Created": 2}}

    assert deliver(worker, records) == []
    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 2}}


def test_units_walmart_cancelled_before_the_import_do_not_hide_a_commerce_cancellation(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000012", "quantity": 3}])
    # Walmart had cancelled one unit when the PO was imported: Commerce ordered the two still open
    order.walmart.lines[0].move(("Created",), 1, LineStatus("Cancelled", 1, cancellation_reason="CUSTOMER_CANCEL"))
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE sales_order_item SET qty_ordered = 2 WHERE item_id = %s", (order.items[0],))
    records = cancel(world, order, {order.items[0]: 2}, whole_order=True)  # the merchant cancels all of it

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 3}}


def test_an_intent_to_cancel_of_n_is_no_customer_request(world, worker) -> None:
    """intentToCancel is a string: "N" once made the worker cancel with
    CUSTOMER_REQUESTED_SELLER_TO_CANCEL, which Walmart refuses for a line nobody asked to cancel."""
    order = mapped_order(world, [{"sku": "WS-000008", "quantity": 1}])
    reading = worker.client.orders.get

    def with_n(po: str):
        found = reading(po)
        for line in found.orderLines.orderLine:
            line.intentToCancel = "N"
        return found

    worker.client.orders.get = with_n
    try:
        assert deliver(worker, cancel(world, order, {order.items[0]: 1}, whole_order=True)) == []
    finally:
        worker.client.orders.get = reading
    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 1}}
    assert reasons(world, order.po, "1") == ["SELLER_CANCEL_OUT_OF_STOCK"]


def test_a_cancellation_before_the_importer_recorded_the_order_is_parked_then_sent(world, worker) -> None:
    """The importer places the order, then records the map: a merchant cancelling in between (or
    an importer dying there) sent an event for an order the map did not know, and the worker took
    it for another channel's order and dropped it (the quick fault run: a line cancelled in
    Commerce, never on Walmart). It is parked while the importer has begun that PO."""
    from sync_workers.runtime.loop import Parked

    order = mapped_order(world, [{"sku": "WS-000011", "quantity": 2}], map_it=False)
    orders = world.order_map()
    records = cancel(world, order, {order.items[0]: 2}, whole_order=True)
    calls = world.calls("order_cancel")

    # no state row: nothing of the importer's, another channel's order, nothing sent or parked
    assert deliver(worker, records) == []
    orders.set_state(order.po, "placing")  # the importer has begun the PO (sidecar state, before placing)
    outcomes = deliver(worker, records)
    assert outcomes and all(isinstance(o, Parked) for o in outcomes), outcomes
    assert order.po in outcomes[0].reason and "being imported" in outcomes[0].reason
    assert world.calls("order_cancel") == calls
    assert world.walmart_lines(order.po) == {"1": {"Created": 2}}

    # the importer records it; the parked records, handled again when due, cancel on Walmart
    orders.record(order.po, order.walmart.customer_order_id, order.order_id, order.increment_id,
                  [(line.number, item, line.sku, line.quantity)
                   for line, item in zip(order.walmart.lines, order.items, strict=True)])
    assert deliver(worker, [o.record for o in outcomes]) == []
    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 2}}


def test_a_gap_repair_cancels_what_lost_records_would_have_and_waits_for_imports_in_flight(world, worker) -> None:
    """After records were lost in Kafka the worker reconciles every recent Walmart order with
    Commerce (OrderWorker.repair_gaps): a cancellation whose event never arrived reaches Walmart.
    An order the importer is placing at that moment is not in the map yet, so the repair ends with a
    retry, and the one after it (the map has the order by then) cancels that order's line too."""
    from sync_workers.runtime.errors import TransientError

    mapped = mapped_order(world, [{"sku": "WS-000012", "quantity": 1}])
    placing = mapped_order(world, [{"sku": "WS-000013", "quantity": 1}], map_it=False)
    orders = world.order_map()
    orders.set_state(placing.po, "placing")
    cancel(world, mapped, {mapped.items[0]: 1}, whole_order=True)  # records made, never delivered: lost
    cancel(world, placing, {placing.items[0]: 1}, whole_order=True)

    with pytest.raises(TransientError, match=placing.po):
        worker.repair_gaps()
    assert world.walmart_lines(mapped.po) == {"1": {"Cancelled": 1}}
    assert world.walmart_lines(placing.po) == {"1": {"Created": 1}}

    orders.record(placing.po, placing.walmart.customer_order_id, placing.order_id, placing.increment_id,
                  [(line.number, item, line.sku, line.quantity)
                   for line, item in zip(placing.walmart.lines, placing.items, strict=True)])
    orders.set_state(placing.po, "acknowledged", commerce_order_id=placing.order_id)
    worker.repair_gaps()
    assert world.walmart_lines(placing.po) == {"1": {"Cancelled": 1}}
