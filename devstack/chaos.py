"""The fault-injection run behind the quick fault suite (tests/test_chaos.py) and bench/chaos.py.

While a load runs in both directions (stock and price changes in Commerce; Walmart orders that
Commerce imports and the merchant ships, cancels or refunds), every sidecar component runs as a
process of its own, as in production, and rounds of faults hit it: kill -9 of the listener, a
worker or the poller at a random moment (then a restart), the broker frozen (SIGSTOP) for a while,
Walmart answering 5xx, timing out, dropping connections or throttling everything, and Commerce's
REST API failing. When the load stops and the faults end, the run waits until Walmart and
Commerce agree (devstack/agreement.py) and reports what was lost (Walmart behind Commerce for
good) and what was applied twice, with the time it took to converge.
"""

from __future__ import annotations

import os
import random
import re
import sys
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import requests

from config.components import WALMART_STREAMS
from devstack.agreement import check_all
from devstack.commerce_emulator.app import CommerceEmulator
from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.mariadb import free_port
from devstack.processes import ManagedProcess
from devstack.walmart_emulator.app import WalmartEmulator, client_rate_limits
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.push.resync import schedule_resync

REPO = Path(__file__).resolve().parents[1]
CLIENT = ("local-client", "chaos-secret")
TOKEN = "chaos-commerce-token"
TIME_SCALE = 30.0
# every component whose effects the agreement check judges after the faults (listings and returns are judged by
# their own suites)
COMPONENTS = ("listener", *WALMART_STREAMS, "order_import", "order_poller")


@dataclass
class ChaosReport:
    rounds: int
    kills: Counter = field(default_factory=Counter)
    broker_pauses: int = 0
    walmart_fault_windows: int = 0
    commerce_fault_windows: int = 0
    storms_429: int = 0
    orders: int = 0
    merchant_actions: Counter = field(default_factory=Counter)
    stock_changes: int = 0
    price_changes: int = 0
    replayed_records: int = 0
    walmart_faults_injected: dict[str, int] = field(default_factory=dict)
    lost: int = 0
    duplicate_effects: int = 0
    gaps_detected: int = 0  # records Kafka lost, as the sidecar found them (kafka_gaps), and repaired
    gaps_repaired: int = 0
    converge_seconds: float | None = None
    checks: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "lost": self.lost, "duplicate_effects": self.duplicate_effects,
                "gaps_detected": self.gaps_detected, "gaps_repaired": self.gaps_repaired,
                "converge_seconds": self.converge_seconds, "kills": dict(self.kills),
                "broker_pauses": self.broker_pauses, "walmart_fault_windows": self.walmart_fault_windows,
                "storms_429": self.storms_429, "commerce_fault_windows": self.commerce_fault_windows,
                "orders": self.orders, "merchant_actions": dict(self.merchant_actions),
                "stock_changes": self.stock_changes, "price_changes": self.price_changes,
                "replayed_records": self.replayed_records, "walmart_faults_injected": self.walmart_faults_injected,
                "checks": self.checks}


