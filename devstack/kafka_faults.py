"""Kafka's own faults on a three-broker Apache Kafka cluster, with the whole sidecar under load.

The fault run of devstack/chaos.py (every component its own process, the load in both
directions, the agreement check, the final replay through every consumer group) pointed at a
three-node KRaft cluster; the sidecar's topics get replication factor 3 and
min.insync.replicas 2, and every client bootstraps from all three nodes. Nothing of the sidecar
is stopped for a fault: the processes ride it out, and one that exits is noted and started again
as a supervisor (systemd, Kubernetes) would. Rounds, in the order asked:

- ``kill``: kill -9 of the broker leading a partition in use (``<prefix>.stock``,
  ``walmart_orders`` or ``shipment`` partition 0, in turn), down for a while, then started again;
- ``rolling``: a rolling restart, each node stopped (SIGTERM, a controlled shutdown) and started
  again only once every partition's ISR is full;
- ``freeze``: the leader frozen with SIGSTOP for longer than the producers' delivery timeout
  (``kafka.producer.delivery_timeout_ms``), then thawed.

Per round: ``failover_s`` (fault start -> a fresh stock change on Walmart and a fresh Walmart order
in Commerce while the fault is still on; None when the fault outlasted it), and ``recover_s``
(fault end -> every component ready and both probes through again). Then the load stops and the
run waits until Walmart and Commerce agree, and replays everything: nothing lost, nothing twice.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.agreement import check_inventory_and_price
from devstack.apache_kafka import ApacheKafkaCluster
from devstack.chaos import CLIENT, COMPONENTS, Load, Sidecar, running_sidecar
from devstack.mariadb import MySqlEndpoint
from devstack.processes import wait_until
from devstack.stack import StackEndpoints

ROUND_KINDS = ("kill", "rolling", "freeze")
# a node restarted on a loaded machine replays its log and rejoins the quorum before it listens;
# 60 s was once too short on two cores with the whole sidecar and a second test running
RESTART_TIMEOUT_S = 150.0
# the partitions whose leader a kill or a freeze takes away, in turn: capture, pull, order push
TARGET_FAMILIES = ("stock", "walmart_orders", "shipment")


@dataclass
class FaultRound:
    kind: str
    detail: str
    fault_s: float
    failover_s: float | None
    recover_s: float | None
    exited: list[str] = field(default_factory=list)  # components that ended during the round
    failover_parts: dict[str, float] = field(default_factory=dict)  # when each probe arrived during the fault
    recover_parts: dict[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "fault_s": self.fault_s, "failover_s": self.failover_s,
                "recover_s": self.recover_s, "exited": self.exited, "failover_parts": self.failover_parts,
                "recover_parts": self.recover_parts}


@dataclass
class KafkaFaultReport:
    engine: str = "apache-kafka"
    brokers: int = 3
    rounds: list[FaultRound] = field(default_factory=list)
    orders: int = 0
    merchant_actions: Counter[str] = field(default_factory=Counter)
    stock_changes: int = 0
    price_changes: int = 0
    probes: int = 0
    lost: int = 0
    duplicate_effects: int = 0
    converge_seconds: float | None = None
    replayed_records: int = 0
    commit_failures: int = 0
    component_exits: dict[str, list[int]] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # after a disagreement: log lines naming what disagreed

    @property
    def recover_p99_s(self) -> float | None:
        return _p99([r.recover_s for r in self.rounds])

    @property
    def failover_p99_s(self) -> float | None:
        """Over the rounds whose fresh change got through while the fault was still on; the others
        are counted by ``failover_outlasted_fault`` (their recovery time covers them)."""
        return _p99([r.failover_s for r in self.rounds if r.kind != "rolling" and r.failover_s is not None])

    @property
    def failover_outlasted_fault(self) -> int:
        return sum(1 for r in self.rounds if r.kind != "rolling" and r.failover_s is None)

    def as_json(self) -> dict[str, Any]:
        return {"engine": self.engine, "brokers": self.brokers, "rounds": len(self.rounds), "lost": self.lost,
                "duplicate_effects": self.duplicate_effects, "orders": self.orders,
                # JSON has no Infinity: a round that never recovered is null with the count beside
                "recover_p99_s": _finite(self.recover_p99_s),
                "rounds_not_recovered": sum(1 for r in self.rounds if r.recover_s is None),
                "failover_p99_s": self.failover_p99_s, "failover_outlasted_fault": self.failover_outlasted_fault,
                "converge_seconds": self.converge_seconds, "replayed_records": self.replayed_records,
                "commit_failures": self.commit_failures, "component_exits": self.component_exits,
                "merchant_actions": dict(self.merchant_actions), "stock_changes": self.stock_changes,
                "price_changes": self.price_changes, "probes": self.probes,
                "round_detail": [r.as_json() for r in self.rounds], "checks": self.checks, "evidence": self.evidence}


def _finite(value: float | None) -> float | None:
    return None if value is None or value == float("inf") else value


def _p99(values: list[float | None]) -> float | None:
    """The 99th percentile of what was measured; a round that never recovered counts as infinite."""
    if not values:
        return None
    if any(v is None for v in values):
        return float("inf")
    ordered = sorted(v for v in values if v is not None)
    return round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 1)


def cluster_overrides(cluster: ApacheKafkaCluster, delivery_timeout_ms: int, partitions: int = 6,
                      consumer_request_timeout_ms: int = 8000) -> list[str]:
    """What an operator sets for a three-broker cluster: every node to bootstrap from, topics that
    survive a broker loss; and for the run a short delivery timeout (a request may take all of it
    but 5 s, so a batch sent to a frozen leader can expire) and consumers that give up on an
    unanswering broker after ``consumer_request_timeout_ms`` instead of 30 s."""
    return [f"kafka.bootstrap_servers={cluster.bootstrap_servers}", f"kafka.partitions={partitions}",
            f"kafka.replication_factor={min(3, cluster.brokers)}", f"kafka.min_insync_replicas={min(2, cluster.brokers)}",
            f"kafka.producer.delivery_timeout_ms={delivery_timeout_ms}",
            f"kafka.producer.request_timeout_ms={max(1000, delivery_timeout_ms - 5000)}",
            f"kafka.consumer_defaults.request_timeout_ms={consumer_request_timeout_ms}"]


class Supervise:
    """Starts again, once a second, any component process that ended on its own (noted on it)."""

    def __init__(self, sidecar: Sidecar, say: Any):
        self.sidecar = sidecar
        self.say = say
        self.exited: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="supervise", daemon=True)

    def __enter__(self) -> Supervise:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        while not self._stop.wait(1.0):
            try:
                restarted = self.sidecar.restart_exited()
            except Exception as exc:  # a supervisor that stops supervising would hide every later exit
                self.say(f"    supervising failed once: {type(exc).__name__}: {exc}")
                continue
            for label in restarted:
                self.exited.append(label)
                component = self.sidecar.components[label]
                self.say(f"    {label} exited (code {component.exits[-1]}); started again. Its last words: "
                         f"{component.exit_words[-1]}")

    def take(self) -> list[str]:
        taken, self.exited = self.exited, []
        return taken


class Probe:
    """A fresh change in each direction, and how long it takes to arrive: a stock change of a SKU
    the load never touches must reach Walmart, a new Walmart order must become a Commerce order."""

    def __init__(self, sidecar: Sidecar, sku: str, report: KafkaFaultReport):
        self.sidecar = sidecar
        self.sku = sku
        self.report = report
        self.quantity = 400
        self.last: dict[str, float] = {}

    def _stock_on_walmart(self, conn: Any) -> bool:
        inventory, _price = check_inventory_and_price(self.sidecar.env.settings(), self.sidecar.walmart, CLIENT[0],
                                                      conn, [self.sku])
        return inventory.ok

    def _imported(self, conn: Any, po: str) -> bool:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sales_order WHERE ext_order_id = %s", (po,))
            return int(cur.fetchone()[0]) > 0

    def through(self, timeout_s: float, also: Any = None) -> float | None:
        """Seconds until both probes (and ``also()``, when given) are through; None past ``timeout_s``.
        When each part arrived is kept in ``last`` (stock, order, also), to tell which flow was late."""
        started = time.monotonic()
        self.quantity += 1
        self.report.probes += 1
        arrived: dict[str, float] = {}
        with self.sidecar.env.admin_connection() as conn:
            with conn.cursor() as cur:
                cur.execute("UPDATE inventory_source_item SET quantity = %s, status = 1 WHERE sku = %s AND "
                            "source_code = 'wh_east'", (self.quantity, self.sku))
            order = self.sidecar.walmart.create_order(CLIENT[0], [{"sku": self.sku, "quantity": 1, "unitPrice": 9.5,
                                                                   "shippingPrice": 0.0}])
            self.report.orders += 1
            parts = {"stock": lambda: self._stock_on_walmart(conn),
                     "order": lambda: self._imported(conn, order.purchase_order_id),
                     "ready": also or (lambda: True)}

            def all_through() -> bool:
                for name, check in parts.items():
                    if name not in arrived and check():
                        arrived[name] = round(time.monotonic() - started, 1)
                return len(arrived) == len(parts)

            try:
                wait_until(all_through, timeout_s, interval=0.2, what="the probes through")
            except TimeoutError:
                return None
            finally:
                self.last = dict(arrived)
        return round(time.monotonic() - started, 1)


def run_kafka_faults(mysql: MySqlEndpoint, cluster: ApacheKafkaCluster, workdir: Path, rounds: list[str],
                     seed: int = 5, down_s: float = 8.0, freeze_s: float = 22.0, delivery_timeout_ms: int = 15_000,
                     products: int = 30, recover_timeout_s: float = 120.0, converge_timeout_s: float = 180.0,
                     say: Any = print) -> KafkaFaultReport:
    unknown = sorted(set(rounds) - set(ROUND_KINDS))
    if unknown:
        raise ValueError(f"unknown round kinds {unknown}; choose from {ROUND_KINDS}")
    if freeze_s * 1000 <= delivery_timeout_ms and "freeze" in rounds:
        raise ValueError("a freeze must outlast the delivery timeout")
    rng = random.Random(seed)
    report = KafkaFaultReport(brokers=cluster.brokers)
    endpoints = StackEndpoints(mysql, cluster.bootstrap_servers)
    with running_sidecar(endpoints, workdir, rng, products, [(n, n) for n in COMPONENTS],
                         cluster_overrides(cluster, delivery_timeout_ms), name="kfaults") as sidecar:
        prefix = sidecar.env.settings().kafka.topic_prefix
        probe = Probe(sidecar, sidecar.skus[0], report)
        load = Load(sidecar.env, sidecar.walmart, sidecar.commerce_url, sidecar.skus[1:], report, rng)
        topics = cluster.topics(prefix) + ["__consumer_offsets"]
        say(f"kafka faults: {len(rounds)} rounds on {cluster.brokers} brokers, {len(sidecar.components)} component "
            f"processes, topics {prefix}.* with RF 3 / min ISR 2")
        load.start()
        with Supervise(sidecar, say) as supervise:
            try:
                for number, kind in enumerate(rounds, start=1):
                    target = f"{prefix}.{TARGET_FAMILIES[(number - 1) % len(TARGET_FAMILIES)]}"
                    done = _round(kind, cluster, target, topics, probe, sidecar, down_s, freeze_s,
                                  recover_timeout_s)
                    done.exited = supervise.take()
                    report.rounds.append(done)
                    say(f"  round {number}/{len(rounds)}: {done.detail}: failover {done.failover_s} s "
                        f"{done.failover_parts}, recovered {done.recover_s} s {done.recover_parts}"
                        + (f", exited: {done.exited}" if done.exited else ""))
            finally:
                load.stop()
                cluster.resume()
                for node_id, node in cluster.nodes.items():
                    if not node.is_running():
                        cluster.start(node_id, timeout=RESTART_TIMEOUT_S)
        sidecar.restart_exited()
        say("kafka faults: load stopped, faults off; waiting until Walmart and Commerce agree...")
        started = time.monotonic()
        checks = sidecar.converge(converge_timeout_s)
        report.converge_seconds = round(time.monotonic() - started, 1)
        report.commit_failures = _commit_failures(sidecar)
        if all(c.ok for c in checks):
            say("kafka faults: agreed; now every worker reads every event again from the beginning...")
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


def _commit_failures(sidecar: Sidecar) -> int:
    return sum(c.commit_failures() for c in sidecar.components.values())


def _round(kind: str, cluster: ApacheKafkaCluster, target: str, topics: list[str], probe: Probe, sidecar: Sidecar,
           down_s: float, freeze_s: float, recover_timeout_s: float) -> FaultRound:
    _isr_full(cluster, topics)
    started = time.monotonic()
    if kind == "rolling":
        for node_id in cluster.nodes:
            cluster.stop(node_id)
            cluster.start(node_id, timeout=RESTART_TIMEOUT_S)
            _isr_full(cluster, topics)
        detail, failover, failover_parts = "rolling restart of nodes 1, 2, 3", None, {}
    else:
        leader = cluster.leader_of(target, 0)
        assert leader is not None, f"{target}[0] has no leader before the fault"
        if kind == "kill":
            cluster.kill(leader)
            detail = f"kill -9 node {leader} (leader of {target}[0]), down {down_s:.0f} s"
            failover = probe.through(down_s)
            failover_parts = probe.last
            time.sleep(max(0.0, started + down_s - time.monotonic()))  # the rest of the outage
            cluster.start(leader, timeout=RESTART_TIMEOUT_S)
        else:
            cluster.pause(leader)
            detail = f"SIGSTOP node {leader} (leader of {target}[0]) {freeze_s:.0f} s"
            failover = probe.through(freeze_s)
            failover_parts = probe.last
            time.sleep(max(0.0, started + freeze_s - time.monotonic()))
            cluster.resume(leader)
    fault_s = round(time.monotonic() - started, 1)
    recover = probe.through(recover_timeout_s, also=lambda: all(c.ready() for c in sidecar.components.values()))
    return FaultRound(kind, detail, fault_s, failover, recover, failover_parts=failover_parts,
                      recover_parts=probe.last)


def _isr_full(cluster: ApacheKafkaCluster, topics: list[str], timeout_s: float = 90.0) -> None:
    wait_until(lambda: not cluster.under_replicated(topics), timeout_s, interval=0.5,
               what="every partition's ISR full")
