"""Replicas of the push workers and of the order importer, each its own process in one consumer
group, on a three-broker Apache Kafka cluster: how much faster three are than one on the same
workload, and what replicas coming, going and stalling do to what reaches Walmart and Commerce.

The harness of devstack/chaos.py with ``replicas`` processes of each scaled worker (inventory,
price, shipment, order_import) and one of every other component, on topics with ``partitions``
partitions (replication factor 3, min.insync.replicas 2). In order:

1. throughput with one replica each: a burst of Walmart orders and one stock and one price change
   per SKU, timed until Walmart and Commerce agree, Walmart answering with ``walmart_latency_s``;
2. replicas 2.. started (the last one of each reaches Walmart and Commerce through a lane whose
   answers can be held back), the groups rebalance, and the same burst again;
3. under the both-directions load: a replica of each stopped and started again, one killed -9 and
   started again, two replicas frozen (SIGSTOP) past ``max.poll.interval.ms`` and thawed, and the
   slow lane holding every call ``slow_call_s`` for a while, so those replicas overrun
   max.poll.interval.ms inside a batch: the group rebalances around them and their late commits fail;
4. load off, agreement, and the replay through every group: nothing lost, nothing applied twice,
   and no worker process exited (``commit_failures_unhandled``) although commits failed.
"""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.apache_kafka import ApacheKafkaCluster
from devstack.chaos import CLIENT, Component, Load, Sidecar, _wait, running_sidecar, stop_all
from devstack.kafka_faults import Supervise, cluster_overrides
from devstack.mariadb import MySqlEndpoint
from devstack.stack import StackEndpoints
from devstack.walmart_emulator.server import EmulatorServer

SCALED = ("inventory", "price", "shipment", "order_import")
SINGLE = ("listener", "cancellation", "refund", "order_poller")
# what the burst writes to, and so what the events/s figures count
BURST_FAMILIES = ("stock", "price", "walmart_orders")


class SlowLane:
    """Another door into an emulator (the same state) whose calls can be held back before they
    are applied: the replica sent through it is a replica whose Walmart or Commerce is slow."""

    def __init__(self, app: Any):
        self.app = app
        self.delay_s = 0.0

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if self.delay_s:
            time.sleep(self.delay_s)
        return self.app(environ, start_response)


@dataclass
class ScaleOutReport:
    engine: str = "apache-kafka"
    brokers: int = 3
    partitions: int = 6
    replicas: int = 3
    assignment_strategy: str = "range"
    static_membership: bool = False
    events_1: int = 0
    seconds_1: float = 0.0
    events_3: int = 0
    seconds_3: float = 0.0
    orders: int = 0
    merchant_actions: Counter[str] = field(default_factory=Counter)
    stock_changes: int = 0
    price_changes: int = 0
    faults: list[str] = field(default_factory=list)
    bursts: list[float] = field(default_factory=list)
    burst_parts: dict[int, dict[str, float]] = field(default_factory=dict)  # burst -> check -> seconds to agree
    commit_failures: int = 0
    component_exits: dict[str, list[int]] = field(default_factory=dict)
    lost: int = 0
    duplicate_effects: int = 0
    converge_seconds: float | None = None
    replayed_records: int = 0
    checks: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # after a disagreement: log lines naming what disagreed

    @property
    def events(self) -> int:
        return self.events_1 + self.events_3

    @property
    def commit_failures_unhandled(self) -> int:
        """Worker processes that ended on their own (a commit failure the loop did not handle among
        the causes): each exit of a worker that was neither stopped nor killed by the run."""
        return sum(len(codes) for codes in self.component_exits.values())

    def as_json(self) -> dict[str, Any]:
        def rate(events: int, seconds: float) -> float | None:
            return round(events / seconds, 1) if seconds else None

        return {"engine": self.engine, "brokers": self.brokers, "partitions": self.partitions,
                "replicas": self.replicas, "assignment_strategy": self.assignment_strategy,
                "static_membership": self.static_membership, "events": self.events,
                "events_s_1": rate(self.events_1, self.seconds_1), "events_s_3": rate(self.events_3, self.seconds_3),
                "burst_events": self.events_1, "burst_seconds_1": self.seconds_1, "burst_seconds_3": self.seconds_3,
                "burst_parts": self.burst_parts,
                "duplicate_effects": self.duplicate_effects, "lost": self.lost,
                "commit_failures": self.commit_failures, "commit_failures_unhandled": self.commit_failures_unhandled,
                "component_exits": self.component_exits, "orders": self.orders,
                "merchant_actions": dict(self.merchant_actions), "faults": self.faults,
                "converge_seconds": self.converge_seconds, "replayed_records": self.replayed_records,
                "checks": self.checks, "evidence": self.evidence}