class Component:
    """One sidecar component as its own process (`walmart-sync listen` / `work <name>`).

    ``label`` tells replicas of one worker apart (their logs, the reports); ``name`` is what runs."""

    def __init__(self, name: str, config: Path, overrides: list[str], logs: Path, label: str | None = None):
        self.name = name
        self.label = label or name
        self.config = config
        self.port = free_port()
        self.overrides = list(overrides)
        self.records_before = 0  # records this worker's earlier lives handled (from its /metrics)
        self.commit_failures_before = 0  # commits refused or undelivered in earlier lives (handled ones)
        self.exits: list[int] = []  # exit codes of lives that ended without being stopped or killed
        self.held_down = False  # stopped or killed on purpose: not a process to start again
        self.exit_words: list[str] = []  # the end of each such life's output
        # a supervising thread restarts exited lives while a fault run starts and kills them: one at a time,
        # or two lives could start at once and one run on untracked (in the group, writing the same log)
        self._lifecycle = threading.RLock()
        self.process = ManagedProcess(
            self.label, self._argv(), log_path=logs / f"{self.label}.log",
            env={k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}, cwd=REPO)

    def _argv(self) -> list[str]:
        command = ["listen"] if self.name == "listener" else ["work", self.name]
        sets = [arg for o in [*self.overrides, f"ops.port={self.port}"] for arg in ("--set", o)]
        return [sys.executable, "-m", "walmart_sync.cli", "--config", str(self.config), "--log-format", "json",
                "--log-level", "warning", *sets, *command]

    def start(self) -> None:
        """Start a life of the process, on an ops port of its own: the last life's, free when it was
        chosen, may have been taken since by any client's outgoing connection."""
        with self._lifecycle:
            self.held_down = False
            self.port = free_port()
            self.process.argv = self._argv()
            self.process.start()

    def metrics(self) -> str:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/metrics", timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            return ""

    def metric(self, name: str) -> int:
        """The sum of one counter over its labels, as this life of the process reports it."""
        return int(sum(float(m) for m in re.findall(rf"^{name}\{{[^}}]*\}} (\S+)$", self.metrics(), re.M)))

    def records(self) -> int:
        return self.metric("walmart_sync_worker_records_total")

    def commit_failures(self) -> int:
        """Commits Kafka did not take in every life of this process (the loop handled each)."""
        return self.commit_failures_before + self.metric("walmart_sync_worker_commit_failures_total")

    def _bank(self) -> None:
        self.records_before += self.records()
        self.commit_failures_before += self.metric("walmart_sync_worker_commit_failures_total")

    def kill(self) -> None:
        with self._lifecycle:
            self.held_down = True
            if self.process.is_running():
                self._bank()
                self.process.kill()

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/readyz", timeout=2) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def last_words(self, lines: int = 3) -> str:
        """The end of the process's own output, Kafka client chatter left out: why a life ended."""
        tail = [line for line in self.process.log_tail(200).splitlines() if '"logger": "kafka' not in line]
        return " | ".join(line[:300] for line in tail[-lines:])

    def restart_if_exited(self) -> int | None:
        """What a supervisor (systemd, Kubernetes) does for a process that ended on its own: note
        its exit code and start it again. None when it was running."""
        with self._lifecycle:
            code = self.process.exit_code()
            if code is None or self.held_down:
                return None
            self.exits.append(code)
            self.exit_words.append(self.last_words())
            self.process.kill()  # reaps it and drops it from the live set
            self.start()
            return code

    def stop(self) -> None:
        with self._lifecycle:
            self.held_down = True
            if self.process.is_running():
                self.commit_failures_before += self.metric("walmart_sync_worker_commit_failures_total")
            self.process.stop(timeout=30)


class LoadTally(Protocol):
    """Where a load counts what it did (a fault run's report)."""

    orders: int
    merchant_actions: Counter[str]
    stock_changes: int
    price_changes: int


