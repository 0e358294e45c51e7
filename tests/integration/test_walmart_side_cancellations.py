"""Walmart-side changes after import reach Commerce: lines Walmart cancelled on its own, and a
customer's intent to cancel, through the order poller and importer; the cancellation worker then
confirms an honoured intent to Walmart. Real MariaDB, broker, listener and both emulators."""

from __future__ import annotations

from tests.integration.test_returns import imported_order
from tests.support.cdc_helpers import wait_for
from tests.support.order_helpers import order_pipeline, state_of


def order_row(env, order_id: int) -> tuple[str, list[str]]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT state FROM sales_order WHERE entity_id = %s", (order_id,))
        state = cur.fetchone()[0]
        cur.execute("SELECT comment FROM sales_order_status_history WHERE parent_id = %s ORDER BY entity_id",
                    (order_id,))
        # the companion module's placement comment comes with every imported order; these tests
        # judge the ones the sidecar writes after it
        return state, [row[0] for row in cur.fetchall() if not str(row[0]).startswith("Walmart purchase order ")]


def test_walmart_cancellations_and_intents_to_cancel_reach_commerce(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, workers=("order_import", "cancellation"), listener=True) as \
            (env, settings, walmart, merchant, runners):
        seller = walmart.seller("local-client")
        # 1. the customer asks to cancel an acknowledged one-line order: Commerce cancels it, and the
        #    cancellation worker tells Walmart with the customer's reason
        asked, asked_id, _ = imported_order(env, settings, walmart, [{"sku": "WS-000007", "quantity": 2}])
        assert walmart.customer_cancel("local-client", asked.purchase_order_id, "1") == "intent_to_cancel"
        wait_for(lambda: state_of(settings, asked.purchase_order_id).status == "cancelled_on_request", 30,
                 "the intent honoured in Commerce")
        assert order_row(env, asked_id)[0] == "canceled"
        line = asked.lines[0]
        wait_for(lambda: line.quantity_in("Cancelled") == 2, 30, "the cancellation confirmed on Walmart")
        assert {s.cancellation_reason for s in line.statuses} == {"CUSTOMER_REQUESTED_SELLER_TO_CANCEL"}
        assert seller.calls["order_cancel"] == 1

        # 2. Walmart cancels every line of an order on its own: Commerce cancels it, Walmart hears
        #    nothing back (it already shows the lines cancelled)
        gone, gone_id, _ = imported_order(env, settings, walmart, [{"sku": "WS-000008", "quantity": 1},
                                                                   {"sku": "WS-000009", "quantity": 1}])
        for number in ("1", "2"):
            walmart.walmart_cancel("local-client", gone.purchase_order_id, number)
        wait_for(lambda: state_of(settings, gone.purchase_order_id).status == "cancelled_by_walmart", 30,
                 "Walmart's cancellation followed")
        state, comments = order_row(env, gone_id)
        assert state == "canceled" and "Walmart cancelled 1 unit(s) of line 1, 1 unit(s) of line 2" in comments[0]

        # 3. Walmart cancels one line of two: Commerce keeps the order, the merchant is told
        part, part_id, _ = imported_order(env, settings, walmart, [{"sku": "WS-000010", "quantity": 3},
                                                                   {"sku": "WS-000011", "quantity": 1}])
        walmart.walmart_cancel("local-client", part.purchase_order_id, "1")
        wait_for(lambda: state_of(settings, part.purchase_order_id).status == "walmart_changes_noted", 30,
                 "the partial cancellation noted")
        state, comments = order_row(env, part_id)
        assert state == "new" and comments == [
            f"Walmart PO {part.purchase_order_id}: Walmart cancelled 3 unit(s) of line 1. Do not ship these units."]

        # polled again and again, nothing is done twice
        poller = runners[0]
        polls = poller.polls
        wait_for(lambda: poller.polls >= polls + 5, 10, "more polls")
        assert len(order_row(env, part_id)[1]) == 1 and len(order_row(env, gone_id)[1]) == 1
        assert seller.calls["order_cancel"] == 1


def test_a_walmart_cancellation_of_an_order_older_than_a_week_still_reaches_commerce(stack, tmp_path) -> None:
    """GET /v3/orders defaults createdStartDate to 7 days back even with lastModifiedStartDate: the
    poller asked only by lastModified, so a late cancellation of an older open order was never seen."""
    with order_pipeline(stack, tmp_path, workers=("order_import",)) as (env, settings, walmart, _merchant, _runners):
        old, old_id, _ = imported_order(env, settings, walmart, [{"sku": "WS-000012", "quantity": 1}])
        old.order_date -= 10 * 86_400_000  # placed 10 days ago, still open (a made-to-order item)
        walmart.walmart_cancel("local-client", old.purchase_order_id, "1")
        wait_for(lambda: state_of(settings, old.purchase_order_id).status == "cancelled_by_walmart", 30,
                 "the cancellation of a 10-day-old order followed")
        assert order_row(env, old_id)[0] == "canceled"
