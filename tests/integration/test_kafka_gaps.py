"""Records Kafka loses are found and repaired from the source of truth (issue 18, item 2).

The scenario that once lost three records silently: the workers stopped; a stock change, a
shipment and a new Walmart PO were published (Kafka acknowledged them, the listener's checkpoint
and the order poller's watermark moved past them); the broker restarted with an empty log
directory; the workers started again. Before the gap ledger all three stayed missing with every
component ready and `lag` "overall OK". Here, on a real Apache Kafka broker of the test's own
(stopped, its data directory deleted, started again), the loss must be reported (the metric, a
`lag` ERR stage, readiness false) and then the stock value, the shipment and the PO must all
reach their destination, the gaps marked repaired and readiness back.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from typing import Any

import pymysql
import pytest
from kafka import KafkaConsumer, TopicPartition

from devstack.apache_kafka import ApacheKafkaCluster
from devstack.commerce_emulator.app import CommerceEmulator
from devstack.environment import prepare_environment
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from domain.events import FAMILIES
from operations.lag.sampler import close_builder, open_builder
from plumbing.kafka import connection_kwargs, topic_name
from plumbing.metrics import REGISTRY
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.apache_kafka import require_apache_kafka
from tests.support.cdc_helpers import ListenerThread, wait_for
from tests.support.order_helpers import LISTED, TOKEN, Merchant
from walmart_sync.components import build_poller, build_worker
from walmart_sync.supervisor import listener_ready, worker_ready

WORKERS = ("inventory", "shipment", "order_import")
SKU = "WS-000011"  # the SKU whose stock changes while the workers are down (in no order)


class Runner:
    """A poller or worker loop in a thread of this process."""

    def __init__(self, component: Any):
        self.component = component
        self.thread = threading.Thread(target=component.run, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.component.stop()
        self.thread.join(30)
        assert not self.thread.is_alive(), "the component did not stop"


def state_rows(settings: Any, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = connect_state(settings)
    try:
        with conn.cursor() as cur:
            try:
                cur.execute(sql, args)
            except pymysql.err.ProgrammingError:  # the table is not there yet
                return []
            return list(cur.fetchall())
    finally:
        conn.close()


def log_ends(settings: Any, family: str) -> int:
    """Records in the family's topic now (the sum of its partitions' log ends)."""
    consumer = KafkaConsumer(**connection_kwargs(settings.kafka, "test-gaps-ends"), enable_auto_commit=False,
                             allow_auto_create_topics=False)
    try:
        topic = topic_name(settings.kafka, family)
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        return sum(consumer.end_offsets(partitions).values()) if partitions else 0
    finally:
        consumer.close()


def partitions_of(settings: Any, family: str) -> int:
    consumer = KafkaConsumer(**connection_kwargs(settings.kafka, "test-gaps-partitions"), allow_auto_create_topics=False)
    try:
        return len(consumer.partitions_for_topic(topic_name(settings.kafka, family)) or ())
    finally:
        consumer.close()


def topics_ready(settings: Any) -> bool:
    """Every topic of the scenario there with its configured partitions: a consumer that joins its
    group before the broker's metadata lists its topic is assigned nothing until the next metadata
    refresh (minutes), which is not what this test is about."""
    return all(partitions_of(settings, family) == settings.kafka.partitions
               for family in ("stock", "shipment", "walmart_orders"))


def ledger_end(settings: Any, component: str, family: str) -> int:
    rows = state_rows(settings, "SELECT COALESCE(SUM(end_offset), 0) FROM kafka_offset_ledger WHERE component = %s "
                                "AND topic = %s", (component, topic_name(settings.kafka, family)))
    return int(rows[0][0]) if rows else 0


def open_gap_families(settings: Any) -> set[str]:
    return {str(f) for (f,) in state_rows(settings, "SELECT DISTINCT family FROM kafka_gaps WHERE repaired_at IS NULL")}


def detected(family: str, component: str) -> float:
    return REGISTRY.get_sample_value("walmart_sync_kafka_gaps_detected_total",
                                     {"family": family, "component": component}) or 0.0


def repaired(family: str, component: str) -> float:
    return REGISTRY.get_sample_value("walmart_sync_kafka_gaps_repaired_total",
                                     {"family": family, "component": component}) or 0.0


def lag_stages(settings: Any) -> dict[str, Any]:
    builder = open_builder(settings)
    try:
        return {stage.stage: stage for stage in builder.build(60.0).stages}
    finally:
        close_builder(builder)


def salable_on_hand(env: Any, sku: str) -> int:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(quantity) FROM inventory_source_item WHERE sku = %s AND status = 1 "
                    "AND source_code IN ('wh_east', 'wh_west')", (sku,))
        return int(cur.fetchone()[0])


@pytest.mark.timeout(600)
def test_records_a_wiped_broker_lost_are_reported_then_repaired_from_commerce_and_walmart(stack, tmp_path) -> None:
    require_apache_kafka()
    with ApacheKafkaCluster(tmp_path / "kafka", brokers=1) as cluster:
        env = prepare_environment(stack.endpoints, tmp_path / "env", "open_source", products=20,
                                  name=f"gap_{uuid.uuid4().hex[:6]}")
        walmart = WalmartEmulator({"local-client": "local-secret"})
        walmart.seed_items("local-client", LISTED)
        seller = walmart.seller("local-client")
        commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), TOKEN)
        with EmulatorServer(walmart) as walmart_server, EmulatorServer(commerce) as commerce_server:
            settings = env.settings(
                kafka={"bootstrap_servers": cluster.bootstrap_servers},
                walmart={"base_url": walmart_server.url, "client_id": "local-client", "client_secret": "local-secret"},
                commerce_api={"base_url": commerce_server.url, "token": TOKEN, "store_code": "walmart_us"},
                workers={"coalesce_ms": 50, "order_poll_s": 0.3, "feed_poll_s": 0.2},
                cdc={"checkpoint_interval_ms": 100}, ops={"gap_check_s": 1.0})
            merchant = Merchant(commerce_server)
            with ListenerThread(settings) as listener_thread:
                listener = listener_thread.listener
                poller = Runner(build_poller("order_poller", settings))
                wait_for(lambda: topics_ready(settings), 30, "the topics in the broker's metadata")
                workers = {name: Runner(build_worker(name, settings)) for name in WORKERS}

                # a Walmart order imported and the initial load pushed: the pipeline runs
                first = walmart.create_order("local-client", [{"sku": "WS-000003", "quantity": 2, "unitPrice": 10}])
                wait_for(lambda: (s := OrderMap(connect_state(settings)).state(first.purchase_order_id))
                         and s.status == "acknowledged", 60, "the first PO imported and acknowledged")
                order_id = OrderMap(connect_state(settings)).commerce_order_of(first.purchase_order_id)
                assert order_id is not None
                before = salable_on_hand(env, SKU)
                wait_for(lambda: seller.inventory.get((SKU, "default")) == before, 60,
                         f"the initial load's quantity {before} for {SKU} on Walmart")

                # the workers stop; a stock change, a shipment and a new PO are published meanwhile
                for runner in workers.values():
                    runner.stop()
                marks = {family: log_ends(settings, family) for family in ("stock", "shipment", "walmart_orders")}
                with env.admin_connection() as conn, conn.cursor() as cur:
                    cur.execute("UPDATE inventory_source_item SET quantity = quantity + 7 WHERE sku = %s AND "
                                "source_code = 'wh_east'", (SKU,))
                merchant.ship(order_id)
                second = walmart.create_order("local-client", [{"sku": "WS-000005", "quantity": 1, "unitPrice": 12}])
                for family, component in (("stock", "listener"), ("shipment", "listener"),
                                          ("walmart_orders", "order_poller")):
                    wait_for(lambda f=family: log_ends(settings, f) > marks[f], 30, f"a new {family} record in Kafka")
                    # acknowledged, checkpointed and in the ledger: the listener and the poller are past it
                    wait_for(lambda f=family, c=component: ledger_end(settings, c, f) >= log_ends(settings, f), 30,
                             f"{component}'s ledger to hold the {family} records Kafka acknowledged")
                shipped_before = sum(line.quantity_in("Shipped") for line in seller.orders[first.purchase_order_id].lines)
                assert shipped_before == 0 and seller.inventory[(SKU, "default")] == before

                # what the listener published is stock and shipment only (so exactly those two need repair)
                assert {f for f in FAMILIES if ledger_end(settings, "listener", f)} == {"stock", "shipment"}
                # the broker restarts with an empty log directory: every record and group offset is gone
                cluster.stop()
                shutil.rmtree(cluster.nodes[1].data_dir)
                cluster.start()
                back = time.monotonic()

                # reported before any worker runs: the ledger, the metric, lag ERR, readiness false
                wait_for(lambda: {"stock", "shipment"} <= open_gap_families(settings), 60,
                         "the listener to report the stock and shipment gaps")
                timings = {"reported_s": time.monotonic() - back}
                assert detected("stock", "listener") >= 1 and detected("shipment", "listener") >= 1
                wait_for(lambda: detected("walmart_orders", "order_poller") >= 1, 60,
                         "the order poller to report the walmart_orders gap")
                stages = lag_stages(settings)
                assert stages["gap:stock"].status == "ERR" and stages["gap:stock"].over, stages.get("gap:stock")
                assert stages["gap:shipment"].status == "ERR" and "listener" in stages["gap:shipment"].detail
                wait_for(lambda: not listener_ready(listener)[0], 30, "the listener not ready while records are lost")
                assert "records lost in Kafka" in listener_ready(listener)[1]

                # the workers start again and repair from Commerce; the poller polled Walmart again
                wait_for(lambda: topics_ready(settings), 30, "the lost topics created again with their partitions")
                restarted = time.monotonic()
                workers = {name: Runner(build_worker(name, settings)) for name in WORKERS}
                try:
                    wait_for(lambda: seller.inventory.get((SKU, "default")) == before + 7, 90,
                             f"Walmart's quantity {before + 7} for {SKU} (the lost stock change)")
                    timings["stock_s"] = time.monotonic() - restarted
                    wait_for(lambda: sum(line.quantity_in("Shipped")
                                         for line in seller.orders[first.purchase_order_id].lines) == 2, 90,
                             "the lost shipment on Walmart")
                    timings["shipment_s"] = time.monotonic() - restarted
                    wait_for(lambda: (s := OrderMap(connect_state(settings)).state(second.purchase_order_id))
                             and s.status == "acknowledged", 90, "the lost PO imported into Commerce")
                    timings["po_s"] = time.monotonic() - restarted
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        cur.execute("SELECT COUNT(*) FROM sales_order WHERE ext_order_id IN (%s, %s)",
                                    (first.purchase_order_id, second.purchase_order_id))
                        assert cur.fetchone()[0] == 2  # the PO polled again was not imported twice
                    wait_for(lambda: not open_gap_families(settings), 60, "every gap marked repaired")
                    timings["repaired_s"] = time.monotonic() - restarted
                    assert repaired("stock", "inventory") >= 1 and repaired("shipment", "shipment") >= 1
                    assert repaired("walmart_orders", "order_poller") >= 1
                    wait_for(lambda: listener_ready(listener)[0], 30, "the listener ready again")
                    wait_for(lambda: all(worker_ready(r.component)[0] for r in workers.values()), 60,
                             "every worker ready again")
                    assert poller.component.ready()[0]
                    stages = lag_stages(settings)
                    assert not [name for name in stages if name.startswith("gap:")], stages
                    timings["ready_s"] = time.monotonic() - restarted
                    print("kafka gap timings:", {k: round(v, 1) for k, v in timings.items()})
                finally:
                    for runner in [*workers.values(), poller]:
                        runner.stop()


@pytest.mark.timeout(400)
def test_a_group_whose_offsets_kafka_lost_resumes_where_the_ledger_says_not_at_auto_offset_reset(stack, tmp_path
                                                                                                 ) -> None:
    """The group's committed offsets gone while its records are all there (offsets.retention.minutes
    shorter than an outage): with ``auto_offset_reset = "latest"`` the waiting stock change would be
    skipped, with earliest everything replayed; the worker resumes at the offset its ledger holds."""
    from kafka.admin import KafkaAdminClient

    env = prepare_environment(stack.endpoints, tmp_path / "env", "open_source", products=20,
                              name=f"gpo_{uuid.uuid4().hex[:6]}")
    walmart = WalmartEmulator({"local-client": "local-secret"})
    walmart.seed_items("local-client", LISTED)
    seller = walmart.seller("local-client")
    with EmulatorServer(walmart) as walmart_server:
        sections: dict[str, Any] = dict(
            walmart={"base_url": walmart_server.url, "client_id": "local-client", "client_secret": "local-secret"},
            workers={"coalesce_ms": 50, "feed_poll_s": 0.2}, cdc={"checkpoint_interval_ms": 100},
            ops={"gap_check_s": 1.0})
        settings = env.settings(**sections)
        # the restarted worker's group starts at the log end when Kafka has no offset for it (the
        # first start keeps the default, earliest: a fresh group must not skip the first change)
        latest = env.settings(**sections, kafka={"consumer_groups": {"inventory": {"auto_offset_reset": "latest"}}})
        with ListenerThread(settings):
            worker = Runner(build_worker("inventory", settings))
            before = salable_on_hand(env, SKU)
            wait_for(lambda: seller.inventory.get((SKU, "default")) == before, 60,
                     f"the initial load's quantity {before} for {SKU} on Walmart")
            with env.admin_connection() as conn, conn.cursor() as cur:  # a first change, consumed and committed
                cur.execute("UPDATE inventory_source_item SET quantity = quantity + 1 WHERE sku = %s AND "
                            "source_code = 'wh_east'", (SKU,))
            wait_for(lambda: seller.inventory.get((SKU, "default")) == before + 1, 60, "the first change on Walmart")
            wait_for(lambda: log_ends(settings, "stock") > 0
                     and ledger_end(settings, "inventory", "stock") >= log_ends(settings, "stock"), 30,
                     "the inventory group's commits in its ledger")
            worker.stop()
            mark = log_ends(settings, "stock")
            with env.admin_connection() as conn, conn.cursor() as cur:
                cur.execute("UPDATE inventory_source_item SET quantity = quantity + 5 WHERE sku = %s AND "
                            "source_code = 'wh_east'", (SKU,))
            wait_for(lambda: log_ends(settings, "stock") > mark, 30, "the stock change in Kafka")
            admin = KafkaAdminClient(**connection_kwargs(settings.kafka, "test-gaps-admin"))

            def deleted() -> bool:
                try:  # refused while the stopped member's leave is still being processed
                    admin.delete_groups([f"{settings.kafka.topic_prefix}.inventory"])
                except Exception:
                    return False
                return True

            try:
                wait_for(deleted, 30, "the inventory group (its committed offsets) deleted from Kafka")
            finally:
                admin.close()
            restored = REGISTRY.get_sample_value("walmart_sync_worker_offsets_restored_total",
                                                 {"worker": "inventory"}) or 0.0
            worker = Runner(build_worker("inventory", latest))
            try:
                wait_for(lambda: seller.inventory.get((SKU, "default")) == before + 6, 60,
                         f"Walmart's quantity {before + 6} for {SKU} (the change waiting behind the lost offsets)")
                assert (REGISTRY.get_sample_value("walmart_sync_worker_offsets_restored_total",
                                                  {"worker": "inventory"}) or 0.0) > restored
                assert "stock" not in open_gap_families(settings)  # nothing was lost: no gap, no repair
                assert worker_ready(worker.component)[0]
            finally:
                worker.stop()


@pytest.mark.timeout(300)
def test_a_worker_is_assigned_the_partitions_its_topic_gains_while_it_runs(stack, tmp_path) -> None:
    """What the fault suite once failed on: after a broker lost its topics, the listener's producer
    auto-created the stock topic with the broker's one partition and a gap check gave it the
    configured three. The inventory group's consumer, subscribed while the topic had one, read
    partition 0 alone until its next metadata refresh (``metadata_max_age_ms``: five minutes by
    default, ten here), and the stock changes keyed to partitions 1 and 2 waited there. The worker's
    loop compares its consumer's view with each gap check's fresh metadata and refreshes it: the
    group is assigned all three and the change reaches Walmart."""
    from kafka.admin import KafkaAdminClient, NewTopic
    from kafka.partitioner.default import murmur2

    env = prepare_environment(stack.endpoints, tmp_path / "env", "open_source", products=20,
                              name=f"gpp_{uuid.uuid4().hex[:6]}")
    walmart = WalmartEmulator({"local-client": "local-secret"})
    walmart.seed_items("local-client", LISTED)
    seller = walmart.seller("local-client")
    with EmulatorServer(walmart) as walmart_server:
        settings = env.settings(
            walmart={"base_url": walmart_server.url, "client_id": "local-client", "client_secret": "local-secret"},
            workers={"coalesce_ms": 50, "feed_poll_s": 0.2}, cdc={"checkpoint_interval_ms": 100},
            ops={"gap_check_s": 1.0}, kafka={"client_options": {"metadata_max_age_ms": 600_000}})
        assert settings.kafka.partitions == 3
        topic = topic_name(settings.kafka, "stock")
        # a SKU listed on Walmart whose stock events go to partition 1 or 2 once the topic has three
        sku = next(s for s in sorted(LISTED) if (murmur2(s.encode()) & 0x7FFFFFFF) % 3 != 0
                   and salable_on_hand(env, s) > 0)
        admin = KafkaAdminClient(**connection_kwargs(settings.kafka, "test-gaps-admin"))
        try:
            admin.create_topics([NewTopic(topic, 1, settings.kafka.replication_factor)])
            worker = Runner(build_worker("inventory", settings))
            try:
                with ListenerThread(settings):  # its first start asks for the initial load
                    wait_for(lambda: (c := worker.component.consumer) is not None
                             and c.assignment() == {TopicPartition(topic, 0)}, 60,
                             "the inventory group assigned the one partition the stock topic has")
                    before = salable_on_hand(env, sku)
                    wait_for(lambda: seller.inventory.get((sku, "default")) == before, 60,
                             f"the initial load's quantity {before} for {sku} on Walmart")
                admin.create_partitions({topic: 3})
                # a listener started after the growth (as after its restart) sends by three partitions
                with ListenerThread(settings):
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        cur.execute("UPDATE inventory_source_item SET quantity = quantity + 4 WHERE sku = %s AND "
                                    "source_code = 'wh_east'", (sku,))
                    wait_for(lambda: seller.inventory.get((sku, "default")) == before + 4, 60,
                             f"Walmart's quantity {before + 4} for {sku}, published to a partition the topic gained")
                assert worker.component.metadata_refreshes >= 1
                assert worker.component.consumer.assignment() == {TopicPartition(topic, p) for p in range(3)}
                assert worker_ready(worker.component)[0]
            finally:
                worker.stop()
        finally:
            admin.close()