class Load:
    """Both directions at once: Commerce stock and price changes; Walmart orders and the merchant's
    shipments, cancellations and refunds of the imported ones (retried while Commerce fails)."""

    def __init__(self, env: CommerceEnvironment, walmart: WalmartEmulator, commerce_url: str, skus: list[str],
                 report: LoadTally, rng: random.Random):
        self.env = env
        self.walmart = walmart
        self.rest = f"{commerce_url}/rest/walmart_us/V1"
        self.skus = skus
        self.report = report
        self.rng = rng
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self.run, name="chaos-load", daemon=True)
        self.actions: dict[int, str] = {}  # Commerce order id -> the merchant's last action

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self._stop.set()
        self.thread.join(60)

    def _merchant(self, path: str, body: dict[str, Any] | None = None) -> bool:
        try:
            response = requests.post(self.rest + path, json=body or {}, headers={"Authorization": f"Bearer {TOKEN}"},
                                     timeout=10)
        except requests.RequestException:
            return False
        return response.status_code == 200

    def run(self) -> None:
        tick = 0
        with self.env.admin_connection() as conn:
            while not self._stop.wait(0.1):
                tick += 1
                try:
                    self._step(conn, tick)
                except Exception:
                    conn.ping(reconnect=True)

    def _step(self, conn: Any, tick: int) -> None:
        sku = self.rng.choice(self.skus)
        with conn.cursor() as cur:
            if tick % 2:
                cur.execute("UPDATE inventory_source_item SET quantity = %s, status = 1 WHERE sku = %s "
                            "AND source_code = 'wh_east'", (self.rng.randint(20, 200), sku))
                self.report.stock_changes += 1
            else:
                cur.execute("UPDATE catalog_product_entity_decimal d JOIN eav_attribute a ON a.attribute_id = "
                            "d.attribute_id AND a.attribute_code = 'price' JOIN catalog_product_entity p ON "
                            "p.entity_id = d.entity_id SET d.value = %s WHERE p.sku = %s AND d.store_id = 0",
                            (round(self.rng.uniform(5, 90), 2), sku))
                self.report.price_changes += 1
        if tick % 10 == 0:
            lines = [{"sku": s, "quantity": self.rng.randint(1, 2), "unitPrice": round(self.rng.uniform(5, 50), 2),
                      "shippingPrice": 0.0} for s in self.rng.sample(self.skus, self.rng.randint(1, 2))]
            self.walmart.create_order(CLIENT[0], lines)
            self.report.orders += 1
        if tick % 5 == 0:
            self._merchant_acts(conn)

    def _merchant_acts(self, conn: Any) -> None:
        with conn.cursor() as cur:
            cur.execute("SELECT entity_id, state FROM sales_order WHERE ext_order_id IS NOT NULL ORDER BY entity_id")
            orders = cur.fetchall()
        for order_id, state in orders:
            done = self.actions.get(order_id)
            if done is None and state == "new":
                choice = self.rng.random()
                if choice < 0.55:
                    if self._merchant(f"/order/{order_id}/invoice", {"capture": True}) and self._merchant(
                            f"/order/{order_id}/ship", {"tracks": [{"track_number": f"1Z{order_id:08d}",
                                                                    "title": "UPS", "carrier_code": "ups"}]}):
                        self.actions[order_id] = "shipped"
                        self.report.merchant_actions["shipped"] += 1
                elif choice < 0.8:
                    if self._merchant(f"/orders/{order_id}/cancel"):
                        self.actions[order_id] = "cancelled"
                        self.report.merchant_actions["cancelled"] += 1
                else:
                    self.actions[order_id] = "kept"
            elif done == "shipped" and self.rng.random() < 0.4:
                with conn.cursor() as cur:
                    cur.execute("SELECT item_id FROM sales_order_item WHERE order_id = %s ORDER BY item_id LIMIT 1",
                                (order_id,))
                    item = cur.fetchone()[0]
                if self._merchant(f"/order/{order_id}/refund", {"items": [{"order_item_id": item, "qty": 1}]}):
                    self.actions[order_id] = "refunded"
                    self.report.merchant_actions["refunded"] += 1


def base_overrides(walmart_url: str, commerce_url: str) -> list[str]:
    """The settings every fault run gives each component: the emulators, Walmart's time-scaled
    limits, short polls and a short consumer session, so a killed worker's partitions move soon."""
    overrides = [f"walmart.base_url={walmart_url}", f"walmart.client_id={CLIENT[0]}",
                 f"walmart.client_secret={CLIENT[1]}", "walmart.request_timeout_s=3",
                 f"commerce_api.base_url={commerce_url}", f"commerce_api.token={TOKEN}",
                 "commerce_api.store_code=walmart_us", "workers.coalesce_ms=100", "workers.order_poll_s=0.5",
                 "workers.feed_poll_s=0.5", f"workers.feed_expected_s={6.0 / TIME_SCALE}", "workers.retry_cap_s=5",
                 "cdc.checkpoint_interval_ms=200", "kafka.consumer_defaults.session_timeout_ms=6000",
                 "kafka.consumer_defaults.heartbeat_interval_ms=2000"]
    return overrides + [f"walmart.rate_limits.{api}.{key}={value}" for api, limit in client_rate_limits(TIME_SCALE).items()
                        for key, value in limit.items()]


