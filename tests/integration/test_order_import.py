"""Walmart orders -> poller -> Kafka -> importer -> Commerce (REST emulator) -> binlog -> inventory
worker -> Walmart: the loop closes, once per PO, with the failure cases handled."""

from __future__ import annotations

from kafka import KafkaProducer

from domain.events import PolledDocument
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import wait_for
from tests.support.order_helpers import order_pipeline, state_of


def commerce_orders(env, po: str) -> list[tuple]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT entity_id, increment_id, grand_total, shipping_amount, customer_email, tax_amount "
                    "FROM sales_order WHERE ext_order_id = %s", (po,))
        return cur.fetchall()


def test_a_walmart_order_becomes_one_commerce_order_and_the_loop_closes(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, workers=("order_import", "inventory"), listener=True) as \
            (env, settings, walmart, merchant, runners):
        order = walmart.create_order("local-client", [
            {"sku": "WS-000003", "quantity": 2, "unitPrice": 11.25, "shippingPrice": 4.5},
            {"sku": "WS-000004", "quantity": 1, "unitPrice": 30.0}])
        po = order.purchase_order_id
        wait_for(lambda: (s := state_of(settings, po)) and s.status == "acknowledged", 30, "the PO acknowledged")
        rows = commerce_orders(env, po)
        assert len(rows) == 1
        order_id, increment_id, grand_total, shipping, email, tax = rows[0]
        # Walmart's tax (the emulator charges 8%) is carried over, not recomputed by Commerce
        walmart_tax = sum(line.tax for line in order.lines)
        assert round(walmart_tax, 2) == 4.2
        assert (float(grand_total), float(shipping), float(tax)) == (2 * 11.25 + 30.0 + 4.5 + 4.2, 4.5, 4.2)
        assert email == f"{order.customer_order_id}@relay.walmart.com"
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT sku, qty_ordered, price, tax_amount FROM sales_order_item WHERE order_id = %s "
                        "ORDER BY item_id", (order_id,))
            assert [(s, float(q), float(p), float(t)) for s, q, p, t in cur.fetchall()] == \
                [("WS-000003", 2.0, 11.25, 1.8), ("WS-000004", 1.0, 30.0, 2.4)]
            cur.execute("SELECT city, postcode, firstname, lastname FROM sales_order_address WHERE parent_id = %s "
                        "AND address_type = 'shipping'", (order_id,))
            assert cur.fetchone() == ("Bentonville", "72716", "Jane", "Doe")
            cur.execute("SELECT sku, quantity FROM inventory_reservation WHERE metadata LIKE %s ORDER BY sku",
                        (f'%"object_id":"{order_id}"%',))
            assert [(s, float(q)) for s, q in cur.fetchall()] == [("WS-000003", -2.0), ("WS-000004", -1.0)]
            cur.execute("SELECT SUM(quantity) FROM inventory_source_item WHERE sku = 'WS-000003' AND status = 1 "
                        "AND source_code IN ('wh_east', 'wh_west')")
            on_hand = int(cur.fetchone()[0])
        assert all(line.statuses[0].status == "Acknowledged" for line in order.lines)
        mapped = OrderMap(connect_state(settings)).for_commerce_orders([order_id])[order_id]
        assert sorted(mapped.lines.values()) == ["1", "2"]
        # the reservation reached Walmart's quantity through the listener and the inventory worker
        seller = walmart.seller("local-client")
        wait_for(lambda: seller.inventory.get(("WS-000003", "default")) == on_hand - 2, 30,
                 f"Walmart's quantity {on_hand - 2} for WS-000003")
        # polled again and again: still one order, acknowledged once
        poller = runners[0]
        polls = poller.polls
        wait_for(lambda: poller.polls >= polls + 3, 10, "more polls")
        assert len(commerce_orders(env, po)) == 1
        assert seller.calls["order_acknowledge"] == 1


