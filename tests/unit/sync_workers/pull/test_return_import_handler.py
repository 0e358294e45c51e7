"""ReturnImporter.handle() called directly with polled Walmart returns of imported orders: on Adobe
Commerce each return becomes one authorized RMA through the Commerce REST emulator (received when
Walmart reports the goods delivered); without the RMA module it is recorded for support staff."""

from __future__ import annotations

import pytest

from sync_workers.runtime.errors import classify
from sync_workers.stores.return_map import ReturnMap
from tests.support.handlers import CLIENT_ID, handler_world, mapped_order
from tests.support.records import deliver, polled_record


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("return_import"), "adobe_commerce", commerce_api=True,
                       rma=True) as running:
        yield running


@pytest.fixture(scope="module")
def importer(world):
    return world.handler("return_import")


def shipped_order(world, lines: list[dict], commerce_shipped: bool = True):
    """A Walmart order imported into Commerce and shipped on both sides."""
    order = mapped_order(world, lines)
    for line, item in zip(order.walmart.lines, order.items, strict=True):
        world.walmart_ship(order.po, line.number, line.quantity)
        if commerce_shipped:
            with world.env.admin_connection() as conn, conn.cursor() as cur:
                cur.execute("UPDATE sales_order_item SET qty_shipped = qty_ordered WHERE item_id = %s", (item,))
    return order


def returned(world, order, lines: list[dict]):
    return world.walmart.create_return(CLIENT_ID, order.po, lines)


def polled(world, walmart_return):
    return polled_record(world.prefix, walmart_return.to_json(), "return")


def rmas(world, order_id: int) -> list[tuple]:
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT r.entity_id, r.status, i.order_item_id, i.qty_requested, i.qty_authorized, "
                    "i.qty_returned, i.status FROM magento_rma r JOIN magento_rma_item_entity i "
                    "ON i.rma_entity_id = r.entity_id WHERE r.order_id = %s ORDER BY r.entity_id, i.entity_id",
                    (order_id,))
        return [(rid, status, item, float(req), None if auth is None else float(auth),
                 None if ret is None else float(ret), item_status)
                for rid, status, item, req, auth, ret, item_status in cur.fetchall()]


def rma_comments(world, rma_id: int) -> list[str]:
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT comment FROM magento_rma_status_history WHERE rma_entity_id = %s ORDER BY entity_id",
                    (rma_id,))
        return [row[0] for row in cur.fetchall()]


def return_map(world) -> ReturnMap:
    return ReturnMap(world.state_conn)


def test_a_walmart_return_becomes_an_authorized_rma_then_received(world, importer) -> None:
    order = shipped_order(world, [{"sku": "WS-000003", "quantity": 2, "unitPrice": 12.5},
                                  {"sku": "WS-000004", "quantity": 1, "unitPrice": 30.0}])
    walmart_return = returned(world, order, [{"lineNumber": "1", "quantity": 1, "returnReason": "DEFECTIVE"}])
    rid = walmart_return.return_order_id

    assert deliver(importer, [polled(world, walmart_return)]) == []

    (rma_id, *rma), = rmas(world, order.order_id)
    assert rma == ["authorized", order.items[0], 1.0, 1.0, None, "authorized"]
    (comment,) = rma_comments(world, rma_id)
    assert comment.startswith(f"Walmart return {rid} ") and f"PO {order.po} line 1" in comment
    assert "DEFECTIVE" in comment
    state = return_map(world).state(rid)
    assert (state.status, state.rma_status, state.detail) == ("rma_created", "authorized", f"RMA {rma_id}")
    assert [(line.commerce_item_id, line.quantity, line.commerce_rma_id) for line in return_map(world).lines(rid)] == \
        [(order.items[0], 1, rma_id)]

    # the goods reach Walmart's return centre: the next poll shows it, and the RMA's item is received
    walmart_return.deliver()
    delivered = polled(world, walmart_return)
    assert deliver(importer, [delivered]) == []
    assert rmas(world, order.order_id) == [(rma_id, "received", order.items[0], 1.0, 1.0, 1.0, "received")]
    assert return_map(world).state(rid).rma_status == "received"
    updates = world.commerce.calls.get("rma_update", 0)
    assert deliver(importer, [delivered]) == []
    assert world.commerce.calls.get("rma_update", 0) == updates


def test_the_same_return_polled_again_makes_one_rma(world, importer) -> None:
    order = shipped_order(world, [{"sku": "WS-000005", "quantity": 3}])
    walmart_return = returned(world, order, [{"lineNumber": "1", "quantity": 2}])
    record = polled(world, walmart_return)
    assert deliver(importer, [record]) == []
    created = world.commerce.calls.get("rma_create", 0)

    assert deliver(importer, [record]) == []
    assert deliver(importer, [record, polled(world, walmart_return)]) == []
    assert world.commerce.calls.get("rma_create", 0) == created
    assert [row[1:] for row in rmas(world, order.order_id)] == [("authorized", order.items[0], 2.0, 2.0, None,
                                                                 "authorized")]