def stop_all(components: Iterable[Component]) -> None:
    """Stop processes side by side: each waits for its consumer to leave its group, and a dozen
    replicas stopped one after the other would spend a minute on it."""
    chosen = list(components)
    if chosen:
        with ThreadPoolExecutor(max_workers=len(chosen)) as pool:
            list(pool.map(lambda c: c.stop(), chosen))


@dataclass
class Sidecar:
    """A seeded store, both emulators, and every sidecar component as its own process: what each
    fault run (this module's, devstack/kafka_faults.py's, devstack/scale_out.py's) injects faults into."""

    env: CommerceEnvironment
    walmart: WalmartEmulator
    commerce: CommerceEmulator
    walmart_url: str
    commerce_url: str
    overrides: list[str]
    logs: Path
    skus: list[str]
    components: dict[str, Component] = field(default_factory=dict)  # by label

    def add(self, name: str, label: str | None = None, extra: list[str] | None = None) -> Component:
        component = Component(name, self.env.config_path, self.overrides + (extra or []), self.logs, label)
        self.components[component.label] = component
        return component

    def wait_ready(self, timeout_s: float = 90.0, only: list[Component] | None = None) -> None:
        chosen = only if only is not None else list(self.components.values())
        try:
            _wait(lambda: all(c.ready() for c in chosen), timeout_s, "every component ready", self.components)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; not ready: {[c.label for c in chosen if not c.ready()]}") from None

    def restart_exited(self) -> list[str]:
        """Labels of the components found exited (and started again)."""
        return [c.label for c in self.components.values() if c.restart_if_exited() is not None]

    def converge(self, timeout_s: float) -> list[Any]:
        return _converge(self.env, self.walmart, self.components, time.monotonic() + timeout_s)

    def replay(self) -> None:
        _replay_everything(self.env, self.components)

    def replayed(self) -> int:
        return _replayed(self.env, self.components)

    def exits(self) -> dict[str, list[int]]:
        return {c.label: list(c.exits) for c in self.components.values() if c.exits}


@contextmanager
def running_sidecar(endpoints: Any, workdir: Path, rng: random.Random, products: int,
                    components: list[tuple[str, str]], extra_overrides: list[str] | None = None,
                    name: str = "chaos") -> Iterator[Sidecar]:
    """Prepare the store and the emulators, start ``components`` ((name, label) pairs), wait until
    each is ready and Walmart holds every SKU's values (the baseline `walmart-sync resync`); stop
    them all on the way out."""
    env = prepare_environment(endpoints, workdir, "open_source", products=products,
                              name=f"{name}_{rng.randrange(10**6):06d}")
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with env.admin_connection() as conn, conn.cursor() as cur:  # everything sellable, so no order fails for stock
        cur.execute("UPDATE inventory_source_item SET quantity = 500, status = 1 WHERE source_code = 'wh_east'")
    walmart = WalmartEmulator({CLIENT[0]: CLIENT[1]}, time_scale=TIME_SCALE, feed_delays_s=(2.0, 6.0))
    walmart.seed_items(CLIENT[0], env.seed.skus)
    commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), TOKEN)
    with EmulatorServer(walmart) as walmart_server, EmulatorServer(commerce) as commerce_server:
        sidecar = Sidecar(env, walmart, commerce, walmart_server.url, commerce_server.url,
                          base_overrides(walmart_server.url, commerce_server.url) + list(extra_overrides or []),
                          logs, list(env.seed.skus))
        try:
            for component_name, label in components:
                sidecar.add(component_name, label).start()
            sidecar.wait_ready()
            schedule_resync(env.settings(), ["inventory", "price"])
            sidecar.converge(60)
            yield sidecar
        finally:
            stop_all(sidecar.components.values())


