"""OrderImporter.handle() called directly with polled Walmart orders: each PO becomes one Commerce
order through the companion module's endpoint on the Commerce REST emulator (which writes the rows
Magento writes), and OrderImporter.tick() acknowledges it on the Walmart emulator afterwards."""

from __future__ import annotations

import copy
import json
import threading
from types import SimpleNamespace

import pytest

from sync_workers.commerce.client import CommerceServerError
from sync_workers.runtime.errors import classify
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import CLIENT_ID, handler_world, walmart_down
from tests.support.records import deliver, polled_record


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("order_import"), commerce_api=True) as running:
        running.walmart.seed_items(CLIENT_ID, ["WS-999999"])  # on Walmart, not in Commerce
        yield running


@pytest.fixture(scope="module")
def importer(world):
    return world.handler("order_import")


def polled(world, order) -> object:
    """The order as the poller publishes it now (GET /v3/orders shows its current state)."""
    return polled_record(world.prefix, order.to_json())


def commerce_orders(world, po: str) -> list[tuple]:
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT entity_id, state, grand_total, shipping_amount, tax_amount, customer_email "
                    "FROM sales_order WHERE ext_order_id = %s", (po,))
        return list(cur.fetchall())


def commerce_items(world, order_id: int) -> list[tuple]:
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT sku, qty_ordered, price FROM sales_order_item WHERE order_id = %s ORDER BY item_id",
                    (order_id,))
        return [(sku, float(qty), float(price)) for sku, qty, price in cur.fetchall()]


def status_of(world, po: str) -> str | None:
    state = world.order_map().state(po)
    return state.status if state else None


def test_a_walmart_order_becomes_one_commerce_order_and_is_acknowledged(world, importer) -> None:
    order = world.walmart.create_order(CLIENT_ID, [
        {"sku": "WS-000003", "quantity": 2, "unitPrice": 11.25, "shippingPrice": 4.5},
        {"sku": "WS-000004", "quantity": 1, "unitPrice": 30.0}])
    document = order.to_json()
    lines = document["orderLines"]["orderLine"]
    charges = [c for line in lines for c in line["charges"]["charge"]]
    walmart_tax = round(sum(c["tax"]["taxAmount"]["amount"] for c in charges if "tax" in c), 2)
    walmart_total = round(sum(c["chargeAmount"]["amount"] for c in charges) + walmart_tax, 2)
    assert (walmart_tax, walmart_total) == (4.2, 61.2)  # 2 x 11.25 + 30 + 4.50 shipping + 8% tax

    places = world.commerce.calls.get("module_place", 0)
    assert deliver(importer, [polled_record(world.prefix, document)]) == []

    (order_id, state, grand_total, shipping, tax, email), = commerce_orders(world, order.purchase_order_id)
    assert (state, float(grand_total), float(shipping), float(tax)) == ("new", walmart_total, 4.5, walmart_tax)
    assert email == document["customerEmailId"]
    assert commerce_items(world, order_id) == [("WS-000003", 2.0, 11.25), ("WS-000004", 1.0, 30.0)]
    assert world.commerce.calls.get("module_place", 0) == places + 1  # one Commerce call placed it
    # the acknowledgement is not sent inline: it is queued for the importer's tick
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Created": 2}, "2": {"Created": 1}}
    assert status_of(world, order.purchase_order_id) == "ack_pending"
    with world.env.admin_connection() as conn, conn.cursor() as cur:  # stock reserved as Magento's placement does
        cur.execute("SELECT sku, quantity, metadata FROM inventory_reservation WHERE metadata LIKE %s ORDER BY sku",
                    (f'%"object_id":"{order_id}"%',))
        reservations = [(sku, float(qty), json.loads(meta)["event_type"]) for sku, qty, meta in cur.fetchall()]
    assert reservations == [("WS-000003", -2.0, "order_placed"), ("WS-000004", -1.0, "order_placed")]

    importer.tick()

    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Acknowledged": 2}, "2": {"Acknowledged": 1}}
    assert status_of(world, order.purchase_order_id) == "acknowledged"
    mapped = world.order_map().for_commerce_orders([order_id])[order_id]
    assert sorted(mapped.lines.values()) == ["1", "2"] and mapped.purchase_order_id == order.purchase_order_id


def test_the_same_order_polled_again_is_not_imported_or_acknowledged_twice(world, importer) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000005", "quantity": 1, "unitPrice": 9.0}])
    first = polled(world, order)
    assert deliver(importer, [first]) == []
    importer.tick()
    commerce_calls = dict(world.commerce.calls)
    walmart_calls = dict(world.seller.calls)

    assert deliver(importer, [first]) == []                       # a replay of the same record
    assert deliver(importer, [first, polled(world, order)]) == []  # and the next polls (now Acknowledged)
    importer.tick()
    assert len(commerce_orders(world, order.purchase_order_id)) == 1
    assert dict(world.seller.calls) == walmart_calls
    assert {k: v for k, v in world.commerce.calls.items() if k != "order_get" and k != "orders_search"} == \
        {k: v for k, v in commerce_calls.items() if k != "order_get" and k != "orders_search"}  # reads only


