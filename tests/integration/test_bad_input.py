"""Bad input gets a clear error and loses nothing: junk on every topic, malformed Walmart orders and
returns (missing fields, wrong types, unknown SKUs, absurd quantities). Every bad record ends in
its worker's dead-letter topic with the reason, and in the state schema where support staff look;
every worker and poller keeps going (no crash loop) and the next good document goes through.
(DDL on watched tables, a purged binlog and broken configuration: tests/test_cdc_faults.py and
tests/test_config.py.)"""

from __future__ import annotations

import copy

from kafka import KafkaConsumer, KafkaProducer

from config.components import worker_families
from plumbing.kafka import topic_name
from sync_workers.runtime.loop import dlq_topic
from sync_workers.stores.return_map import ReturnMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import wait_for
from tests.support.order_helpers import order_pipeline, state_of
from tests.support.records import change_event

WORKERS = tuple(worker_families())
JUNK = (b"\x00\xff\xfenot json at all", b'{"family": 3, "sku": ["x"]}', b"[]")


def letters(settings, worker: str) -> list:
    consumer = KafkaConsumer(dlq_topic(settings, worker), bootstrap_servers=settings.kafka.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=1500)
    try:
        return list(consumer)
    finally:
        consumer.close()


def test_junk_on_every_topic_is_dead_lettered_and_every_worker_goes_on(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, workers=WORKERS, pollers=()) as (env, settings, walmart, _merchant, runners):
        loops = {loop.handler.name: loop for loop in runners}
        wait_for(lambda: all(loop.assigned.is_set() for loop in loops.values()), 60, "every worker in its group")
        producer = KafkaProducer(bootstrap_servers=settings.kafka.bootstrap_servers)
        topics = {topic_name(settings.kafka, family) for families in worker_families().values()
                  for family in families}
        for topic in sorted(topics):
            for junk in JUNK:
                producer.send(topic, key=b"junk", value=junk)
        producer.flush()
        families = worker_families()
        wait_for(lambda: all(loop.dead_lettered >= len(JUNK) * len(families[name]) for name, loop in loops.items()),
                 60, "every worker to dead-letter the junk of its topics")
        for name in WORKERS:
            found = letters(settings, name)
            assert {m.value for m in found} >= set(JUNK), name
            headers = dict(found[0].headers)
            assert headers["dlq.reason"] == b"not a JSON change event" and headers["dlq.error.code"] == \
                b"MALFORMED_EVENT"
            assert headers["dlq.source.topic"].decode() in topics and headers["dlq.worker"] == name.encode()
        # still consuming: a good stock change after the junk reaches Walmart
        producer.send(topic_name(settings.kafka, "stock"), key=b"WS-000004",
                      value=change_event("stock", "source_item", "WS-000004", sku="WS-000004"))
        producer.flush()
        producer.close()
        seller = walmart.seller("local-client")
        wait_for(lambda: ("WS-000004", "default") in seller.inventory, 30, "the good event after the junk")
        assert all(loop.running.is_set() for loop in loops.values())


def test_malformed_walmart_orders_and_returns_are_explained_and_nothing_stops(stack, tmp_path) -> None:
    with order_pipeline(stack, tmp_path, workers=("order_import", "return_import"),
                        pollers=("order_poller", "return_poller"), rma=False) as \
            (env, settings, walmart, _merchant, runners):
        order_poller, return_poller, importer, return_importer = runners
        template = walmart.create_order("local-client", [{"sku": "WS-000003", "quantity": 1}]).to_json()
        wait_for(lambda: (s := state_of(settings, template["purchaseOrderId"])) and s.status == "acknowledged", 30,
                 "a good order first")

        def bad(po: str, change) -> dict:
            doc = copy.deepcopy(template)
            doc["purchaseOrderId"] = po
            change(doc)
            return doc

        line = lambda doc: doc["orderLines"]["orderLine"][0]  # noqa: E731
        orders = [
            bad("BAD-NO-LINES", lambda d: d["orderLines"].update(orderLine=[])),
            bad("BAD-QTY-TYPE", lambda d: line(d)["orderLineQuantity"].update(amount="abc")),
            bad("BAD-QTY-ABSURD", lambda d: line(d)["orderLineQuantity"].update(amount="1000000000")),
            bad("BAD-NO-ADDRESS", lambda d: d.pop("shippingInfo")),
            bad("BAD-PRICE", lambda d: line(d)["charges"]["charge"][0]["chargeAmount"].update(amount=-5)),
            bad("BAD-DATE", lambda d: d.update(orderDate="yesterday")),
            bad("BAD-SKU", lambda d: line(d)["item"].update(sku="NOT-IN-COMMERCE")),
            {k: v for k, v in template.items() if k != "purchaseOrderId"},   # no id at all
        ]
        returns = [
            {"returnOrderId": "R-NO-LINES", "customerOrderId": "C1", "returnOrderLines": []},
            {"returnOrderId": "R-NEGATIVE", "customerOrderId": template["customerOrderId"], "returnOrderLines": [
                {"returnOrderLineNumber": 1, "purchaseOrderId": template["purchaseOrderId"],
                 "purchaseOrderLineNumber": 1, "quantity": {"unitOfMeasure": "EACH", "measurementValue": -2}}]},
            {"returnOrderId": "R-UNKNOWN-PO", "customerOrderId": "C9", "returnOrderLines": [
                {"returnOrderLineNumber": 1, "purchaseOrderId": "NEVER-IMPORTED", "purchaseOrderLineNumber": 1,
                 "quantity": {"unitOfMeasure": "EACH", "measurementValue": 1}}]},
        ]
        polls = order_poller.polls
        walmart.serve_raw("local-client", orders=orders, returns=returns)
        expected = {"BAD-NO-LINES": "failed_malformed", "BAD-QTY-TYPE": "failed_malformed",
                    "BAD-QTY-ABSURD": "failed_malformed", "BAD-NO-ADDRESS": "failed_malformed",
                    "BAD-PRICE": "failed_malformed", "BAD-DATE": "failed_malformed", "BAD-SKU": "failed_unknown_sku"}
        wait_for(lambda: all((s := state_of(settings, po)) and s.status == status for po, status in expected.items()),
                 60, f"every malformed order recorded as {expected}")
        for po in expected:
            assert state_of(settings, po).last_error, po  # the reason, for support staff
        assert "NOT-IN-COMMERCE" in state_of(settings, "BAD-SKU").last_error
        wait_for(lambda: importer.dead_lettered >= len(orders), 30, "a dead letter for each bad order")
        reasons = [dict(m.headers)["dlq.reason"].decode() for m in letters(settings, "order_import")]
        assert "no order with a purchaseOrderId in the Walmart order event" in reasons, reasons
        assert order_poller.polls > polls + 3 and order_poller.failures == 0  # the poller never stuck

        returns_state = ReturnMap(connect_state(settings))
        wanted = {"R-NO-LINES": "failed_malformed", "R-NEGATIVE": "failed_malformed",
                  "R-UNKNOWN-PO": "failed_unknown_order"}
        wait_for(lambda: all((s := returns_state.state(r)) and s.status == status for r, status in wanted.items()),
                 60, f"every malformed return recorded as {wanted}")
        assert "NEVER-IMPORTED" in returns_state.state("R-UNKNOWN-PO").detail
        assert return_poller.failures == 0 and return_importer.dead_lettered >= 3

        # and the next good order still goes through
        good = walmart.create_order("local-client", [{"sku": "WS-000004", "quantity": 1}])
        wait_for(lambda: (s := state_of(settings, good.purchase_order_id)) and s.status == "acknowledged", 30,
                 "a good order after the bad ones")