def test_out_of_stock_unknown_sku_and_malformed_orders(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path) as (env, settings, walmart, merchant, runners):
        loop = runners[1]
        short = walmart.create_order("local-client", [{"sku": "WS-000005", "quantity": 5000}])
        unknown = walmart.create_order("local-client", [{"sku": "WS-999999", "quantity": 1}])
        producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
        # a malformed order in the poller's envelope (the envelope itself malformed is the junk below)
        producer.send(f"{settings.kafka.topic_prefix}.walmart_orders", key=b"BROKEN-1", value=PolledDocument.wrap(
            "walmart_orders", "order", "BROKEN-1", 0, {"purchaseOrderId": "BROKEN-1", "orderLines": {}}).to_json())
        producer.send(f"{settings.kafka.topic_prefix}.walmart_orders", key=b"junk", value=b"\x00\xffnot json")
        producer.flush()
        producer.close()
        wait_for(lambda: (s := state_of(settings, short.purchase_order_id)) and
                 s.status == "cancelled_out_of_stock", 30, "the short order cancelled on Walmart")
        line = short.lines[0]
        assert [(s.status, s.quantity, s.cancellation_reason) for s in line.statuses] == \
            [("Cancelled", 5000, "SELLER_CANCEL_OUT_OF_STOCK")]
        wait_for(lambda: (s := state_of(settings, unknown.purchase_order_id)) and
                 s.status == "failed_unknown_sku", 30, "the unknown SKU recorded")
        assert "doesn't exist" in state_of(settings, unknown.purchase_order_id).last_error
        # Walmart's ship-by clock runs for the refused PO: its estimated ship date is recorded, and with a
        # margin wider than the day the emulator gives, it is at risk with the importer's reason
        from operations.lag.report import ReportBuilder

        state = connect_state(settings)
        with state.cursor() as cur:
            cur.execute("SELECT ship_by, open_units FROM walmart_order_state WHERE purchase_order_id = %s",
                        (unknown.purchase_order_id,))
            assert cur.fetchone() == (unknown.to_json()["shippingInfo"]["estimatedShipDate"], 1)
        wide = settings.model_copy(update={"ops": settings.ops.model_copy(update={"ship_by_margin_s": 2 * 86400.0})})
        at_risk = {(o.purchase_order_id, o.deadline): o
                   for o in ReportBuilder(wide, state, None, reader=None).at_risk_orders()}  # type: ignore[arg-type]
        refused = at_risk[(unknown.purchase_order_id, "ship_by")]
        assert refused.state == "at_risk" and "doesn't exist" in (refused.reason or "")
        assert (short.purchase_order_id, "ship_by") not in at_risk  # cancelled on Walmart: nothing to ship
        wait_for(lambda: (s := state_of(settings, "BROKEN-1")) and s.status == "failed_malformed", 30,
                 "the malformed order recorded")
        wait_for(lambda: loop.dead_lettered >= 3, 30, "three dead letters (unknown SKU, malformed, junk)")
        assert commerce_orders(env, short.purchase_order_id) == () and \
            commerce_orders(env, unknown.purchase_order_id) == ()
        # the importer is still alive and imports the next good order
        good = walmart.create_order("local-client", [{"sku": "WS-000006", "quantity": 1}])
        wait_for(lambda: (s := state_of(settings, good.purchase_order_id)) and s.status == "acknowledged", 30,
                 "the next good order")


def test_an_order_too_large_for_kafka_is_recorded_and_the_others_still_come_in(stack, tmp_path) -> None:
    """A 2 MB address made every poll fail with MessageSizeTooLargeError: no order came in at all."""
    with order_pipeline(stack, tmp_path) as (env, settings, walmart, _merchant, _runners):
        huge = walmart.create_order("local-client", [{"sku": "WS-000011", "quantity": 1}])
        huge.address2 = "x" * 2_000_000
        good = walmart.create_order("local-client", [{"sku": "WS-000012", "quantity": 1}])
        wait_for(lambda: (s := state_of(settings, good.purchase_order_id)) and s.status == "acknowledged", 60,
                 "the order beside the huge one")
        state = wait_for(lambda: (s := state_of(settings, huge.purchase_order_id)) and
                         s.status == "failed_too_large" and s, 30, "the huge order recorded as refused")
        assert "larger than a Kafka message may be" in state.last_error


def test_a_placement_slower_than_the_client_timeout_makes_one_commerce_order_per_po(stack, tmp_path) -> None:
    """Commerce commits each placement 2.5 s after it was asked, the client gives up after 1 s: the
    retries used to make a new cart and place it again (10 POs became 18 Commerce orders). Every
    Commerce order counts here, mapped to a PO or not."""
    with order_pipeline(stack, tmp_path, commerce_api={"request_timeout_s": 1.0},
                        worker_settings={"park_retry_s": 0.5, "retry_base_s": 0.1, "retry_cap_s": 0.5}) as \
            (env, settings, walmart, merchant, _runners):
        merchant.emulator.faults.place_order_commit_delay_s = 2.5
        orders = [walmart.create_order("local-client", [{"sku": f"WS-{n:06d}", "quantity": 1}]) for n in (2, 3, 4)]
        for order in orders:
            wait_for(lambda o=order: (s := state_of(settings, o.purchase_order_id)) and s.status == "acknowledged",
                     90, f"{order.purchase_order_id} imported and acknowledged")
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*), COUNT(DISTINCT ext_order_id), COUNT(ext_order_id) FROM sales_order")
            assert cur.fetchone() == (3, 3, 3)  # one Commerce order per PO, every one of them mapped


def test_a_sidecar_clock_three_minutes_ahead_of_walmart_still_imports_every_order(stack, tmp_path) -> None:
    """The watermark was this host's clock, compared with Walmart's lastModified, with a 120 s overlap:
    a clock 180 s ahead imported none of 5 new orders (the poller said ready). Now it is Walmart's
    time, from its Date headers."""
    from devstack.walmart_emulator import orders as walmart_clock

    walmart_clock.CLOCK_OFFSET_S[0] = -180.0  # Walmart's clock is 3 minutes behind this host's
    try:
        with order_pipeline(stack, tmp_path) as (_env, settings, walmart, _merchant, runners):
            poller = runners[0]
            wait_for(lambda: poller.polls >= 2, 30, "the first polls (the first reaches back a day)")
            created = [walmart.create_order("local-client", [{"sku": f"WS-{n:06d}", "quantity": 1}]) for n in (5, 6)]
            for order in created:
                wait_for(lambda o=order: (s := state_of(settings, o.purchase_order_id)) and s.status == "acknowledged",
                         60, f"{order.purchase_order_id} imported although the clocks differ")
            assert -182 < poller.client.clock_skew_s < -178
    finally:
        walmart_clock.CLOCK_OFFSET_S[0] = 0.0