def test_an_order_walmart_cancels_later_is_cancelled_in_commerce_once(world, importer) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000006", "quantity": 2, "unitPrice": 7.0}])
    assert deliver(importer, [polled(world, order)]) == []
    world.walmart.walmart_cancel(CLIENT_ID, order.purchase_order_id, "1")  # e.g. unshipped for too long
    later = polled(world, order)

    assert deliver(importer, [later]) == []

    (order_id, state, *_rest), = commerce_orders(world, order.purchase_order_id)
    assert state == "canceled"
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT comment FROM sales_order_status_history WHERE parent_id = %s", (order_id,))
        comments = [row[0] for row in cur.fetchall()]
    assert any(order.purchase_order_id in c and "cancelled by walmart-sync" in c for c in comments), comments
    assert status_of(world, order.purchase_order_id) == "cancelled_by_walmart"
    cancels = world.commerce.calls.get("order_cancel", 0)
    assert deliver(importer, [later, polled(world, order)]) == []
    assert world.commerce.calls.get("order_cancel", 0) == cancels


def test_an_order_with_a_line_cancelled_before_import_is_imported_and_not_acknowledged(world, importer) -> None:
    # the customer cancelled line 1 before the seller acknowledged: Walmart cancelled it itself,
    # and now refuses to acknowledge the PO; the importer does not ask, and says why in the state
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000007", "quantity": 1, "unitPrice": 5.0},
                                                   {"sku": "WS-000008", "quantity": 2, "unitPrice": 6.0}])
    assert world.walmart.customer_cancel(CLIENT_ID, order.purchase_order_id, "1") == "cancelled"
    calls = world.calls("order_acknowledge")

    assert deliver(importer, [polled(world, order)]) == []
    importer.tick()

    (order_id, *_rest), = commerce_orders(world, order.purchase_order_id)
    assert commerce_items(world, order_id) == [("WS-000008", 2.0, 6.0)]
    assert world.calls("order_acknowledge") == calls
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Cancelled": 1}, "2": {"Created": 2}}
    state = world.order_map().state(order.purchase_order_id)
    assert state is not None and state.status == "past_acknowledgement"
    assert deliver(importer, [polled(world, order)]) == []  # the next poll asks nothing either
    assert world.calls("order_acknowledge") == calls


def test_malformed_orders_and_an_unknown_sku_are_dead_lettered_and_the_rest_imported(world, importer) -> None:
    template = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000007", "quantity": 1}]).to_json()
    no_lines = copy.deepcopy(template)
    no_lines["purchaseOrderId"] = "BAD-NO-LINES"
    no_lines["orderLines"]["orderLine"] = []
    bad_quantity = copy.deepcopy(template)
    bad_quantity["purchaseOrderId"] = "BAD-QTY"
    bad_quantity["orderLines"]["orderLine"][0]["orderLineQuantity"]["amount"] = "abc"
    no_id = {k: v for k, v in template.items() if k != "purchaseOrderId"}
    unknown = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-999999", "quantity": 1}])
    good = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000008", "quantity": 1}])
    records = [polled_record(world.prefix, doc) for doc in (no_lines, bad_quantity, no_id)] + \
        [polled(world, unknown), polled(world, good)]

    dead = deliver(importer, records)
    importer.tick()

    by_record = {id(letter.record): letter for letter in dead}
    assert [(by_record[id(r)].error_code if id(r) in by_record else None) for r in records] == \
        ["MALFORMED_ORDER", "MALFORMED_ORDER", "MALFORMED_ORDER", "UNKNOWN_SKU", None]
    assert by_record[id(records[0])].reason.startswith("malformed Walmart order BAD-NO-LINES")
    assert by_record[id(records[2])].reason == "no order with a purchaseOrderId in the Walmart order event"
    assert "WS-999999" in by_record[id(records[3])].reason
    assert (status_of(world, "BAD-NO-LINES"), status_of(world, "BAD-QTY")) == ("failed_malformed", "failed_malformed")
    assert status_of(world, unknown.purchase_order_id) == "failed_unknown_sku"
    assert commerce_orders(world, unknown.purchase_order_id) == []
    assert world.walmart_lines(unknown.purchase_order_id) == {"1": {"Created": 1}}  # not acknowledged
    assert len(commerce_orders(world, good.purchase_order_id)) == 1
    assert status_of(world, good.purchase_order_id) == "acknowledged"