def test_an_rma_created_before_a_crash_is_found_not_created_again(world, importer) -> None:
    order = shipped_order(world, [{"sku": "WS-000006", "quantity": 1}])
    walmart_return = returned(world, order, [{"lineNumber": "1", "quantity": 1}])
    record = polled(world, walmart_return)
    assert deliver(importer, [record]) == []
    (rma_id, *_rest), = rmas(world, order.order_id)
    with world.state_conn.cursor() as cur:  # created in Commerce, the crash before recording it
        cur.execute("UPDATE walmart_return_line_map SET commerce_rma_id = NULL WHERE return_order_id = %s",
                    (walmart_return.return_order_id,))
        cur.execute("UPDATE walmart_return_map SET status = 'new' WHERE return_order_id = %s",
                    (walmart_return.return_order_id,))

    assert deliver(importer, [record]) == []
    assert [row[0] for row in rmas(world, order.order_id)] == [rma_id]
    assert return_map(world).lines(walmart_return.return_order_id)[0].commerce_rma_id == rma_id


def test_without_the_rma_module_the_return_is_recorded_for_the_merchant(world) -> None:
    importer = world.handler("return_import", world.with_settings(commerce_api={"rma": "off"}))
    order = shipped_order(world, [{"sku": "WS-000007", "quantity": 2}])
    walmart_return = returned(world, order, [{"lineNumber": "1", "quantity": 2, "returnReason": "DAMAGED"}])
    created = world.commerce.calls.get("rma_create", 0)

    assert deliver(importer, [polled(world, walmart_return)]) == []

    state = return_map(world).state(walmart_return.return_order_id)
    assert (state.status, state.detail) == ("recorded", "no RMA module: refund it with a credit memo")
    assert [(line.purchase_order_id, line.po_line_number, line.commerce_order_id, line.commerce_item_id,
             line.quantity, line.reason) for line in return_map(world).lines(walmart_return.return_order_id)] == \
        [(order.po, "1", order.order_id, order.items[0], 2, "DAMAGED")]
    assert rmas(world, order.order_id) == []
    assert world.commerce.calls.get("rma_create", 0) == created


def test_malformed_and_unknown_returns_are_dead_lettered_and_the_rest_imported(world, importer) -> None:
    good_order = shipped_order(world, [{"sku": "WS-000008", "quantity": 1}])
    good = polled(world, returned(world, good_order, [{"lineNumber": "1", "quantity": 1}]))
    line = {"returnOrderLineNumber": 1, "purchaseOrderId": good_order.po, "purchaseOrderLineNumber": 1,
            "quantity": {"unitOfMeasure": "EACH", "measurementValue": 1}}
    documents = [
        {"returnOrderId": "R-NO-LINES", "customerOrderId": "C1", "returnOrderLines": []},
        {"returnOrderId": "R-NEGATIVE", "customerOrderId": "C2", "returnOrderLines": [
            {**line, "quantity": {"unitOfMeasure": "EACH", "measurementValue": -2}}]},
        {"returnOrderId": "R-UNKNOWN-PO", "customerOrderId": "C3", "returnOrderLines": [
            {**line, "purchaseOrderId": "NEVER-IMPORTED"}]},
        {"customerOrderId": "C4", "returnOrderLines": [line]},  # no id at all
    ]
    records = [polled_record(world.prefix, doc, "return") for doc in documents] + [good]

    dead = deliver(importer, records)

    codes = {id(letter.record): letter for letter in dead}
    assert [codes[id(r)].error_code if id(r) in codes else None for r in records] == \
        ["MALFORMED_RETURN", "MALFORMED_RETURN", "UNKNOWN_ORDER", "MALFORMED_RETURN", None]
    assert codes[id(records[3])].reason == "no return with a returnOrderId in the Walmart return event"
    assert "NEVER-IMPORTED line 1" in codes[id(records[2])].reason
    states = {rid: return_map(world).state(rid) for rid in ("R-NO-LINES", "R-NEGATIVE", "R-UNKNOWN-PO")}
    assert {rid: state.status for rid, state in states.items()} == \
        {"R-NO-LINES": "failed_malformed", "R-NEGATIVE": "failed_malformed", "R-UNKNOWN-PO": "failed_unknown_order"}
    assert "not returnable" in states["R-NEGATIVE"].detail
    assert [row[1] for row in rmas(world, good_order.order_id)] == ["authorized"]


def test_a_return_commerce_refuses_as_an_rma_is_dead_lettered(world, importer) -> None:
    order = shipped_order(world, [{"sku": "WS-000009", "quantity": 1}], commerce_shipped=False)
    walmart_return = returned(world, order, [{"lineNumber": "1", "quantity": 1}])
    record = polled(world, walmart_return)

    (letter,) = deliver(importer, [record])

    assert (letter.record, letter.error_code) == (record, "COMMERCE_REFUSED")
    assert letter.reason.startswith(f"Commerce refused the RMA for Walmart return {walmart_return.return_order_id}")
    assert "only shipped quantity" in letter.reason
    assert return_map(world).state(walmart_return.return_order_id).status == "failed_rma"
    assert rmas(world, order.order_id) == []


def test_commerce_unavailable_fails_the_batch_for_a_retry(world, importer) -> None:
    order = shipped_order(world, [{"sku": "WS-000010", "quantity": 1}])
    record = polled(world, returned(world, order, [{"lineNumber": "1", "quantity": 1}]))
    world.commerce.faults.error_rate = 1.0
    try:
        with pytest.raises(Exception) as failure:
            deliver(importer, [record])
    finally:
        world.commerce.faults.error_rate = 0.0
    assert classify(failure.value) == "retry"
    assert rmas(world, order.order_id) == []

    assert deliver(importer, [record]) == []
    assert [row[1] for row in rmas(world, order.order_id)] == ["authorized"]