def run_scale_out(mysql: MySqlEndpoint, cluster: ApacheKafkaCluster, workdir: Path, replicas: int = 3,
                  partitions: int = 6, burst_orders: int = 40, seed: int = 9, walmart_latency_s: float = 0.2,
                  max_poll_interval_ms: int = 10_000, stall_s: float = 14.0, slow_call_s: float = 2.5,
                  slow_window_s: float = 20.0, assignment_strategy: str = "range", static_membership: bool = False,
                  load_s: float = 6.0, products: int = 30, converge_timeout_s: float = 180.0,
                  measure_throughput: bool = True, kill: bool = True, say: Any = print) -> ScaleOutReport:
    """``measure_throughput`` False skips the two bursts, ``kill`` False the kill -9 round (the quick
    test keeps replicas stopped and started, frozen and slowed)."""
    rng = random.Random(seed)
    report = ScaleOutReport(brokers=cluster.brokers, partitions=partitions, replicas=replicas,
                            assignment_strategy=assignment_strategy, static_membership=static_membership)
    overrides = cluster_overrides(cluster, 15_000, partitions) + [
        f"kafka.consumer_defaults.max_poll_interval_ms={max_poll_interval_ms}",
        f"kafka.assignment_strategy={assignment_strategy}"]
    first = [(name, name) for name in SINGLE] + [(name, f"{name}-1") for name in SCALED]
    endpoints = StackEndpoints(mysql, cluster.bootstrap_servers)
    with running_sidecar(endpoints, workdir, rng, products, first, overrides, name="scale") as sidecar:
        if static_membership:  # each replica its own stable id: a restart within the session moves nothing
            _restart_with_instance_ids(sidecar)
        slow_walmart, slow_commerce = SlowLane(sidecar.walmart), SlowLane(sidecar.commerce)
        with EmulatorServer(slow_walmart) as walmart_lane, EmulatorServer(slow_commerce) as commerce_lane:
            if measure_throughput:
                say(f"scale out: 1 replica each of {', '.join(SCALED)}; a burst of {burst_orders} orders and "
                    f"{2 * len(sidecar.skus)} stock and price changes")
                report.events_1, report.seconds_1 = _burst(sidecar, burst_orders, walmart_latency_s, rng, report,
                                                           converge_timeout_s)
                say(f"  1 replica: {report.events_1} events in {report.seconds_1} s {report.burst_parts.get(0)}")
            added = []
            for name in SCALED:
                for number in range(2, replicas + 1):
                    extra = [f"walmart.base_url={walmart_lane.url}", f"commerce_api.base_url={commerce_lane.url}"] \
                        if number == replicas else []
                    if static_membership:
                        extra.append(f"kafka.group_instance_id={name}-{number}")
                    added.append(sidecar.add(name, f"{name}-{number}", extra))
            for component in added:
                component.start()
            sidecar.wait_ready(180, only=added)
            _wait_members(sidecar, {name: replicas for name in SCALED})
            if measure_throughput:
                report.events_3, report.seconds_3 = _burst(sidecar, burst_orders, walmart_latency_s, rng, report,
                                                           converge_timeout_s)
                say(f"  {replicas} replicas: {report.events_3} events in {report.seconds_3} s "
                    f"{report.burst_parts.get(1)}")
            load = Load(sidecar.env, sidecar.walmart, sidecar.commerce_url, sidecar.skus, report, rng)
            load.start()
            with Supervise(sidecar, say) as supervise:
                try:
                    _faults(sidecar, report, replicas, stall_s, slow_call_s, slow_window_s, load_s, slow_walmart,
                            slow_commerce, kill, say)
                finally:
                    load.stop()
                    slow_walmart.delay_s = slow_commerce.delay_s = 0.0
                    for component in sidecar.components.values():
                        component.process.signal(signal.SIGCONT)
                supervise.take()
            sidecar.restart_exited()
            say("scale out: load stopped; waiting until Walmart and Commerce agree...")
            started = time.monotonic()
            checks = sidecar.converge(converge_timeout_s)
            report.converge_seconds = round(time.monotonic() - started, 1)
            report.commit_failures = sum(c.commit_failures() for c in sidecar.components.values())
            if all(c.ok for c in checks):
                say("scale out: agreed; now every group reads every event again from the beginning...")
                sidecar.replay()
                checks = sidecar.converge(converge_timeout_s)
        report.lost = sum(len(c.lost) for c in checks)
        report.duplicate_effects = sum(len(c.duplicates) for c in checks)
        report.checks = [f"{c.name}: {c.describe()}" for c in checks]
        if report.lost or report.duplicate_effects:
            report.evidence = sidecar.evidence(checks)
        report.replayed_records = sidecar.replayed()
        report.component_exits = sidecar.exits()
    return report


