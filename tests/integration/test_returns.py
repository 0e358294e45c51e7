"""Walmart returns end to end: Walmart return -> return poller -> Kafka -> return importer -> RMA
(Adobe Commerce) or a recorded return (Open Source); the merchant's credit memo -> listener ->
refund worker -> Walmart's Returns API, once. Real MariaDB, broker, listener and both emulators."""

from __future__ import annotations

from sync_workers.push.refund import RefundWorker
from sync_workers.stores.return_map import ReturnMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import replay_through_fresh_group, wait_for
from tests.support.order_helpers import order_pipeline, state_of

FLOW = ("order_import", "shipment", "refund", "return_import")


def imported_order(env, settings, walmart, lines):
    """A Walmart order imported into Commerce: (Walmart order, Commerce order id, item ids by line)."""
    order = walmart.create_order("local-client", lines)
    po = order.purchase_order_id
    wait_for(lambda: (s := state_of(settings, po)) and s.status == "acknowledged", 30, f"PO {po} imported")
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT entity_id FROM sales_order WHERE ext_order_id = %s", (po,))
        order_id = cur.fetchone()[0]
        cur.execute("SELECT item_id FROM sales_order_item WHERE order_id = %s ORDER BY item_id", (order_id,))
        items = [row[0] for row in cur.fetchall()]
    return order, order_id, items


def return_state(settings, return_id: str):
    return ReturnMap(connect_state(settings)).state(return_id)


def rmas(env, order_id: int) -> list[tuple]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT r.entity_id, r.status, i.order_item_id, i.qty_requested, i.qty_authorized, "
                    "i.qty_returned, i.status FROM magento_rma r JOIN magento_rma_item_entity i "
                    "ON i.rma_entity_id = r.entity_id WHERE r.order_id = %s ORDER BY r.entity_id, i.entity_id",
                    (order_id,))
        return [(rid, status, item, float(req), float(auth or 0), None if ret is None else float(ret), istatus)
                for rid, status, item, req, auth, ret, istatus in cur.fetchall()]


def shipped_on_walmart(walmart, po: str) -> bool:
    order = walmart.seller("local-client").orders[po]
    return all(line.quantity_in("Created", "Acknowledged") == 0 for line in order.lines)


def test_a_walmart_return_becomes_an_rma_and_its_credit_memo_refunds_it_once(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, "adobe_commerce", workers=FLOW, listener=True,
                        pollers=("order_poller", "return_poller")) as (env, settings, walmart, merchant, runners):
        order, order_id, items = imported_order(env, settings, walmart, [
            {"sku": "WS-000003", "quantity": 2, "unitPrice": 12.5},
            {"sku": "WS-000004", "quantity": 1, "unitPrice": 30.0}])
        po = order.purchase_order_id
        merchant.invoice(order_id)
        merchant.ship(order_id)
        wait_for(lambda: shipped_on_walmart(walmart, po), 30, "the shipment reported to Walmart")

        returned = walmart.create_return("local-client", po, [
            {"lineNumber": "1", "quantity": 1, "returnReason": "DEFECTIVE"}])
        rid = returned.return_order_id
        wait_for(lambda: (s := return_state(settings, rid)) and s.status == "rma_created", 30, "the RMA")
        (rma_id, status, item, requested, authorized, qty_returned, item_status), = rmas(env, order_id)
        assert (status, item, requested, authorized, qty_returned, item_status) == \
            ("authorized", items[0], 1.0, 1.0, None, "authorized")
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT comment FROM magento_rma_status_history WHERE rma_entity_id = %s", (rma_id,))
            comment = cur.fetchone()[0]
        assert comment.startswith(f"Walmart return {rid} ") and "DEFECTIVE" in comment and po in comment

        # the goods reach Walmart's return centre: the RMA's item is received
        walmart.seller("local-client").returns[rid].deliver()
        wait_for(lambda: rmas(env, order_id)[0][1] == "received", 30, "the RMA received")
        assert rmas(env, order_id)[0][5:] == (1.0, "received")

        # the merchant refunds the returned unit: Walmart's Returns API, not the order refund
        merchant.refund(order_id, {items[0]: 1})
        line = walmart.seller("local-client").returns[rid].lines[0]
        wait_for(lambda: line.refunded == 1, 30, "the return refunded on Walmart")
        seller = walmart.seller("local-client")
        assert seller.calls["return_refund"] == 1 and seller.calls["order_refund"] == 0
        assert walmart.seller("local-client").returns[rid].status == "COMPLETED"

        # a later credit memo for a unit nobody returned goes through the order refund
        merchant.refund(order_id, {items[1]: 1})
        wait_for(lambda: seller.calls["order_refund"] == 1, 30, "the order refund of line 2")
        refunded = walmart.seller("local-client").orders[po].line("2").refunds
        amounts = [c["charge"]["chargeAmount"]["amount"] for r in refunded for c in r["refundCharges"]["refundCharge"]]
        assert amounts == [-30.0]
        assert seller.calls["return_refund"] == 1

        # a crash before the offsets were committed replays every refund event: nothing is sent twice
        replay_through_fresh_group(settings, RefundWorker)
        assert (seller.calls["return_refund"], seller.calls["order_refund"]) == (1, 1)

        # a crash between creating the RMA and recording it: the importer finds it by its comment
        state = connect_state(settings)
        with state.cursor() as cur:
            cur.execute("UPDATE walmart_return_line_map SET commerce_rma_id = NULL WHERE return_order_id = %s", (rid,))
            cur.execute("UPDATE walmart_return_map SET status = 'new' WHERE return_order_id = %s", (rid,))
            cur.execute("DELETE FROM walmart_poll_seen WHERE name = 'returns' AND doc_id = %s", (rid,))
        wait_for(lambda: (s := return_state(settings, rid)) and s.status == "rma_created", 30, "re-imported")
        assert len({r[0] for r in rmas(env, order_id)}) == 1
        assert ReturnMap(state).lines(rid)[0].commerce_rma_id == rma_id