def run_chaos(stack: Any, workdir: Path, rounds: int, seed: int = 7, broker_pause_s: float = 15.0,
              products: int = 30, round_s: tuple[float, float] = (1.0, 3.0), converge_timeout_s: float = 180.0,
              replay: bool = True, say: Any = print, min_orders: int = 10, min_shipped: int = 3) -> ChaosReport:
    rng = random.Random(seed)
    report = ChaosReport(rounds=rounds)
    with running_sidecar(stack.endpoints, workdir, rng, products, [(n, n) for n in COMPONENTS]) as sidecar:
        walmart, commerce, components = sidecar.walmart, sidecar.commerce, sidecar.components
        load = Load(sidecar.env, walmart, sidecar.commerce_url, sidecar.skus, report, rng)
        load.start()
        say(f"chaos: {rounds} rounds against {len(components)} component processes while the load runs")
        try:
            for number in range(1, rounds + 1):
                _round(number, rounds, rng, stack, walmart, commerce, components, report, broker_pause_s, round_s,
                       say)
            # The checks are only as good as the load: on a busy machine orders import later, so keep the
            # load going (the faults are off now) until it has placed, shipped and so exercised every flow.
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and (report.orders < min_orders
                                                   or report.merchant_actions["shipped"] < min_shipped):
                time.sleep(0.2)
        finally:
            load.stop()
            walmart.set_faults(error_rate=0.0, timeout_rate=0.0, drop_rate=0.0, storm_429_until=0.0)
            commerce.faults.error_rate = 0.0
            stack.broker.resume()
        for component in components.values():
            if not component.process.is_running():
                component.start()
        started = time.monotonic()
        say("chaos: load stopped, faults off; waiting until Walmart and Commerce agree...")
        checks = sidecar.converge(converge_timeout_s)
        report.converge_seconds = round(time.monotonic() - started, 1)
        if all(c.ok for c in checks) and replay:
            # the worst crash: every event delivered again to every worker; nothing may happen twice
            say("chaos: agreed; now every worker reads every event again from the beginning...")
            sidecar.replay()
            checks = sidecar.converge(converge_timeout_s)
        report.lost = sum(len(c.lost) for c in checks)
        report.duplicate_effects = sum(len(c.duplicates) for c in checks)
        report.checks = [f"{c.name}: {c.describe()}" for c in checks]
        report.replayed_records = sidecar.replayed()
        report.gaps_detected, report.gaps_repaired = kafka_gaps(sidecar.env)
        report.walmart_faults_injected = dict(walmart.seller(CLIENT[0]).faults_injected)
    return report


