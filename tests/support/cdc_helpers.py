"""Helpers for listener tests: run a listener, read its topics, write Commerce-shaped rows."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from cdc_listener.listener import Listener
from cdc_listener.metrics import ListenerMetrics
from domain.events import FAMILIES
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


class ListenerThread:
    """A Listener in a thread of this process, stopped and joined on exit."""

    def __init__(self, settings, start=None):
        self.listener = Listener(settings, start, ListenerMetrics())
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.listener.run()
        except BaseException as exc:  # surfaced to the test
            self.error = exc

    def __enter__(self) -> ListenerThread:
        self.thread.start()
        wait_for(lambda: self.listener.streaming.is_set() or self.error is not None,
                 30, "listener streaming")
        if self.error:
            raise self.error
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.listener.stop()
        self.thread.join(30)
        if exc_type is None:  # a stop is part of what is tested: it ends the thread, cleanly
            assert not self.thread.is_alive(), "the listener did not stop within 30 s"
            if self.error is not None:
                raise self.error


def wait_for(check: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


class TopicReader:
    """Reads every family topic of a prefix from the beginning, without a consumer group."""

    def __init__(self, bootstrap: str, prefix: str):
        self.topics = [f"{prefix}.{family}" for family in FAMILIES]
        self.consumer = KafkaConsumer(bootstrap_servers=bootstrap, auto_offset_reset="earliest",
                                      enable_auto_commit=False, consumer_timeout_ms=200)
        self._assigned: set[str] = set()
        self.events: list[dict] = []
        self.keys: list[bytes] = []

    def _assign(self) -> None:
        parts = []
        for topic in self.topics:
            for p in self.consumer.partitions_for_topic(topic) or ():
                parts.append(TopicPartition(topic, p))
        if {tp.topic for tp in parts} != self._assigned:
            positions = {tp: self.consumer.position(tp) for tp in self.consumer.assignment()}
            self.consumer.assign(parts)
            for tp in parts:
                if tp in positions:
                    self.consumer.seek(tp, positions[tp])
                else:
                    self.consumer.seek_to_beginning(tp)
            self._assigned = {tp.topic for tp in parts}

    def poll(self) -> list[dict]:
        self._assign()
        new = []
        for record in self.consumer:
            event = json.loads(record.value)
            assert record.key.decode() == event["key"]
            event["_topic"] = record.topic
            self.events.append(event)
            new.append(event)
        return new

    def until(self, predicate: Callable[[list[dict]], bool], timeout: float = 30, what: str = "events") -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if predicate(self.events):
                return self.events
        raise AssertionError(f"timed out waiting for {what}; got {len(self.events)} events")

    def close(self) -> None:
        self.consumer.close()


def of_type(events: list[dict], family: str, type_: str) -> list[dict]:
    return [e for e in events if e["family"] == family and e["type"] == type_]


def cli_process(config_path: Path, *args: str, overrides: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """``walmart-sync <args>`` as its own process, JSON logs on stderr, env free of WALMART_SYNC_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    sets = [arg for o in overrides for arg in ("--set", o)]
    return subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "--config", str(config_path),
                             "--log-format", "json", *sets, *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def listen_process(config_path: Path, *args: str, overrides: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    return cli_process(config_path, "listen", *args, overrides=overrides)


def create_order(cur, increment_id: str, skus: list[str], state: str = "processing") -> tuple[int, list[int]]:
    """Rows as Magento writes them for a placed order (what the REST emulator will do)."""
    cur.execute("INSERT INTO sales_order (state, status, increment_id, store_id, ext_order_id, "
                "base_grand_total, grand_total, total_qty_ordered) VALUES (%s, %s, %s, 2, %s, 10, 10, %s)",
                (state, state, increment_id, f"PO-{increment_id}", len(skus)))
    order_id = cur.lastrowid
    items = []
    for sku in skus:
        cur.execute("INSERT INTO sales_order_item (order_id, store_id, sku, product_type, qty_ordered, "
                    "price, row_total) VALUES (%s, 2, %s, 'simple', 2, 5, 10)", (order_id, sku))
        items.append(cur.lastrowid)
    return order_id, items


def mariadb_binlog_dump_ids(cur) -> list[int]:
    cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND = 'Binlog Dump'")
    return [row[0] for row in cur.fetchall()]


def parse_json_logs(text: str) -> list[dict]:
    out = []
    for line in text.splitlines():
        if re.match(r"^\{", line):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    return out



@contextmanager
def worker_pipeline(stack, workdir: Path, edition: str, worker: str, products: int, listed: list[str],
                    **settings_overrides: Any) -> Iterator[tuple[Any, Any, Any, Any, Any]]:
    """Seeded Commerce DB + Walmart emulator + listener + one push worker, all real and running.

    Yields (env, settings, emulator server, emulator app, worker loop).
    """
    from devstack.environment import prepare_environment
    from devstack.walmart_emulator.app import WalmartEmulator
    from devstack.walmart_emulator.server import EmulatorServer
    from walmart_sync.components import build_worker

    name = f"{worker[:3]}_{edition[:2]}_{uuid.uuid4().hex[:6]}"
    env = prepare_environment(stack.endpoints, workdir, edition, products=products, name=name)
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.1, 0.3))
    app.seed_items("local-client", listed)
    with EmulatorServer(app) as emulator:
        overrides = {"workers": {"coalesce_ms": 50, "feed_poll_s": 0.2}, "cdc": {"checkpoint_interval_ms": 100}}
        for section, values in settings_overrides.items():
            overrides[section] = {**overrides.get(section, {}), **values}
        settings = env.settings(walmart={"base_url": emulator.url, "client_id": "local-client",
                                         "client_secret": "local-secret"}, **overrides)
        with ListenerThread(settings):
            loop = build_worker(worker, settings)
            thread = threading.Thread(target=loop.run, daemon=True)
            thread.start()
            try:
                yield env, settings, emulator, app, loop
            finally:
                loop.stop()
                thread.join(30)


