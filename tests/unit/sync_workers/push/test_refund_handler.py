"""RefundWorker.handle() called directly with credit memo events of Commerce orders that came from
Walmart, against the Commerce database, the state schema and the Walmart emulator's orders and
returns."""

from __future__ import annotations

import pytest

from devstack.walmart_emulator.orders import LineStatus
from sync_workers.runtime.errors import NotYet, classify
from sync_workers.stores.return_map import ReturnLineRecord, ReturnMap
from tests.support.handlers import CLIENT_ID, handler_world, mapped_order, walmart_down
from tests.support.records import deliver, raw_record


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("refund"), workers={"park_retry_s": 7.0}) as running:
        yield running


@pytest.fixture(scope="module")
def worker(world):
    return world.handler("refund")


def shipped(world, order, quantities: dict[int, int], on_walmart: bool = True) -> None:
    """Commerce shipped these quantities of its items (and, ``on_walmart``, the shipment worker
    reported them: Walmart shows those units Shipped)."""
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        for item, qty in quantities.items():
            cur.execute("UPDATE sales_order_item SET qty_shipped = %s WHERE item_id = %s", (qty, item))
    if on_walmart:
        for line, item in zip(order.walmart.lines, order.items, strict=True):
            if quantities.get(item):
                world.walmart_ship(order.po, line.number, quantities[item])


def credit_memo(world, order_id: int, items: dict[int, tuple[int, float, float]], shipping: float = 0.0) -> list:
    """The rows Magento writes for a credit memo, item id -> (qty, row total, tax), as records."""
    total = shipping + sum(amount + tax for _qty, amount, tax in items.values())
    changes = [world.changes.insert("sales_creditmemo", "INSERT INTO sales_creditmemo (order_id, store_id, state, "
                                    "shipping_amount, base_shipping_amount, grand_total) VALUES (%s, 2, 2, %s, %s, %s)",
                                    (order_id, shipping, shipping, total))]
    memo = changes[0][3]["entity_id"]
    for item, (qty, amount, tax) in items.items():
        changes.append(world.changes.insert(
            "sales_creditmemo_item", "INSERT INTO sales_creditmemo_item (parent_id, order_item_id, qty, price, "
            "row_total, tax_amount, sku) SELECT %s, item_id, %s, %s, %s, %s, sku FROM sales_order_item "
            "WHERE item_id = %s", (memo, qty, amount / qty, amount, tax, item)))
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        for item, (qty, _amount, _tax) in items.items():
            cur.execute("UPDATE sales_order_item SET qty_refunded = qty_refunded + %s WHERE item_id = %s", (qty, item))
    return world.changes.changes(changes)


def refunds(world, po: str) -> dict[str, list[tuple[str, float, float]]]:
    """Per line, Walmart's refund charges: (type, amount, tax)."""
    return {line.number: [(c["charge"]["chargeType"], c["charge"]["chargeAmount"]["amount"],
                           c["charge"]["tax"]["taxAmount"]["amount"])
                          for r in line.refunds for c in r["refundCharges"]["refundCharge"]]
            for line in world.seller.orders[po].lines}


def test_credit_memos_refund_shipped_units_and_cancel_unshipped_ones(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000003", "quantity": 2, "unitPrice": 5, "shippingPrice": 3},
                                 {"sku": "WS-000004", "quantity": 2, "unitPrice": 5}])
    shipped(world, order, {order.items[0]: 2})
    first = credit_memo(world, order.order_id, {order.items[0]: (1, 5.0, 0.4)}, shipping=3.0)
    assert [r.key for r in first] == [str(order.order_id).encode()] * 2

    assert deliver(worker, first) == []

    assert refunds(world, order.po) == {"1": [("PRODUCT", -5.0, -0.4), ("SHIPPING", -3.0, 0.0)], "2": []}
    charges = world.seller.orders[order.po].line("1").refunds[0]["refundCharges"]["refundCharge"]
    assert {c["refundReason"] for c in charges} == {"CustomerChangedMind"}  # mapping.refund_reason

    # a second memo: the other shipped unit of line 1, and a unit of line 2 that never shipped (a cancellation)
    second = credit_memo(world, order.order_id, {order.items[0]: (1, 5.0, 0.4), order.items[1]: (1, 5.0, 0.4)})
    assert deliver(worker, second) == []
    assert refunds(world, order.po) == {"1": [("PRODUCT", -5.0, -0.4), ("SHIPPING", -3.0, 0.0),
                                              ("PRODUCT", -5.0, -0.4)], "2": []}
    assert world.walmart_lines(order.po) == {"1": {"Shipped": 2}, "2": {"Created": 1, "Cancelled": 1}}