def test_an_order_commerce_has_no_stock_for_is_cancelled_on_walmart(world, importer) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000009", "quantity": 5000}])
    assert deliver(importer, [polled(world, order)]) == []
    assert commerce_orders(world, order.purchase_order_id) == []
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Cancelled": 5000}}
    assert [s.cancellation_reason for s in order.lines[0].statuses] == ["SELLER_CANCEL_OUT_OF_STOCK"]
    assert status_of(world, order.purchase_order_id) == "cancelled_out_of_stock"

    # Polled again (a re-poll after records were lost in Kafka, the lookback window): every line is
    # cancelled on Walmart now, and the outcome recorded stays the refusal, not "nothing open", or
    # the agreement check and `walmart-sync order` lose why there is no Commerce order (the 50-round
    # fault run found six such POs)
    assert deliver(importer, [polled(world, order)]) == []
    assert commerce_orders(world, order.purchase_order_id) == []
    assert status_of(world, order.purchase_order_id) == "cancelled_out_of_stock"


def test_commerce_unavailable_fails_the_batch_for_a_retry(world, importer) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000010", "quantity": 1}])
    record = polled(world, order)
    world.commerce.faults.error_rate = 1.0
    try:
        with pytest.raises(Exception) as failure:
            deliver(importer, [record])
    finally:
        world.commerce.faults.error_rate = 0.0
    assert classify(failure.value) == "retry"
    assert commerce_orders(world, order.purchase_order_id) == []

    assert deliver(importer, [record]) == []
    assert len(commerce_orders(world, order.purchase_order_id)) == 1


def test_walmart_unavailable_does_not_hold_up_the_import_and_the_acknowledgement_follows(world, importer) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000011", "quantity": 1}])
    record = polled(world, order)
    with walmart_down(world):
        assert deliver(importer, [record]) == []  # placed in Commerce: Walmart is not needed for it
        with pytest.raises(Exception) as failure:
            importer.tick()  # the acknowledgement fails
    assert classify(failure.value) == "retry"
    assert len(commerce_orders(world, order.purchase_order_id)) == 1
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Created": 1}}
    assert status_of(world, order.purchase_order_id) == "ack_pending"  # back in the queue
    placed = world.commerce.calls.get("module_place", 0)

    assert deliver(importer, [record]) == []
    importer.tick()
    assert len(commerce_orders(world, order.purchase_order_id)) == 1
    assert world.commerce.calls.get("module_place", 0) == placed
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Acknowledged": 1}}
    assert status_of(world, order.purchase_order_id) == "acknowledged"


def test_an_order_placed_before_its_answer_was_lost_is_answered_again_not_placed_again(world, importer,
                                                                                     monkeypatch) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000012", "quantity": 1}])
    record = polled(world, order)
    placing = importer.commerce.place_marketplace_order

    def answer_lost(request):
        placing(request)  # Commerce placed it; the answer never arrives (or the worker dies here)
        raise CommerceServerError(None, "POST /walmart-sync/orders: ConnectionError")

    monkeypatch.setattr(importer.commerce, "place_marketplace_order", answer_lost)
    with pytest.raises(Exception) as failure:
        deliver(importer, [record])
    assert classify(failure.value) == "retry"
    monkeypatch.undo()
    state = world.order_map().state(order.purchase_order_id)
    assert state.status == "placing"  # the placement was sent: the order may exist
    assert len(commerce_orders(world, order.purchase_order_id)) == 1

    assert deliver(importer, [record]) == []  # the retry: the module answers the order it placed

    (order_id, *_rest), = commerce_orders(world, order.purchase_order_id)
    assert world.order_map().commerce_order_of(order.purchase_order_id) == order_id
    again = importer.commerce.marketplace_order(order.purchase_order_id)
    assert again is not None and (again["state"], again["attempts"], again["order_id"]) == ("placed", 1, order_id)
    importer.tick()
    assert status_of(world, order.purchase_order_id) == "acknowledged"


def test_ids_longer_than_their_columns_are_dead_lettered_naming_the_field_before_anything_is_created(
        world, importer) -> None:
    """A 40-digit purchaseOrderId was retried for ever ("Data too long", a cart each time); a
    40-character customerOrderId left an order created but never acknowledged; a 9-character
    lineNumber recorded a PO without lines."""
    template = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000009", "quantity": 1}]).to_json()
    long_po, long_customer, long_line = (copy.deepcopy(template) for _ in range(3))
    long_po["purchaseOrderId"] = "9" * 40
    long_customer["purchaseOrderId"], long_customer["customerOrderId"] = "LONG-CUSTOMER-1", "C" * 40
    long_line["purchaseOrderId"] = "LONG-LINE-1"
    long_line["orderLines"]["orderLine"][0]["lineNumber"] = "123456789"
    records = [polled_record(world.prefix, doc) for doc in (long_po, long_customer, long_line)]

    dead = deliver(importer, records)

    assert [(letter.error_code, letter.reason.split(": ", 1)[1]) for letter in dead] == [
        ("FIELD_TOO_LONG", "purchaseOrderId (40 characters, at most 32 fit); nothing was created in Commerce"),
        ("FIELD_TOO_LONG", "customerOrderId (40 characters, at most 32 fit); nothing was created in Commerce"),
        ("FIELD_TOO_LONG", "lineNumber (9 characters, at most 8 fit); nothing was created in Commerce")]
    for po in ("LONG-CUSTOMER-1", "LONG-LINE-1"):
        assert commerce_orders(world, po) == []