def _restart_with_instance_ids(sidecar: Sidecar) -> None:
    for name in SCALED:
        old = sidecar.components[f"{name}-1"]
        old.stop()
        sidecar.add(name, f"{name}-1", [f"kafka.group_instance_id={name}-1"]).start()
    sidecar.wait_ready()


def _faults(sidecar: Sidecar, report: ScaleOutReport, replicas: int, stall_s: float, slow_call_s: float,
            slow_window_s: float, load_s: float, slow_walmart: SlowLane, slow_commerce: SlowLane, kill: bool,
            say: Any) -> None:
    def replica(name: str, number: int) -> Component:
        return sidecar.components[f"{name}-{number}"]

    def settle() -> None:
        time.sleep(load_s)  # the load runs on while the groups rebalance

    stopping = [replica(name, min(2, replicas)) for name in SCALED]
    stop_all(stopping)
    report.faults.append("stopped " + ", ".join(c.label for c in stopping))
    settle()
    for component in stopping:
        component.start()
    sidecar.wait_ready(180, only=stopping)
    report.faults.append("started them again")
    say(f"  {report.faults[-2]}; {report.faults[-1]}")
    settle()
    if kill:
        killed = [replica(name, 1) for name in SCALED]
        for component in killed:
            component.kill()
        report.faults.append("kill -9 " + ", ".join(c.label for c in killed))
        settle()
        for component in killed:
            component.start()
        sidecar.wait_ready(180, only=killed)
        say(f"  {report.faults[-1]}, started again")
        settle()
    frozen = [replica("order_import", min(2, replicas)), replica("shipment", min(2, replicas))]
    for component in frozen:
        component.process.signal(signal.SIGSTOP)
    time.sleep(stall_s)
    for component in frozen:
        component.process.signal(signal.SIGCONT)
    report.faults.append(f"SIGSTOP {', '.join(c.label for c in frozen)} {stall_s:.0f} s (past max.poll.interval.ms)")
    say(f"  {report.faults[-1]}")
    settle()
    slow_walmart.delay_s = slow_commerce.delay_s = slow_call_s
    time.sleep(slow_window_s)
    slow_walmart.delay_s = slow_commerce.delay_s = 0.0
    report.faults.append(f"Walmart and Commerce held {slow_call_s} s per call for the -{replicas} replicas, "
                         f"{slow_window_s:.0f} s")
    say(f"  {report.faults[-1]}")
    settle()


