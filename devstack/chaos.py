"""The fault-injection run behind the quick fault suite (tests/test_chaos.py) and bench/chaos.py.

While a load runs in both directions (stock and price changes in Commerce; Walmart orders that
Commerce imports and the merchant ships, cancels or refunds), every sidecar component runs as a
process of its own, as in production, and rounds of faults hit it: kill -9 of the listener, a
worker or the poller at a random moment (then a restart), the broker frozen (SIGSTOP) for a while,
Walmart answering 5xx, timing out, dropping connections or throttling everything, Commerce's
REST API failing, Commerce placing orders slower than the sidecar's client timeout (committing
after it gave up), the broker losing every record (stopped, its log directory deleted, started
again: Apache Kafka only), Walmart's clock stepped against the sidecar's, and every state-store
connection cut for ~10 s. After each round it measures how long the sidecar takes to recover
(every component ready, a fresh stock change on Walmart, every Walmart order of before the fault
in Commerce; after a data loss, the gap found and repaired). When the load stops and the faults
end, the run waits until Walmart and Commerce agree (devstack/agreement.py) and reports what was
lost (Walmart behind Commerce for good) and what was applied twice, with the time it took to
converge.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import statistics
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
from devstack.apache_kafka import ApacheKafkaCluster
from devstack.commerce_emulator.app import CommerceEmulator
from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.mariadb import free_port
from devstack.processes import ManagedProcess
from devstack.walmart_emulator import orders as walmart_clock
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
# One fault per round, in turn, beside the kill -9 every round has (the broker freeze comes on top, half-way).
ROUND_KINDS = ("walmart_faults", "storm_429", "commerce_503", "slow_placement", "broker_data_loss", "clock_skew",
               "state_store_cut")
# The chaos sidecar's Commerce client gives up after this long, and a slow-placement round commits each
# placement this much later: every placement in the round outlives the client that asked for it.
COMMERCE_TIMEOUT_S = 2.5
SLOW_PLACEMENT_S = 4.0
# Walmart's clock starts this far behind the sidecar's (the sidecar's 3 minutes ahead, past the 120 s poll
# overlap: once no new order was imported at all) and each clock-skew round steps it this far forward (the
# sidecar's clock then stepped back, or behind): a clock that jumps back is what Walmart's never does.
INITIAL_WALMART_CLOCK_OFFSET_S = -180.0
CLOCK_STEP_S = 180.0
STATE_STORE_CUT_S = 10.0
RECOVERY_TIMEOUT_S = 120.0


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
    gaps_detected: int = 0  # records Kafka lost, as the sidecar found them (kafka_gaps rows: per partition)
    gaps_repaired: int = 0
    gaps_injected: int = 0  # broker-data-loss rounds whose broker held records when it lost them
    injected_gaps_detected: int = 0  # of those, rounds after which the sidecar reported a gap
    injected_gaps_repaired: int = 0  # ... and marked every gap it found repaired
    slow_placement_windows: int = 0
    clock_steps: list[float] = field(default_factory=list)  # Walmart's clock minus the sidecar's, each step
    state_store_cuts: int = 0
    state_store_connections_killed: int = 0
    orders_walmart: int = 0  # purchase orders on Walmart that are to be Commerce orders
    orders_refused: int = 0  # purchase orders Commerce refused, cancelled whole on Walmart, never in Commerce
    orders_commerce_total: int = 0  # every order the channel made in Commerce, mapped to a PO or not
    exits: dict[str, list[int]] = field(default_factory=dict)  # lives that ended on their own (restarted)
    skipped: list[str] = field(default_factory=list)
    round_log: list[dict[str, Any]] = field(default_factory=list)  # per round: faults and recovery times
    converge_seconds: float | None = None
    checks: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)  # after a disagreement: log lines naming what disagreed

    def failures(self) -> list[str]:
        """Why the run fails; empty when every promise held."""
        failed = []
        if self.lost:
            failed.append(f"lost {self.lost}")
        if self.duplicate_effects:
            failed.append(f"duplicate_effects {self.duplicate_effects}")
        if self.orders_commerce_total != self.orders_walmart:
            failed.append(f"orders_commerce_total {self.orders_commerce_total} != orders_walmart "
                          f"{self.orders_walmart}")
        if not self.gaps_injected == self.injected_gaps_detected == self.injected_gaps_repaired:
            failed.append(f"gaps injected {self.gaps_injected}, detected {self.injected_gaps_detected}, "
                          f"repaired {self.injected_gaps_repaired}")
        if self.gaps_repaired != self.gaps_detected:
            failed.append(f"{self.gaps_detected - self.gaps_repaired} gap(s) left open")
        if self.gaps_detected and not self.gaps_injected:
            failed.append(f"{self.gaps_detected} gap(s) reported with no record lost (a false alarm)")
        if self.converge_seconds is None:
            failed.append("did not converge")
        return failed

    def fault_timings(self) -> dict[str, dict[str, Any]]:
        """Per fault kind: rounds, and the median and worst of each recovery time measured after it."""
        kinds: dict[str, list[dict[str, Any]]] = {}
        for entry in self.round_log:
            kinds.setdefault(entry["kind"], []).append(entry["recovery"])
        summary: dict[str, dict[str, Any]] = {}
        for kind, recoveries in kinds.items():
            row: dict[str, Any] = {"rounds": len(recoveries)}
            for measure in sorted({m for r in recoveries for m in r}):
                values = [r[measure] for r in recoveries if r.get(measure) is not None]
                row[measure] = {"median": round(statistics.median(values), 1) if values else None,
                                "max": round(max(values), 1) if values else None,
                                "timed_out": sum(1 for r in recoveries if measure in r and r[measure] is None)}
            summary[kind] = row
        return summary

    def as_json(self) -> dict[str, Any]:
        return {"rounds": self.rounds, "lost": self.lost, "duplicate_effects": self.duplicate_effects,
                "orders_walmart": self.orders_walmart, "orders_commerce_total": self.orders_commerce_total,
                "orders_refused": self.orders_refused,
                "gaps_injected": self.gaps_injected, "gaps_detected": self.gaps_detected,
                "gaps_repaired": self.gaps_repaired, "injected_gaps_detected": self.injected_gaps_detected,
                "injected_gaps_repaired": self.injected_gaps_repaired,
                "converge_seconds": self.converge_seconds, "passed": not self.failures(), "evidence": self.evidence,
                "failures": self.failures(), "kills": dict(self.kills),
                "broker_pauses": self.broker_pauses, "walmart_fault_windows": self.walmart_fault_windows,
                "storms_429": self.storms_429, "commerce_fault_windows": self.commerce_fault_windows,
                "slow_placement_windows": self.slow_placement_windows, "clock_steps": self.clock_steps,
                "state_store_cuts": self.state_store_cuts,
                "state_store_connections_killed": self.state_store_connections_killed,
                "orders": self.orders, "merchant_actions": dict(self.merchant_actions),
                "stock_changes": self.stock_changes, "price_changes": self.price_changes,
                "replayed_records": self.replayed_records, "walmart_faults_injected": self.walmart_faults_injected,
                "exits": self.exits, "skipped": self.skipped, "fault_timings": self.fault_timings(),
                "round_log": self.round_log, "checks": self.checks}


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
                "--log-level", os.environ.get("CHAOS_LOG_LEVEL", "warning"), *sets, *command]

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

    def converge(self, timeout_s: float, supervise: bool = False) -> list[Any]:
        """Wait until Walmart and Commerce agree; ``supervise``: start exited components again meanwhile
        (their exits are counted), as systemd or Kubernetes would."""
        return _converge(self.env, self.walmart, self.components, time.monotonic() + timeout_s,
                         self.restart_exited if supervise else None)

    def replay(self) -> None:
        _replay_everything(self.env, self.components)

    def replayed(self) -> int:
        return _replayed(self.env, self.components)

    def exits(self) -> dict[str, list[int]]:
        return {c.label: list(c.exits) for c in self.components.values() if c.exits}

    def evidence(self, checks: list[Any], limit: int = 40) -> list[str]:
        """The components' log lines that name a SKU or PO the agreement found lost or applied twice,
        labelled by component: CI keeps a failed run's assertion, not its logs (the first fault-suite
        failure there, in 18 order lines, came with nothing else to go on)."""
        return log_evidence(self.logs, disagreeing_subjects(checks), limit)


def disagreeing_subjects(checks: list[Any], most: int = 5) -> list[str]:
    """The first SKUs and POs the checks' lost and duplicate entries name ("PO 123 line 1: ...",
    "WS-000002: Walmart 55.46, Commerce 39.54")."""
    subjects: list[str] = []
    for entry in (e for c in checks for e in [*c.lost, *c.duplicates]):
        found = re.match(r"(?:PO |return )?([^\s:]+)", entry)
        if found and found.group(1) not in subjects:
            subjects.append(found.group(1))
    return subjects[:most]


def log_evidence(logs: Path, subjects: list[str], limit: int = 40) -> list[str]:
    lines: list[str] = []
    if not subjects:
        return lines
    for path in sorted(logs.glob("*.log")):
        with path.open(errors="replace") as handle:
            for line in handle:
                if any(subject in line for subject in subjects):
                    lines.append(f"{path.stem}: {line.strip()[:400]}")
    return lines[-limit:]


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


def chaos_overrides() -> list[str]:
    """What this fault run adds to ``base_overrides``: a Commerce client timeout the slow-placement
    rounds outlast, gap checks every 2 s (30 s by default: a data-loss round would wait for them),
    and short parks (an order whose placement may still commit waits 2 x the timeout + 5 s first)."""
    return [f"commerce_api.request_timeout_s={COMMERCE_TIMEOUT_S}", "ops.gap_check_s=2",
            "workers.park_retry_s=1", "workers.retry_base_s=0.2"]


def can_lose_records(broker: Any) -> bool:
    """A broker whose log directory a round can delete: one Apache Kafka node of the stack's own
    (Tansu keeps its log in a storage engine this run cannot wipe and restart the same way)."""
    return isinstance(broker, ApacheKafkaCluster) and len(broker.nodes) == 1


def run_chaos(stack: Any, workdir: Path, rounds: int, seed: int = 7, broker_pause_s: float = 15.0,
              products: int = 30, round_s: tuple[float, float] = (1.0, 3.0), converge_timeout_s: float = 180.0,
              replay: bool = True, say: Any = print, min_orders: int = 10, min_shipped: int = 3,
              recovery_timeout_s: float = RECOVERY_TIMEOUT_S) -> ChaosReport:
    """``recovery_timeout_s``: how long each round waits for the sidecar to recover before the next
    (a measure not reached by then is None in the round's log)."""
    rng = random.Random(seed)
    report = ChaosReport(rounds=rounds)
    if not can_lose_records(stack.broker):
        report.skipped.append(f"broker_data_loss: needs one Apache Kafka node, the stack runs "
                              f"{type(stack.broker).__name__} (those rounds are kill -9 only)")
    # the sidecar starts 3 minutes ahead of Walmart (the clock-skew rounds step Walmart's clock forward)
    walmart_clock.CLOCK_OFFSET_S[0] = INITIAL_WALMART_CLOCK_OFFSET_S
    report.clock_steps.append(INITIAL_WALMART_CLOCK_OFFSET_S)
    try:
        with running_sidecar(stack.endpoints, workdir, rng, products, [(n, n) for n in COMPONENTS],
                             extra_overrides=chaos_overrides()) as sidecar:
            ChaosRun(sidecar, stack, report, rng, say, recovery_timeout_s).run(
                rounds, broker_pause_s, round_s, converge_timeout_s, replay, min_orders, min_shipped)
    finally:
        walmart_clock.CLOCK_OFFSET_S[0] = 0.0
    return report


class ChaosRun:
    """The rounds, the recovery measured after each, and the final agreement, on a running sidecar."""

    def __init__(self, sidecar: Sidecar, stack: Any, report: ChaosReport, rng: random.Random, say: Any,
                 recovery_timeout_s: float = RECOVERY_TIMEOUT_S):
        self.sidecar, self.stack, self.report, self.rng, self.say = sidecar, stack, report, rng, say
        self.recovery_timeout_s = recovery_timeout_s
        self.walmart, self.commerce, self.components = sidecar.walmart, sidecar.commerce, sidecar.components
        self.env = sidecar.env
        # one SKU the load never touches: each round's fresh stock change, timed to Walmart
        self.probe_sku = self._probe_candidate(sidecar.skus)
        self.load_skus = [sku for sku in sidecar.skus if sku != self.probe_sku]
        self.probe_base = self._east_quantity(self.probe_sku)
        self.probe_walmart_base = self._walmart_quantity(self.probe_sku) or 0  # the baseline resync pushed it
        self.probe_step = 0
        self.published_before_loss = 0  # records the workers' topics held before each data loss
        self._gap_mark: Any = None  # the state store's clock when the last data loss began
        self._lost_held = 0  # records the broker held when it lost them
        self._broker_back = 0.0
        self._back_mark: Any = None  # the state store's clock when the broker was back
        self._exited: list[str] = []  # components that exited on their own in this round
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(entity_id), 0) FROM sales_order")
            self.orders_before = int(cur.fetchone()[0])

    # the run ---------------------------------------------------------------------------------------
    def run(self, rounds: int, broker_pause_s: float, round_s: tuple[float, float], converge_timeout_s: float,
            replay: bool, min_orders: int, min_shipped: int) -> None:
        report, walmart, commerce, sidecar = self.report, self.walmart, self.commerce, self.sidecar
        load = Load(self.env, walmart, sidecar.commerce_url, self.load_skus, report, self.rng)
        load.start()
        self.say(f"chaos: {rounds} rounds against {len(self.components)} component processes while the load runs")
        try:
            for number in range(1, rounds + 1):
                self.round(number, rounds, broker_pause_s, round_s)
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
            commerce.faults.place_order_commit_delay_s = 0.0
            self.stack.broker.resume()
        for component in self.components.values():
            if not component.process.is_running():
                component.start()
        started = time.monotonic()
        self.say("chaos: load stopped, faults off; waiting until Walmart and Commerce agree...")
        checks = sidecar.converge(converge_timeout_s, supervise=True)
        if all(c.ok for c in checks):
            report.converge_seconds = round(time.monotonic() - started, 1)
        if all(c.ok for c in checks) and replay:
            # the worst crash: every event delivered again to every worker; nothing may happen twice
            self.say("chaos: agreed; now every worker reads every event again from the beginning...")
            sidecar.replay()
            checks = sidecar.converge(converge_timeout_s, supervise=True)
        report.lost = sum(len(c.lost) for c in checks)
        report.duplicate_effects = sum(len(c.duplicates) for c in checks)
        report.checks = [f"{c.name}: {c.describe()}" for c in checks]
        if report.lost or report.duplicate_effects:
            report.evidence = sidecar.evidence(checks)
        report.replayed_records = max(0, sidecar.replayed() - self.published_before_loss)  # those were published
        report.gaps_detected, report.gaps_repaired = kafka_gaps(self.env)
        report.walmart_faults_injected = dict(walmart.seller(CLIENT[0]).faults_injected)
        with self.walmart._lock:
            every_po = list(walmart.seller(CLIENT[0]).orders)
        owed = self._walmart_pos()
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sales_order WHERE entity_id > %s", (self.orders_before,))
            report.orders_commerce_total = int(cur.fetchone()[0])
            # a PO cancelled whole on Walmart counts when Commerce has it (the merchant cancelled it
            # after the import); one Commerce refused was never to be a Commerce order
            cancelled = sorted(set(every_po) - set(owed))
            imported_then_cancelled = 0
            for start in range(0, len(cancelled), 500):
                chunk = cancelled[start:start + 500]
                cur.execute(f"SELECT COUNT(DISTINCT ext_order_id) FROM sales_order WHERE ext_order_id IN "
                            f"({', '.join(['%s'] * len(chunk))})", chunk)
                imported_then_cancelled += int(cur.fetchone()[0])
        report.orders_walmart = len(owed) + imported_then_cancelled
        report.orders_refused = len(cancelled) - imported_then_cancelled
        report.exits = sidecar.exits()

    def round(self, number: int, rounds: int, broker_pause_s: float, round_s: tuple[float, float]) -> None:
        report, rng, walmart, commerce = self.report, self.rng, self.walmart, self.commerce
        time.sleep(rng.uniform(*round_s))
        victim = self.components[rng.choice(list(self.components))]
        victim.kill()
        report.kills[victim.name] += 1
        what = [f"kill -9 {victim.name}"]
        kind = ROUND_KINDS[(number - 1) % len(ROUND_KINDS)]
        if kind == "broker_data_loss" and not can_lose_records(self.stack.broker):
            kind = "kill_only"
        entry: dict[str, Any] = {"round": number, "kind": kind, "killed": victim.name}
        self._exited = []
        if kind == "walmart_faults":  # Walmart misbehaves for a while
            walmart.set_faults(error_rate=0.2, timeout_rate=0.05, timeout_s=1.0, drop_rate=0.05)
            report.walmart_fault_windows += 1
            what.append("Walmart 5xx/timeouts/drops")
        elif kind == "storm_429":
            walmart.set_faults(storm_429_until=time.monotonic() + 2.0)
            report.storms_429 += 1
            what.append("a 429 storm")
        elif kind == "commerce_503":
            commerce.faults.error_rate = 0.3
            report.commerce_fault_windows += 1
            what.append("Commerce REST 503s")
        elif kind == "slow_placement":
            commerce.faults.place_order_commit_delay_s = SLOW_PLACEMENT_S
            report.slow_placement_windows += 1
            what.append(f"Commerce commits placements {SLOW_PLACEMENT_S:.0f} s late (client timeout "
                        f"{COMMERCE_TIMEOUT_S} s)")
        elif kind == "clock_skew":
            walmart_clock.CLOCK_OFFSET_S[0] += CLOCK_STEP_S
            report.clock_steps.append(walmart_clock.CLOCK_OFFSET_S[0])
            what.append(f"Walmart's clock now {walmart_clock.CLOCK_OFFSET_S[0]:+.0f} s from the sidecar's")
        time.sleep(rng.uniform(*round_s))
        if kind == "broker_data_loss":
            self.lose_every_record()
            what.append("broker restarted empty")
        elif kind == "state_store_cut":
            killed = self.cut_state_store(STATE_STORE_CUT_S)
            what.append(f"state-store connections cut {STATE_STORE_CUT_S:.0f} s ({killed} killed)")
        if number == max(1, rounds // 2) and broker_pause_s:
            self.stack.broker.pause()
            what.append(f"broker frozen {broker_pause_s:.0f} s")
            time.sleep(broker_pause_s)
            self.stack.broker.resume()
            report.broker_pauses += 1
            entry["kind"] = "broker_freeze"
            entry["also"] = kind
        walmart.set_faults(error_rate=0.0, timeout_rate=0.0, drop_rate=0.0)
        commerce.faults.error_rate = 0.0
        commerce.faults.place_order_commit_delay_s = 0.0
        victim.start()
        entry["recovery"] = self.recover()
        if kind == "broker_data_loss":
            entry["recovery"].update(self.gap_outcome())
        self._supervise()
        entry["exited"] = list(self._exited)  # a process that did not ride the fault out (restarted)
        report.round_log.append(entry)
        times = ", ".join(f"{k} {v}" for k, v in entry["recovery"].items())
        self.say(f"  round {number}/{rounds}: " + ", ".join(what) + f"; recovered: {times}"
                 + (f"; exited and restarted: {entry['exited']}" if entry["exited"] else ""))

    # faults ----------------------------------------------------------------------------------------
    def lose_every_record(self) -> None:
        """Stop the broker, delete its log directory, start it again: every record, every group offset
        gone (what a rebuilt cluster, an unclean election or too short a retention do to some)."""
        broker = self.stack.broker
        held = self._published()
        self.published_before_loss += held
        self._gap_mark = self._state_now()
        broker.stop()
        shutil.rmtree(broker.nodes[1].data_dir)
        # timed from the start of the restart: a component may find the loss before start() has seen
        # the broker registered
        self._back_mark = self._state_now()
        self._broker_back = time.monotonic()
        broker.start()
        self._lost_held = held

    def gap_outcome(self) -> dict[str, float | int | None]:
        """After a data loss: the time from the broker's restart (an empty log directory) until the
        sidecar reported the loss and until it had repaired every gap it found (the ledger's own
        timestamps); counted as injected when the broker held records."""
        report = self.report
        if self._lost_held:
            report.gaps_injected += 1
        deadline = time.monotonic() + self.recovery_timeout_s  # from now: recover() may have used its own already
        while True:
            self._supervise()
            outcome = self._gaps_since(self._gap_mark, self._back_mark)
            if (outcome[0] and not outcome[1]) or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        found, still_open, detected_s, repaired_s = outcome
        if self._lost_held and found:
            report.injected_gaps_detected += 1
            if not still_open:
                report.injected_gaps_repaired += 1
        return {"gap_detected_s": detected_s, "gap_repaired_s": repaired_s if found and not still_open else None,
                "gaps_found": found, "records_lost": self._lost_held}

    def cut_state_store(self, seconds: float) -> int:
        """KILL every connection to the sidecar's state store, again and again for ``seconds``: each
        reconnect inside the window dies too, as behind a network cut or a MariaDB restart."""
        killed = 0
        deadline = time.monotonic() + seconds
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            while time.monotonic() < deadline:
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
                            (self.env.state_db,))
                for (thread_id,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL CONNECTION {int(thread_id)}")
                        killed += 1
                    except Exception:  # gone meanwhile
                        pass
                time.sleep(0.2)
        self.report.state_store_cuts += 1
        self.report.state_store_connections_killed += killed
        return killed

    # recovery ----------------------------------------------------------------------------------------
    def recover(self) -> dict[str, float | None]:
        """From the fault's end: every component ready (exited ones restarted, as a supervisor would), a
        fresh stock change of the probe SKU on Walmart, and every Walmart order placed before the fault
        ended in Commerce. None for what did not happen within ``recovery_timeout_s``."""
        started = time.monotonic()
        pos = self._walmart_pos()
        self.probe_step += 1
        quantity = self.probe_base + self.probe_step
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("UPDATE inventory_source_item SET quantity = %s, status = 1 WHERE sku = %s AND "
                        "source_code = 'wh_east'", (quantity, self.probe_sku))
        expected = self.probe_walmart_base + self.probe_step
        times: dict[str, float | None] = {"ready_s": None, "stock_s": None, "orders_s": None}
        with self.env.admin_connection() as conn:
            while time.monotonic() < started + self.recovery_timeout_s and None in times.values():
                self._supervise()
                elapsed = round(time.monotonic() - started, 1)
                if times["ready_s"] is None and all(c.ready() for c in self.components.values()):
                    times["ready_s"] = elapsed
                if times["stock_s"] is None and self._walmart_quantity(self.probe_sku) == expected:
                    times["stock_s"] = elapsed
                if times["orders_s"] is None and self._in_commerce(conn, pos):
                    times["orders_s"] = elapsed
                time.sleep(0.2)
        return times

    def _supervise(self) -> None:
        """Start exited components again, as systemd or Kubernetes would; noted for the round."""
        self._exited += self.sidecar.restart_exited()

    def _walmart_pos(self) -> list[str]:
        """The POs that must become Commerce orders: all but those cancelled whole on Walmart. Once
        the load has sold a SKU out, Commerce refuses its next orders and the importer cancels them
        on Walmart (the configured reason): they never become Commerce orders, and counting them
        held every later round's ``orders_s`` at its timeout (the final agreement judges them)."""
        with self.walmart._lock:
            return [po for po, order in self.walmart.seller(CLIENT[0]).orders.items()
                    if any(line.quantity_in("Cancelled") < line.quantity for line in order.lines)]

    def _walmart_quantity(self, sku: str) -> int | None:
        with self.walmart._lock:
            return self.walmart.seller(CLIENT[0]).inventory.get((sku, "default"))

    def _probe_candidate(self, skus: list[str]) -> str:
        """The last SKU with stock in wh_east that Walmart holds a quantity for (the baseline pushed it)."""
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT sku FROM inventory_source_item WHERE source_code = 'wh_east'")
            stocked = {str(sku) for (sku,) in cur.fetchall()}
        for sku in reversed(skus):
            if sku in stocked and self._walmart_quantity(sku) is not None:
                return sku
        raise RuntimeError("no SKU to probe: none has wh_east stock and a quantity on Walmart")

    def _east_quantity(self, sku: str) -> int:
        with self.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT quantity FROM inventory_source_item WHERE sku = %s AND source_code = 'wh_east'",
                        (sku,))
            return int(cur.fetchone()[0])

    @staticmethod
    def _in_commerce(conn: Any, pos: list[str]) -> bool:
        if not pos:
            return True
        with conn.cursor() as cur:
            cur.execute(f"SELECT COUNT(DISTINCT ext_order_id) FROM sales_order WHERE ext_order_id IN "
                        f"({', '.join(['%s'] * len(pos))})", pos)
            return int(cur.fetchone()[0]) == len(pos)

    def _state_now(self) -> Any:
        with self.env.endpoints.mysql.connect(self.env.state_db) as conn, conn.cursor() as cur:
            cur.execute("SELECT NOW(3)")
            return cur.fetchone()[0]

    def _gaps_since(self, mark: Any, back: Any) -> tuple[int, int, float | None, float | None]:
        """Gaps found since ``mark``: (how many, how many open, seconds from ``back`` to the first
        report, seconds from ``back`` to the last repair)."""
        import pymysql

        with self.env.endpoints.mysql.connect(self.env.state_db) as conn, conn.cursor() as cur:
            try:
                cur.execute("SELECT COUNT(*), COUNT(*) - COUNT(repaired_at), "
                            "TIMESTAMPDIFF(MICROSECOND, %s, MIN(detected_at)) / 1e6, "
                            "TIMESTAMPDIFF(MICROSECOND, %s, MAX(repaired_at)) / 1e6 "
                            "FROM kafka_gaps WHERE detected_at >= %s", (back, back, mark))
            except pymysql.err.ProgrammingError:
                return 0, 0, None, None
            found, still_open, detected_s, repaired_s = cur.fetchone()
        return (int(found), int(still_open), None if detected_s is None else round(float(detected_s), 1),
                None if repaired_s is None else round(float(repaired_s), 1))

    def _published(self) -> int:
        return _published(self.env, self.components)


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
              deadline: float, supervise: Any = None) -> list[Any]:
    from sync_workers.stores.value_state import connect_state

    settings = env.settings()
    state = connect_state(settings)
    try:
        with env.admin_connection() as commerce:
            while True:
                checks = check_all(settings, walmart, CLIENT[0], commerce, state)
                if all(c.ok for c in checks) or time.monotonic() > deadline:
                    return checks
                if supervise is not None:
                    supervise()
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
    """Records the workers handled more than once (after kills): all handled minus all published (the
    caller takes off what the topics held before a data loss: those were published too)."""
    from config.components import worker_families

    families = worker_families()
    handled = sum(c.records_before + c.records() for c in components.values() if c.name in families)
    return max(0, handled - _published(env, components))


def _published(env: CommerceEnvironment, components: dict[str, Component]) -> int:
    """Records the topics the workers read hold now (the sum of their log ends)."""
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
        return sum(consumer.highwater(tp) or 0 for tp in partitions)
    finally:
        consumer.close()


def _wait(check: Any, timeout_s: float, what: str, components: dict[str, Component]) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    dead = [c.label for c in components.values() if c.process.exit_code() is not None]
    raise RuntimeError(f"timed out waiting for {what}; exited: {dead or 'none'}")