def emulator_state(emulator: Any) -> dict[str, Any]:
    """The Walmart emulator's inspection view (inventory, prices, orders, calls...)."""
    import requests

    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()


def committed_to_end(settings: Any, group: str, families: tuple[str, ...]) -> bool:
    """True once ``group`` has committed every partition of its topics up to the log end: every
    record so far was handled (applied, dead-lettered or parked), not merely fetched. The end is a
    fetch's high watermark (right on every broker; Tansu's ListOffsets is not)."""
    from kafka import KafkaConsumer, TopicPartition

    from plumbing.kafka import connection_kwargs, topic_name

    kafka = settings.kafka
    probe = KafkaConsumer(**connection_kwargs(kafka, "walmart-sync-test-ends"), enable_auto_commit=False,
                          fetch_max_wait_ms=50)
    committed = KafkaConsumer(**connection_kwargs(kafka, "walmart-sync-test-committed"), enable_auto_commit=False,
                              group_id=f"{kafka.topic_prefix}.{group}")
    try:
        partitions = [TopicPartition(topic, p) for topic in (topic_name(kafka, f) for f in families)
                      for p in sorted(probe.partitions_for_topic(topic) or ())]
        probe.assign(partitions)
        probe.seek_to_beginning(*partitions)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(probe.highwater(tp) is None for tp in partitions):
            probe.poll(timeout_ms=100)
        for tp in partitions:
            end = probe.highwater(tp)
            if end is None:
                return False
            if end and (committed.committed(tp) or 0) < end:
                return False
        return True
    finally:
        probe.close()
        committed.close()


def replay_through_fresh_group(settings: Any, worker_class: type) -> None:
    """Run an order worker under a new consumer group over every event so far, as after a crash
    before the offset commit, and return once it has handled them."""
    from plumbing.db import connect_commerce
    from sync_workers.runtime.loop import WorkerLoop
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import connect_state
    from sync_workers.walmart.client import WalmartClient

    replay_class = type(f"Replay{worker_class.__name__}", (worker_class,), {"name": f"{worker_class.name}_replay"})
    replay = WorkerLoop(settings, replay_class(settings, WalmartClient(settings.walmart),
                                               connect_commerce(settings), OrderMap(connect_state(settings))))
    thread = threading.Thread(target=replay.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: committed_to_end(settings, replay_class.name, replay_class.families), 60,
                 "the replay group's committed offsets to reach the end of its topics")
    finally:
        replay.stop()
        thread.join(30)