def test_two_replicas_importing_one_po_at_once_place_one_commerce_order(world) -> None:
    """After a rebalance the old owner of a partition (its batch past max.poll.interval.ms, or a
    frozen process thawing) and the new one import the same PO at the same time. The old owner has
    recorded its cart and is placing it when the new owner looks: no order has that cart or that
    ext_order_id yet. The new owner must wait for the PO instead of placing a cart of its own."""
    old, new = world.handler("order_import"), world.handler("order_import")
    old.place_wait_s = new.place_wait_s = 1.0
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000013", "quantity": 1, "unitPrice": 7.0}])
    record = polled(world, order)
    new_tried = threading.Event()
    placing = old.commerce.place_marketplace_order

    def slow_place(request):  # held while the new owner tries the same PO
        new_tried.wait(10)
        return placing(request)

    old.commerce.place_marketplace_order = slow_place
    failures: list[BaseException] = []

    def old_owner() -> None:
        try:
            deliver(old, [copy.deepcopy(record)])
        except BaseException as exc:
            failures.append(exc)

    racing = threading.Thread(target=old_owner)
    racing.start()
    wait_for(lambda: (world.order_map().state(order.purchase_order_id) or SimpleNamespace(status=None)).status
             == "placing", 10, "the old owner to start placing")
    try:
        deliver(new, [copy.deepcopy(record)])
    except Exception as exc:
        assert classify(exc) == "retry", exc  # it waited for the PO and will see it imported when retried
    finally:
        new_tried.set()
    racing.join(15)
    assert not failures, failures
    assert deliver(new, [copy.deepcopy(record)]) == []  # the loop's retry, once the old owner is through
    new.tick()
    assert len(commerce_orders(world, order.purchase_order_id)) == 1
    assert status_of(world, order.purchase_order_id) == "acknowledged"


def test_an_acknowledgement_claimed_by_a_replica_that_died_is_sent_once_its_claim_is_stale(world) -> None:
    importer = world.handler("order_import")
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000014", "quantity": 1}])
    assert deliver(importer, [polled(world, order)]) == []
    assert world.order_map().claim_acknowledgement(order.purchase_order_id, 60)  # a replica's, then it died

    importer.tick()
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Created": 1}}  # its claim is respected
    assert status_of(world, order.purchase_order_id) == "acknowledging"

    importer.ack_claim_stale_s = 0.5
    wait_for(lambda: importer.tick() or status_of(world, order.purchase_order_id) == "acknowledged", 10,
             "the stale claim taken over")
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Acknowledged": 1}}


def test_a_batch_placed_through_several_lanes_makes_one_commerce_order_per_po_and_a_redelivery_none(world) -> None:
    """workers.order_import_concurrency (default 1; 3 here): the batch's POs go through lanes of their own
    (each its own state-store connection and named lock); each still becomes exactly one order,
    and the same batch delivered again (a crash before the offsets were committed) places none."""
    importer = world.handler("order_import", world.with_settings(workers={"order_import_concurrency": 3}))
    orders = [world.walmart.create_order(CLIENT_ID, [{"sku": f"WS-00000{n % 5 + 1}", "quantity": 1}])
              for n in range(7)]
    batch = [polled_record(world.prefix, order.to_json()) for order in orders]
    places = world.commerce.calls.get("module_place", 0)
    assert deliver(importer, batch) == []
    assert world.commerce.calls.get("module_place", 0) == places + 7
    assert len(importer.connections()) > 1  # lanes of their own, not the worker's one connection
    for order in orders:
        assert len(commerce_orders(world, order.purchase_order_id)) == 1
        assert status_of(world, order.purchase_order_id) == "ack_pending"
    again = [polled_record(world.prefix, order.to_json()) for order in orders]
    assert deliver(importer, again) == []
    assert world.commerce.calls.get("module_place", 0) == places + 7  # all found mapped: nothing placed
    assert all(len(commerce_orders(world, order.purchase_order_id)) == 1 for order in orders)
    importer.close()