def test_open_source_records_the_return_and_refunds_it_through_the_returns_api(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, "open_source", workers=FLOW, listener=True, rma=False,
                        pollers=("order_poller", "return_poller")) as (env, settings, walmart, merchant, runners):
        importer = runners[-1].handler
        order, order_id, items = imported_order(env, settings, walmart, [
            {"sku": "WS-000005", "quantity": 3, "unitPrice": 8.0}])
        po = order.purchase_order_id
        merchant.invoice(order_id)
        merchant.ship(order_id)
        wait_for(lambda: shipped_on_walmart(walmart, po), 30, "the shipment reported to Walmart")
        returned = walmart.create_return("local-client", po, [{"lineNumber": "1", "quantity": 2}])
        rid = returned.return_order_id
        wait_for(lambda: (s := return_state(settings, rid)) and s.status == "recorded", 30, "the return recorded")
        assert importer.rma_available is False  # found out from the store: no RMA route
        assert [(l.commerce_item_id, l.quantity, l.refunded_qty) for l in
                ReturnMap(connect_state(settings)).lines(rid)] == [(items[0], 2, 0)]
        # the merchant refunds all three: two through the return, the third through the order
        merchant.refund(order_id, {items[0]: 3})
        seller = walmart.seller("local-client")
        wait_for(lambda: seller.calls["return_refund"] == 1 and seller.calls["order_refund"] == 1, 30,
                 "the return and the order refunded")
        assert seller.returns[rid].lines[0].refunded == 2
        charges = [c["charge"] for r in seller.orders[po].line("1").refunds for c in r["refundCharges"]["refundCharge"]]
        assert [(c["chargeAmount"]["amount"], c["tax"]["taxAmount"]["amount"]) for c in charges] == \
            [(-8.0, -round(24 * 0.08 / 3, 2))]
        assert [(l.refunded_qty) for l in ReturnMap(connect_state(settings)).lines(rid)] == [2]


def test_a_return_of_an_order_never_imported_is_dead_lettered(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, "open_source", workers=("return_import",), rma=False,
                        pollers=("return_poller",)) as (env, settings, walmart, merchant, runners):
        loop = runners[-1]
        foreign = walmart.create_order("local-client", [{"sku": "WS-000006", "quantity": 1}])
        foreign.lines[0].statuses[0].status = "Shipped"  # shipped before walmart-sync was deployed
        returned = walmart.create_return("local-client", foreign.purchase_order_id, [{"lineNumber": "1"}])
        wait_for(lambda: (s := return_state(settings, returned.return_order_id)) and
                 s.status == "failed_unknown_order", 30, "the unknown order recorded")
        assert foreign.purchase_order_id in return_state(settings, returned.return_order_id).detail
        wait_for(lambda: loop.dead_lettered >= 1, 30, "the dead letter")