def test_a_refund_with_a_cancellation_reads_the_walmart_order_once(world, worker) -> None:
    # the cancel answers with the order as it then is: that is the refund's "before", not a new read
    order = mapped_order(world, [{"sku": "WS-000010", "quantity": 2, "unitPrice": 5}])
    shipped(world, order, {order.items[0]: 1})
    records = credit_memo(world, order.order_id, {order.items[0]: (2, 10.0, 0.8)})
    calls = world.calls("order", "order_refund", "order_cancel")

    assert deliver(worker, records) == []

    assert refunds(world, order.po) == {"1": [("PRODUCT", -5.0, -0.4)]}
    assert world.walmart_lines(order.po) == {"1": {"Shipped": 1, "Cancelled": 1}}
    assert world.calls("order", "order_refund", "order_cancel") == {
        "order": calls["order"] + 1, "order_refund": calls["order_refund"] + 1,
        "order_cancel": calls["order_cancel"] + 1}


def test_the_same_records_twice_refund_nothing_the_second_time(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000005", "quantity": 3, "unitPrice": 8}])
    shipped(world, order, {order.items[0]: 2})
    records = credit_memo(world, order.order_id, {order.items[0]: (3, 24.0, 1.92)})
    assert deliver(worker, records) == []
    assert refunds(world, order.po) == {"1": [("PRODUCT", -16.0, -1.28)]}  # 2 of the 3 units shipped
    assert world.walmart_lines(order.po) == {"1": {"Shipped": 2, "Cancelled": 1}}
    calls = world.calls("order_refund", "order_cancel", "return_refund")

    assert deliver(worker, records) == []           # a replay after a crash before the commit
    assert deliver(worker, records + records) == []
    assert world.calls("order_refund", "order_cancel", "return_refund") == calls
    assert refunds(world, order.po) == {"1": [("PRODUCT", -16.0, -1.28)]}


def test_a_refund_whose_shipment_is_not_on_walmart_yet_is_parked_then_lands(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000006", "quantity": 1, "unitPrice": 8}])
    shipped(world, order, {order.items[0]: 1}, on_walmart=False)  # the shipment worker is behind
    records = credit_memo(world, order.order_id, {order.items[0]: (1, 8.0, 0.64)})

    with pytest.raises(NotYet) as early:
        deliver(worker, records)
    assert classify(early.value) == "park"
    assert early.value.retry_after_s == 7.0  # workers.park_retry_s
    assert f"PO {order.po} lines 1" in str(early.value)
    assert refunds(world, order.po) == {"1": []}

    world.walmart_ship(order.po, "1", 1)  # the shipment reached Walmart
    assert deliver(worker, records) == []  # the parked records, when due
    assert refunds(world, order.po) == {"1": [("PRODUCT", -8.0, -0.64)]}


def test_returned_units_are_refunded_through_the_returns_api(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000007", "quantity": 3, "unitPrice": 10}])
    shipped(world, order, {order.items[0]: 3})
    returned = world.walmart.create_return(CLIENT_ID, order.po, [{"lineNumber": "1", "quantity": 2}])
    # as the return importer records a Walmart return of an imported order
    ReturnMap(world.state_conn).record(returned.return_order_id, order.walmart.customer_order_id,
                                                    "INITIATED", returned.created, [ReturnLineRecord(
                                                        returned.return_order_id, 1, order.po, "1", order.order_id,
                                                        order.items[0], "WS-000007", 2)])
    calls = world.calls("order_refund", "return_refund")
    reads = world.calls("returns", "order")
    records = credit_memo(world, order.order_id, {order.items[0]: (3, 30.0, 2.4)})

    assert deliver(worker, records) == []

    # the return and the order each read once: the read that decides is the refund's "before"
    assert world.calls("returns", "order") == {"returns": reads["returns"] + 1, "order": reads["order"] + 1}

    assert world.seller.returns[returned.return_order_id].lines[0].refunded == 2
    assert refunds(world, order.po) == {"1": [("PRODUCT", -10.0, -0.8)]}  # the unit nobody returned
    assert world.calls("order_refund", "return_refund") == {"order_refund": calls["order_refund"] + 1,
                                                            "return_refund": calls["return_refund"] + 1}
    assert [line.refunded_qty for line in ReturnMap(world.state_conn).lines(
        returned.return_order_id)] == [2]
    assert deliver(worker, records) == []
    assert world.calls("order_refund", "return_refund") == {"order_refund": calls["order_refund"] + 1,
                                                            "return_refund": calls["return_refund"] + 1}


def test_an_event_without_an_order_and_a_refund_walmart_refuses_are_dead_lettered(world, worker) -> None:
    junk = raw_record(f"{world.prefix}.refund", {"schema_version": 1, "family": "refund", "type": "creditmemo",
                                                 "key": "None", "order_id": None})
    too_much = mapped_order(world, [{"sku": "WS-000008", "quantity": 1, "unitPrice": 10}])
    shipped(world, too_much, {too_much.items[0]: 1})
    refused = credit_memo(world, too_much.order_id, {too_much.items[0]: (1, 500.0, 0.0)})  # more than charged
    good = mapped_order(world, [{"sku": "WS-000009", "quantity": 1, "unitPrice": 10}])
    shipped(world, good, {good.items[0]: 1})
    good_records = credit_memo(world, good.order_id, {good.items[0]: (1, 10.0, 0.8)})

    dead = deliver(worker, [junk, *refused, *good_records], envelope=False)

    assert [(letter.record, letter.error_code, letter.reason) for letter in dead if letter.record is junk] == \
        [(junk, "UNKNOWN_ORDER", "refund event without an order id")]
    walmart_refusals = [letter for letter in dead if letter.record is not junk]
    assert [letter.record for letter in walmart_refusals] == refused
    assert {letter.error_code for letter in walmart_refusals} == {"INVALID_REQUEST_CONTENT.GMP_ORDER_API"}
    assert walmart_refusals[0].reason.startswith(f"Walmart refused the refund of PO {too_much.po}")
    assert refunds(world, too_much.po) == {"1": []}
    assert refunds(world, good.po) == {"1": [("PRODUCT", -10.0, -0.8)]}


def test_walmart_unavailable_fails_the_batch_for_a_retry_and_the_retry_lands(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000010", "quantity": 1, "unitPrice": 12}])
    shipped(world, order, {order.items[0]: 1})
    records = credit_memo(world, order.order_id, {order.items[0]: (1, 12.0, 0.96)})
    with walmart_down(world), pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert refunds(world, order.po) == {"1": []}

    assert deliver(worker, records) == []
    assert refunds(world, order.po) == {"1": [("PRODUCT", -12.0, -0.96)]}


def test_units_walmart_cancelled_before_the_import_do_not_hide_a_refund_before_shipping(world, worker) -> None:
    order = mapped_order(world, [{"sku": "WS-000011", "quantity": 3, "unitPrice": 4}])
    # Walmart had cancelled one unit when the PO was imported: Commerce ordered the two still open
    order.walmart.lines[0].move(("Created",), 1, LineStatus("Cancelled", 1, cancellation_reason="CUSTOMER_CANCEL"))
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE sales_order_item SET qty_ordered = 2 WHERE item_id = %s", (order.items[0],))
    records = credit_memo(world, order.order_id, {order.items[0]: (2, 8.0, 0.64)})  # both refunded, none shipped

    assert deliver(worker, records) == []

    assert world.walmart_lines(order.po) == {"1": {"Cancelled": 3}}
    assert refunds(world, order.po) == {"1": []}
