"""Benchmark: resident memory of each sidecar process with a 1,000,000-event backlog.

    python bench/memory.py [--quick] [--events 1000000] [--seconds 60] [--set workers.max_batch_records=5000]

Two backlogs, each of ``--events`` changes:
- the binlog: that many watched rows (MSI reservations) committed before the listener starts
  from a position before them; the listener (decoder) and its publisher process are measured
  while they work through it;
- Kafka: that many stock events and as many price events already on their topics when the
  inventory and price workers start (Walmart emulator at generous limits, in this process).

Every other process the sidecar runs (config/components.py: the shipment, cancellation, refund,
order import, return import and listings workers, the order and return pollers) runs beside them
against the same stack, at the shipped defaults, with its topics as the listener leaves them (no
backlog of their own: their events need orders that exist on both sides).

RSS (VmRSS from /proc, the process alone) is sampled every 0.5 s from the start until the inventory
and price groups have committed the whole Kafka backlog and ``--seconds`` have passed (at most
``--max-seconds``): a loaded machine starts the processes slowly, and a window that ends before
they have worked through the backlog measures nothing. ``drained`` says whether they did. The peak
per process is reported. A process that exits during the window fails
the run (it measured nothing). Last line: JSON with events, ``rss_mb`` per process, ``exited``
and ``max_rss_mb``. Target: every process < 150 MB; exit 1 otherwise. ``--set`` (repeatable)
passes a setting to every process, for a labelled extra run beside the defaults.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.harness import CLIENT, print_table
from config.components import COMPONENTS
from devstack.environment import prepare_environment
from devstack.mariadb import free_port
from devstack.processes import child_pids
from devstack.stack import LocalStack
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from domain.events import encode_change_event, event_id
from plumbing.kafka import ensure_topics, topic_name

REPO = Path(__file__).resolve().parents[1]
SKUS = 2_000


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def spawn(config: Path, overrides: list[str], *command: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    sets = [arg for o in overrides for arg in ("--set", o)]
    return subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "--config", str(config), "--log-level",
                             "error", *sets, *command], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def watch(processes: dict[str, subprocess.Popen[bytes]], seconds: float, max_seconds: float,
          done: Callable[[], bool]) -> dict[str, float]:
    """Peak RSS per process (and per child, named '<name>/child') over the window: at least
    ``seconds``, then until ``done()`` (at most ``max_seconds``)."""
    peaks: dict[str, float] = {}
    started = time.monotonic()
    next_check = 0.0
    finished = False
    while time.monotonic() - started < max_seconds:
        for name, proc in processes.items():
            peaks[name] = max(peaks.get(name, 0.0), rss_mb(proc.pid))
            for n, child in enumerate(child_pids(proc.pid)):
                comm = Path(f"/proc/{child}/cmdline").read_bytes().decode(errors="replace") \
                    if Path(f"/proc/{child}/cmdline").exists() else ""
                if "resource_tracker" in comm:
                    continue  # multiprocessing's bookkeeping process, a few MB
                key = f"{name}/publisher" if name == "listener" else f"{name}/child{n}"
                peaks[key] = max(peaks.get(key, 0.0), rss_mb(child))
        if time.monotonic() >= next_check:  # a round trip to the broker every few seconds, not every sample
            next_check = time.monotonic() + 3.0
            finished = finished or done()
        if finished and time.monotonic() - started >= seconds:
            break
        time.sleep(0.5)
    return {k: round(v, 1) for k, v in peaks.items()}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="100,000 events, 20 s")
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--max-seconds", type=float, default=900.0, help="stop waiting for the backlog after this")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="a setting for every process (an extra, labelled run; the defaults are the target)")
    args = parser.parse_args()
    if args.quick:
        args.events, args.seconds = 100_000, 20.0
    results: dict[str, float] = {}
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", SKUS)
        skus = env.seed.skus
        settings = env.settings()
        # the binlog backlog, committed before the listener starts
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SHOW MASTER STATUS")
            log_file, log_pos = cur.fetchone()[:2]
            batch = 5_000
            for start in range(0, args.events, batch):
                rows = [(2, skus[n % SKUS], -1, '{"event_type":"order_placed","object_type":"order"}')
                        for n in range(start, min(args.events, start + batch))]
                cur.executemany("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) "
                                "VALUES (%s, %s, %s, %s)", rows)
        print(f"binlog backlog: {args.events} rows committed", file=sys.stderr)
        # the Kafka backlog, on the topics before the workers start
        from kafka import KafkaProducer

        topics = {family: topic_name(settings.kafka, family) for family in ("stock", "price")}
        ensure_topics(settings.kafka, list(topics.values()))
        producer = KafkaProducer(bootstrap_servers=env.endpoints.bootstrap_servers, linger_ms=20,
                                 batch_size=256 * 1024)
        captured_at = datetime.now(UTC)
        for family, topic in topics.items():
            # one event encoded through the envelope, then its SKU and transaction number filled in
            # per event: encoding 2,000,000 through pydantic took longer than the measurement
            txn = "0-1-@@N@@"
            template = encode_change_event(
                event_id(txn, 0), family, "reservation" if family == "stock" else "price", "insert", "@@SKU@@",
                "@@SKU@@", None, {"reservation_id": 1}, None, {"quantity": "-1.0000"}, None,
                {"server_id": 1, "gtid": txn, "log_file": "binlog.000001", "log_pos": 4, "ts_ms": 0,
                 "database": "magento", "table": "inventory_reservation", "txn": txn}, captured_at)
            for n in range(args.events):
                sku = skus[n % SKUS].encode()
                value = template.replace(b"@@SKU@@", sku).replace(b"@@N@@", str(n).encode())
                producer.send(topic, key=sku, value=value)
        producer.flush()
        producer.close()
        print(f"Kafka backlog: {args.events} stock and {args.events} price events", file=sys.stderr)
        app = WalmartEmulator({CLIENT[0]: CLIENT[1]}, time_scale=1000.0, feed_delays_s=(0.1, 0.2))
        app.seed_items(CLIENT[0], skus)
        with EmulatorServer(app) as emulator:
            overrides = [f"walmart.base_url={emulator.url}", f"walmart.client_id={CLIENT[0]}",
                         f"walmart.client_secret={CLIENT[1]}", "workers.feed_poll_s=0.5",
                         "workers.feed_expected_s=0.2", *args.set]
            processes = {
                "listener": spawn(env.config_path, overrides + [f"ops.port={free_port()}"], "listen", "--from",
                                  f"{log_file}:{log_pos}"),
            }
            for spec in COMPONENTS:
                if spec.kind != "listener":
                    label = f"{spec.name} {spec.kind}"
                    processes[label] = spawn(env.config_path, overrides + [f"ops.port={free_port()}"], "work",
                                             spec.name)
            drained = Drained(settings, {"inventory": topics["stock"], "price": topics["price"]})
            try:
                results = watch(processes, args.seconds, args.max_seconds, drained)
                exited = {name: proc.poll() for name, proc in processes.items() if proc.poll() is not None}
            finally:
                for proc in processes.values():
                    proc.terminate()
                for proc in processes.values():
                    try:
                        proc.wait(30)
                    except subprocess.TimeoutExpired:
                        proc.kill()
    peak = max(results.values(), default=0.0)
    table = [(name, f"{mb:.1f} MB", "< 150 MB") for name, mb in results.items()]
    table += [(f"{name} EXITED", f"code {code}", "runs throughout") for name, code in exited.items()]
    if args.set:
        table.append(("settings (not the defaults)", " ".join(args.set), ""))
    table.append(("backlog drained", str(drained.seen), "both groups committed it all"))
    print_table(table)
    print(json.dumps({"events": args.events, "seconds": round(drained.seconds, 1), "settings": args.set,
                      "drained": drained.seen, "rss_mb": results, "processes": len(processes), "exited": exited,
                      "max_rss_mb": peak}))
    return 0 if peak < 150 and not exited and drained.seen else 1


class Drained:
    """True once each worker's consumer group has committed its topic's end offsets."""

    def __init__(self, settings: Any, groups: dict[str, str]):
        from kafka import KafkaConsumer, TopicPartition

        servers = list(settings.kafka.bootstrap_servers)
        self.groups = groups
        # one consumer per group that never subscribes: committed() reads the group's offsets
        # without joining it (kafka-python's admin client has no offsets listing call)
        self.readers = {group: KafkaConsumer(bootstrap_servers=servers, enable_auto_commit=False,
                                             group_id=f"{settings.kafka.topic_prefix}.{group}")
                        for group in groups}
        consumer = self.readers[next(iter(groups))]
        self.partitions = {topic: [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
                           for topic in set(groups.values())}
        self.ends = consumer.end_offsets([tp for tps in self.partitions.values() for tp in tps])
        self.started = time.monotonic()
        self.seen = False
        self.seconds = 0.0

    def __call__(self) -> bool:
        try:
            for group, topic in self.groups.items():
                reader = self.readers[group]
                for tp in self.partitions[topic]:
                    if (reader.committed(tp) or 0) < self.ends[tp]:
                        return False
        except Exception:
            return False
        if not self.seen:
            self.seen, self.seconds = True, time.monotonic() - self.started
        return True


if __name__ == "__main__":
    sys.exit(main())