def _round(number: int, rounds: int, rng: random.Random, stack: Any, walmart: WalmartEmulator,
           commerce: CommerceEmulator, components: dict[str, Component], report: ChaosReport,
           broker_pause_s: float, round_s: tuple[float, float], say: Any) -> None:
    time.sleep(rng.uniform(*round_s))
    victim = components[rng.choice(list(components))]
    victim.kill()
    report.kills[victim.name] += 1
    what = [f"kill -9 {victim.name}"]
    if number % 4 == 1:  # Walmart misbehaves for a while
        walmart.set_faults(error_rate=0.2, timeout_rate=0.05, timeout_s=1.0, drop_rate=0.05)
        report.walmart_fault_windows += 1
        what.append("Walmart 5xx/timeouts/drops")
    elif number % 4 == 2:
        walmart.set_faults(storm_429_until=time.monotonic() + 2.0)
        report.storms_429 += 1
        what.append("a 429 storm")
    elif number % 4 == 3:
        commerce.faults.error_rate = 0.3
        report.commerce_fault_windows += 1
        what.append("Commerce REST 503s")
    if number == max(1, rounds // 2) and broker_pause_s:
        stack.broker.pause()
        what.append(f"broker frozen {broker_pause_s:.0f} s")
        time.sleep(broker_pause_s)
        stack.broker.resume()
        report.broker_pauses += 1
    time.sleep(rng.uniform(*round_s))
    walmart.set_faults(error_rate=0.0, timeout_rate=0.0, drop_rate=0.0)
    commerce.faults.error_rate = 0.0
    victim.start()
    say(f"  round {number}/{rounds}: " + ", ".join(what))


def _replay_everything(env: CommerceEnvironment, components: dict[str, Component]) -> None:
    """Stop the workers, move their consumer groups back to the first offset, start them again,
    and wait until they have read everything once more."""
    from config.components import worker_families
    from plumbing.kafka import topic_name

    settings = env.settings()
    families = worker_families()
    workers = [c for c in components.values() if c.name in families]
    for component in workers:
        component.records_before += component.records()
    stop_all(workers)
    for component in {c.name: c for c in workers}.values():  # replicas share one group
        topics = [topic_name(settings.kafka, f) for f in families[component.name]]
        group = f"{settings.kafka.topic_prefix}.{component.name}"
        # a member that was killed (or did not leave in time) stays in the group until its session
        # expires, and the broker refuses offsets from outside a group with members until then
        _wait(lambda group=group, topics=topics: _rewind_group(env.endpoints.bootstrap_servers, group, topics),
              60, f"group {group} empty and rewound", components)
    for component in workers:
        component.start()
    _wait(lambda: all(c.ready() for c in workers), 90, "the workers back", components)
    from operations.lag.kafka_lag import KafkaLagReader

    reader = KafkaLagReader(settings.kafka)
    try:
        groups = {c.name: [topic_name(settings.kafka, f) for f in families[c.name]] for c in workers}
        _wait(lambda: all(sample.lag == 0 for sample in reader.sample(groups).values()), 120,
              "the workers to read every event again", components)
    finally:
        reader.close()


def _rewind_group(bootstrap: str, group: str, topics: list[str]) -> bool:
    """Commit offset 0 on every partition of ``topics`` for ``group``; False while it has members."""
    from kafka import KafkaConsumer, TopicPartition
    from kafka.errors import CommitFailedError, KafkaError
    from kafka.structs import OffsetAndMetadata

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.commit({tp: OffsetAndMetadata(0, "", -1) for tp in partitions})
        return True
    except (CommitFailedError, KafkaError):
        return False
    finally:
        consumer.close()


def _converge(env: CommerceEnvironment, walmart: WalmartEmulator, components: dict[str, Component],
              deadline: float) -> list[Any]:
    from sync_workers.stores.value_state import connect_state

    settings = env.settings()
    state = connect_state(settings)
    try:
        with env.admin_connection() as commerce:
            while True:
                checks = check_all(settings, walmart, CLIENT[0], commerce, state)
                if all(c.ok for c in checks) or time.monotonic() > deadline:
                    return checks
                time.sleep(1.0)
    finally:
        state.close()


def kafka_gaps(env: CommerceEnvironment) -> tuple[int, int]:
    """(gaps found, gaps repaired) in the sidecar's state store: a fault round that loses no record
    must find none (a false "records lost" holds readiness false and pages someone)."""
    import pymysql

    with env.endpoints.mysql.connect(env.state_db) as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT COUNT(*), COUNT(repaired_at) FROM kafka_gaps")
        except pymysql.err.ProgrammingError:  # no component ever checked
            return 0, 0
        found, repaired = cur.fetchone()
    return int(found), int(repaired)


def _replayed(env: CommerceEnvironment, components: dict[str, Component]) -> int:
    """Records the workers handled more than once (after kills): all handled minus all published."""
    from kafka import KafkaConsumer, TopicPartition

    from config.components import worker_families
    from plumbing.kafka import topic_name

    settings = env.settings()
    families = worker_families()
    topics = sorted({topic_name(settings.kafka, f) for c in components.values() if c.name in families
                     for f in families[c.name]})
    consumer = KafkaConsumer(bootstrap_servers=env.endpoints.bootstrap_servers, fetch_max_wait_ms=50)
    try:
        partitions = [TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(consumer.highwater(tp) is None for tp in partitions):
            consumer.poll(100)
        published = sum(consumer.highwater(tp) or 0 for tp in partitions)
    finally:
        consumer.close()
    handled = sum(c.records_before + c.records() for c in components.values() if c.name in families)
    return max(0, handled - published)


def _wait(check: Any, timeout_s: float, what: str, components: dict[str, Component]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    dead = [c.label for c in components.values() if c.process.exit_code() is not None]
    raise RuntimeError(f"timed out waiting for {what}; exited: {dead or 'none'}")