def _burst(sidecar: Sidecar, orders: int, walmart_latency_s: float, rng: random.Random, report: ScaleOutReport,
           timeout_s: float) -> tuple[int, float]:
    """(records published to the burst's topics, seconds until Walmart and Commerce agree)."""
    topics = [f"{sidecar.env.settings().kafka.topic_prefix}.{family}" for family in BURST_FAMILIES]
    before = _published(sidecar, topics)
    sidecar.walmart.set_faults(latency_s=walmart_latency_s)
    started = time.monotonic()
    try:
        with sidecar.env.admin_connection() as conn, conn.cursor() as cur:
            for _ in range(orders):
                sku = rng.choice(sidecar.skus)
                sidecar.walmart.create_order(CLIENT[0], [{"sku": sku, "quantity": 1, "unitPrice": 12.5,
                                                          "shippingPrice": 0.0}])
                report.orders += 1
            for sku in sidecar.skus:
                cur.execute("UPDATE inventory_source_item SET quantity = %s, status = 1 WHERE sku = %s AND "
                            "source_code = 'wh_east'", (rng.randint(100, 400), sku))
                cur.execute("UPDATE catalog_product_entity_decimal d JOIN eav_attribute a ON a.attribute_id = "
                            "d.attribute_id AND a.attribute_code = 'price' JOIN catalog_product_entity p ON "
                            "p.entity_id = d.entity_id SET d.value = %s WHERE p.sku = %s AND d.store_id = 0",
                            (round(rng.uniform(5, 90), 2), sku))
                report.stock_changes += 1
                report.price_changes += 1
        deadline = started + timeout_s
        while True:  # one pass at a time, to see when each flow was through
            checks = sidecar.converge(0)
            for check in checks:
                if check.ok:
                    report.burst_parts.setdefault(len(report.bursts), {}).setdefault(
                        check.name, round(time.monotonic() - started, 1))
            if all(c.ok for c in checks) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        seconds = round(time.monotonic() - started, 1)
        report.bursts.append(seconds)
    finally:
        sidecar.walmart.set_faults(latency_s=0.0)
    if not all(c.ok for c in checks):
        raise RuntimeError("the burst did not converge: " + "; ".join(c.describe() for c in checks if not c.ok))
    return _published(sidecar, topics) - before, seconds


def _published(sidecar: Sidecar, topics: list[str]) -> int:
    from kafka import KafkaConsumer, TopicPartition

    consumer = KafkaConsumer(bootstrap_servers=sidecar.env.endpoints.bootstrap_servers)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        return int(sum(consumer.end_offsets(partitions).values()))
    finally:
        consumer.close()


def _wait_members(sidecar: Sidecar, members: dict[str, int], timeout_s: float = 180.0) -> None:
    """Until each group has its replicas as members and is stable (the rebalance settled). Six groups
    rebalancing at once, each new replica a process start, took over 90 s on a loaded 2-core CI
    machine: a wait for the condition, not a measure (the run's timings are its figures)."""
    from config.components import consumed_by
    from operations.lag.kafka_lag import KafkaLagReader
    from plumbing.kafka import topic_name

    settings = sidecar.env.settings()
    reader = KafkaLagReader(settings.kafka)
    groups = {name: [topic_name(settings.kafka, f) for f in consumed_by(name)] for name in members}
    try:
        def settled() -> bool:
            samples = reader.sample(groups)
            return all(samples[n].members == want and samples[n].state == "Stable" for n, want in members.items())

        _wait(settled, timeout_s, "every group stable with its replicas", sidecar.components)
    finally:
        reader.close()
