"""Lag under a controlled backlog, on the real broker: N messages produced, M committed by a live
consumer of the inventory group; `walmart-sync lag` and /metrics report N - M and seconds of lag
per partition; the stuck consumer shows STALL, and once killed, STOP. The local broker's
ListOffsets understates the log end (see docs/local-stack.md): these figures would be wrong if the
lag came from it."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from devstack.mariadb import free_port
from devstack.stack import kafka_backend
from operations.lag.burrow import evaluate
from operations.lag.kafka_lag import GroupSample, PartitionLag
from operations.lag.sampler import LagSampler
from operations.ops_server import OpsServer
from plumbing.kafka import ensure_topics, topic_name
from plumbing.metrics import REGISTRY
from tests.support.cdc_helpers import REPO, cli_process, wait_for
from tests.support.records import change_event

PRODUCED_PER_PARTITION = 20
COMMITTED_PER_PARTITION = 8
PARTITIONS = 3

STUCK_CONSUMER = """
import sys, time
from kafka import KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
bootstrap, group, topic, committed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False,
                         session_timeout_ms=6000, heartbeat_interval_ms=2000, max_poll_records=1)
while not consumer.assignment():
    consumer.poll(200)
consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(committed, "", -1) for p in range(3)})
print("ready", flush=True)
while True:  # alive and in the group, never committing again: stuck on a batch
    consumer.poll(200)
    time.sleep(0.2)
"""


@pytest.fixture(scope="module")
def backlog(stack, tmp_path_factory):
    from devstack.environment import prepare_environment

    env = prepare_environment(stack.endpoints, tmp_path_factory.mktemp("lag"), "open_source", products=5,
                              name=f"lag_{uuid.uuid4().hex[:6]}")
    settings = env.settings(ops={"lag_sample_s": 1.0})
    topic = topic_name(settings.kafka, "stock")
    ensure_topics(settings.kafka, [topic])
    producer = KafkaProducer(bootstrap_servers=env.endpoints.bootstrap_servers)
    for n in range(PRODUCED_PER_PARTITION * PARTITIONS):
        producer.send(topic, key=f"k{n}".encode(), value=json.dumps({"family": "stock", "n": n}).encode(),
                      partition=n % PARTITIONS)
    producer.flush()
    producer.close()
    produced_at = time.time()
    consumer = subprocess.Popen([sys.executable, "-c", STUCK_CONSUMER, env.endpoints.bootstrap_servers,
                                 f"{settings.kafka.topic_prefix}.inventory", topic, str(COMMITTED_PER_PARTITION)],
                                cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert consumer.stdout.readline().strip() == "ready", consumer.stderr.read()
    try:
        yield env, settings, topic, consumer, produced_at
    finally:
        consumer.kill()
        consumer.wait(10)


def lag_json(env, overrides: tuple[str, ...] = ()) -> tuple[int, dict]:
    proc = cli_process(env.config_path, "lag", "--json", "--samples", "2", "--gap", "2", overrides=overrides)
    out, err = proc.communicate(timeout=120)
    assert out, err
    return proc.returncode, json.loads(out)


def stage(report: dict, name: str) -> dict:
    return next(s for s in report["stages"] if s["stage"] == name)


def test_the_backlog_is_reported_per_partition_and_a_stuck_consumer_stalls(backlog) -> None:
    env, settings, topic, _consumer, produced_at = backlog
    # Tansu's ListOffsets answer is wrong (docs/local-stack.md), Apache Kafka's right: the report,
    # read from the fetch high watermark, is right on both
    probe = KafkaConsumer(bootstrap_servers=env.endpoints.bootstrap_servers)
    listed = probe.end_offsets([TopicPartition(topic, p) for p in range(PARTITIONS)])
    probe.close()
    if kafka_backend() == "tansu":
        assert any(end != PRODUCED_PER_PARTITION for end in listed.values())
    else:
        assert set(listed.values()) == {PRODUCED_PER_PARTITION}

    code, report = lag_json(env)
    inventory = stage(report, "group:inventory")
    expected = PRODUCED_PER_PARTITION - COMMITTED_PER_PARTITION
    assert inventory["lag_messages"] == PARTITIONS * expected  # N - M
    assert [(p["partition"], p["committed"], p["end"], p["lag"]) for p in inventory["partitions"]] == \
        [(p, COMMITTED_PER_PARTITION, PRODUCED_PER_PARTITION, expected) for p in range(PARTITIONS)]
    age = time.time() - produced_at
    assert all(0 < p["lag_seconds"] <= age + 1 for p in inventory["partitions"])
    assert inventory["status"] == "STALL" and inventory["members"] == 1
    assert all(p["status"] == "STALL" for p in inventory["partitions"])
    assert code == 1 and "group:inventory" in report["over"]

    # the same figures as Prometheus gauges, from the sampler any sidecar process runs
    sampler = LagSampler(settings).start()
    port = free_port()
    try:
        wait_for(lambda: sampler.rounds >= 2, 30, "two lag samples")
        with OpsServer("127.0.0.1", port, registry=REGISTRY):
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    finally:
        sampler.stop()
    group = f"{settings.kafka.topic_prefix}.inventory"
    for p in range(PARTITIONS):
        assert f'walmart_sync_consumer_lag_messages{{group="{group}",partition="{p}",topic="{topic}"}} ' \
               f'{float(expected)}' in text
        line = next(l for l in text.splitlines() if l.startswith(
            f'walmart_sync_consumer_lag_seconds{{group="{group}",partition="{p}",topic="{topic}"}}'))
        assert 0 < float(line.split()[-1]) <= time.time() - produced_at + 1
    assert f'walmart_sync_consumer_group_status{{group="{group}"}} 2.0' in text  # STALL
    assert 'walmart_sync_stage_over_threshold{stage="group:inventory"} 1.0' in text


def test_the_status_page_shows_what_the_cli_shows(backlog, tmp_path) -> None:
    import shutil

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("Debian's chromium is not installed (make test installs it when run as root)")
    env, settings, _topic, _consumer, _produced_at = backlog
    from operations.status_page import StatusSource

    sampler = LagSampler(settings).start()  # the running sidecar keeps the trend the page judges
    port = free_port()
    try:
        wait_for(lambda: sampler.rounds >= 2, 30, "two lag samples")
        _code, report = lag_json(env)
        with OpsServer("127.0.0.1", port, registry=REGISTRY, status=StatusSource(settings), status_token="page-token"):
            dom = subprocess.run(
                [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=3000", "--dump-dom",
                 f"http://127.0.0.1:{port}/status/detail?token=page-token"], capture_output=True, text=True,
                timeout=90).stdout
    finally:
        sampler.stop()
    page = _rows(dom)
    inventory = stage(report, "group:inventory")
    assert page["group:inventory"][0] == inventory["status"] == "STALL"
    assert page["group:inventory"][1] == str(inventory["lag_messages"])
    for p in inventory["partitions"]:
        assert page[f"group:inventory/{p['topic']}/{p['partition']}"][:2] == (p["status"], str(p["lag"]))
    assert page["binlog"][0] == stage(report, "binlog")["status"]
    assert "walmart-sync" in dom and "consumer group" in dom and "<svg" in dom  # the trend is drawn


def _rows(dom: str) -> dict[str, tuple[str, str]]:
    """data-stage / data-partition -> (status, lag messages) as a person reads them in the page."""
    from html.parser import HTMLParser

    class Reader(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.rows: dict[str, dict[str, str]] = {}
            self.row: str | None = None
            self.cell: str | None = None

        def handle_starttag(self, tag: str, attrs: list) -> None:
            found = dict(attrs)
            if tag == "tr" and ("data-stage" in found or "data-partition" in found):
                self.row = found.get("data-stage") or found.get("data-partition")
                self.rows[self.row] = {}
            elif tag == "td" and self.row:
                self.cell = (found.get("class") or "").split()[0] if found.get("class") else None

        def handle_endtag(self, tag: str) -> None:
            if tag == "tr":
                self.row = None
            if tag == "td":
                self.cell = None

        def handle_data(self, data: str) -> None:
            if self.row and self.cell:
                self.rows[self.row][self.cell] = self.rows[self.row].get(self.cell, "") + data.strip()

    reader = Reader()
    reader.feed(dom)
    return {k: (v.get("status", ""), v.get("lag-messages", "")) for k, v in reader.rows.items()}


def test_a_worker_stuck_on_walmart_stalls_and_once_killed_stops(backlog) -> None:
    """The real shipment worker: Walmart answers every call with a 5xx, so it retries its first
    batch and commits nothing (STALL); kill -9 and its heartbeat stops (STOP), whatever the broker
    still believes about its group membership."""
    from devstack.walmart_emulator.app import WalmartEmulator
    from devstack.walmart_emulator.server import EmulatorServer
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import connect_state
    from tests.support.cdc_helpers import create_order

    env, settings, _topic, _consumer, _produced_at = backlog
    app = WalmartEmulator({"local-client": "local-secret"})
    app.set_faults(error_rate=1.0)
    with env.admin_connection() as conn, conn.cursor() as cur:
        order_id, items = create_order(cur, "2000000555", [env.seed.skus[0]])
    OrderMap(connect_state(settings)).record("PO-555", "C-555", order_id, "2000000555",
                                             [("1", items[0], env.seed.skus[0], 2)])
    topic = topic_name(settings.kafka, "shipment")
    ensure_topics(settings.kafka, [topic])
    producer = KafkaProducer(bootstrap_servers=env.endpoints.bootstrap_servers)
    for n in range(10):
        producer.send(topic, key=str(order_id).encode(), value=change_event(
            "shipment", "shipment", str(order_id), order_id=order_id, n=n))
    producer.flush()
    producer.close()
    liveness = ("ops.liveness_s=6",)
    with EmulatorServer(app) as emulator:
        worker = cli_process(env.config_path, "work", "shipment", overrides=(
            f"walmart.base_url={emulator.url}", "walmart.client_id=local-client", "walmart.client_secret=local-secret",
            f"ops.port={free_port()}", "kafka.consumer_defaults.session_timeout_ms=6000",
            "kafka.consumer_defaults.heartbeat_interval_ms=2000"))
        try:
            seen: list = []

            def status_is(wanted: str) -> dict | None:
                _code, report = lag_json(env, liveness)
                found = [s for s in report["stages"] if s["stage"] == "group:shipment"]
                seen[:] = [found, report["absent_groups"]]
                return found[0] if found and found[0]["status"] == wanted else None

            try:
                stalled = wait_for(lambda: status_is("STALL"), 90, "the stuck shipment worker to show STALL")
            except AssertionError:
                worker.kill()
                raise AssertionError(f"last seen {seen}; worker said {worker.communicate(timeout=30)[1][-3000:]}") from None
            assert stalled["lag_messages"] == 10 and stalled["members"] == 1
            # it was trying, and failing (on a loaded machine its first call may come after the group showed STALL)
            wait_for(lambda: app.seller("local-client").faults_injected["error"] > 0, 30,
                     "the stuck worker's calls to Walmart failing")
            worker.send_signal(signal.SIGKILL)
            worker.wait(10)
            stopped = wait_for(lambda: status_is("STOP"), 90, "the killed shipment worker to show STOP")
            assert stopped["lag_messages"] == 10
            assert "stopped sending heartbeats" in stopped["detail"] or "no consumer" in stopped["detail"]
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.communicate(timeout=30)


def group(lags: list[tuple[int | None, int]], members: int | None = 1, at: float = 0.0,
          error: str | None = None) -> GroupSample:
    return GroupSample("inventory", "p.inventory", at, members, "Stable",
                       [PartitionLag("p.stock", n, committed, end, end - (committed or 0), 1.0)
                        for n, (committed, end) in enumerate(lags)], error)


@pytest.mark.parametrize("samples, status", [
    ([group([(10, 10)], at=0), group([(10, 10)], at=10)], "OK"),                    # caught up
    ([group([(5, 10)], at=0), group([(9, 12)], at=10)], "OK"),                      # catching up
    ([group([(5, 10)], at=0), group([(7, 20)], at=10)], "WARN"),                    # falling behind
    ([group([(5, 10)], at=0), group([(5, 12)], at=10)], "STALL"),                   # stuck
    ([group([(5, 10)], at=0), group([(5, 10)], members=0, at=10)], "STOP"),         # gone
    ([group([(5, 10)], members=0, at=0)], "STOP"),
    ([group([(10, 10)], members=0, at=0)], "OK"),                                    # gone, nothing waits
    ([group([(12, 10)], at=0)], "ERR"),                                              # past the log end
    ([group([], error="broker down", at=0)], "ERR"),
    ([group([(5, 10)], at=0)], "OK"),                                                # no trend yet
])
def test_burrow_style_status_from_the_trend(samples, status) -> None:
    assert evaluate(samples).status == status


def test_the_listings_gauge_falls_to_zero_when_a_status_empties(commerce_env) -> None:
    from prometheus_client import CollectorRegistry

    from operations.lag.report import LagReport, ReportBuilder
    from operations.lag.sampler import publish
    from plumbing.metrics import SidecarMetrics
    from sync_workers.stores.listings import ListingStore
    from sync_workers.stores.value_state import connect_state

    settings = commerce_env.settings()
    state = connect_state(settings)
    store = ListingStore(state)
    sku = commerce_env.seed.skus[0]
    with state.cursor() as cur:
        cur.execute("DELETE FROM walmart_listings")
        cur.execute("INSERT INTO walmart_listings (sku, status) VALUES (%s, 'draft')", (sku,))
    metrics = SidecarMetrics(CollectorRegistry())
    builder = ReportBuilder(settings, state, None, reader=None)  # type: ignore[arg-type]
    publish(LagReport(generated_at="now", window_s=1, stages=[builder._listings()]), metrics)
    assert metrics.listings.labels("draft")._value.get() == 1
    store.set_status(sku, "matched", reason="matched by UPC")
    publish(LagReport(generated_at="now", window_s=1, stages=[builder._listings()]), metrics)
    assert metrics.listings.labels("draft")._value.get() == 0
    assert metrics.listings.labels("matched")._value.get() == 1


def test_lag_shows_the_running_pollers_interval_not_its_own_setting(commerce_env) -> None:
    """A demo polls every 0.5 s; `lag`, run with the deployment's config (every 5 s), said 5 s."""
    import time as _time

    from operations.lag.report import ReportBuilder
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import connect_state

    settings = commerce_env.settings()  # order_poll_s = 5 (the default)
    orders = OrderMap(connect_state(settings))
    orders.set_interval("orders", 0.5)  # what the running poller records when it starts
    orders.set_watermark("orders", int(_time.time() * 1000))
    builder = ReportBuilder(settings, orders.conn, None, reader=None)  # type: ignore[arg-type]
    [row] = [r for r in builder._pollers(_time.time()) if r.stage == "poll:orders"]
    assert row.detail == "order_poller, every 0.5 s" and row.threshold == "< 60 s since the last complete poll"


def test_orders_near_or_past_walmarts_acknowledge_deadline_are_at_risk_or_late(commerce_env) -> None:
    """Walmart's clock runs for a PO whatever the sidecar did with it: a refused one is at risk too.
    Judged against Walmart's orderDate on the state store's clock (4 h, margin 1 h by default)."""
    import time as _time

    from prometheus_client import CollectorRegistry

    from operations.lag.report import LagReport, ReportBuilder
    from operations.lag.sampler import publish
    from plumbing.metrics import SidecarMetrics
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import connect_state

    settings = commerce_env.settings()
    orders = OrderMap(connect_state(settings))
    with orders.conn.cursor() as cur:
        cur.execute("DELETE FROM walmart_order_state")
    builder = ReportBuilder(settings, orders.conn, None, reader=None)  # type: ignore[arg-type]
    assert builder._acknowledge_deadline().status == "OK"
    hour_ms, now_ms = 3_600_000, int(_time.time() * 1000)
    orders.set_state("PO-RISK", "failed_unknown_sku", error="line 1: SKU X is not in Commerce",
                     order_date=now_ms - int(3.5 * hour_ms))       # 30 min left
    orders.set_state("PO-LATE", "creating", order_date=now_ms - 5 * hour_ms)  # an hour late
    orders.set_state("PO-DONE", "acknowledged", order_date=now_ms - 6 * hour_ms)
    orders.set_state("PO-GONE", "cancelled_out_of_stock", order_date=now_ms - 6 * hour_ms)
    orders.set_state("PO-FRESH", "failed_malformed", order_date=now_ms - hour_ms)  # 3 h left: not yet
    row = builder._acknowledge_deadline()
    assert (row.status, row.over, row.counts) == ("ERR", True, {"at_risk": 1, "late": 1})
    assert row.detail.startswith("1 late, 1 at risk; oldest PO PO-LATE (creating), 60 min late"), row.detail
    metrics = SidecarMetrics(CollectorRegistry())
    publish(LagReport(generated_at="now", window_s=1, stages=[row]), metrics)
    assert metrics.orders_at_deadline.labels("acknowledge", "late")._value.get() == 1
    assert metrics.orders_at_deadline.labels("acknowledge", "at_risk")._value.get() == 1
    orders.set_state("PO-LATE", "acknowledged")
    row = builder._acknowledge_deadline()
    assert (row.status, row.counts) == ("WARN", {"at_risk": 1, "late": 0})
    assert "oldest PO PO-RISK (failed_unknown_sku), 30 min left" in row.detail


def test_one_sampler_samples_and_a_dead_holders_lease_is_taken_over(commerce_env) -> None:
    """The sampler's leadership is a lease (plumbing.locks.Lease), not a GET_LOCK that a dead host's
    half-open connection would hold for wait_timeout (8 hours): a holder that stops renewing is
    replaced once its lease ran out, two live samplers never sample at once, and a clean stop hands
    over at the next round."""
    from operations.lag.sampler import sampler_lease_s
    from plumbing.locks import Lease, lease_holder
    from sync_workers.stores.value_state import connect_state

    settings = commerce_env.settings(ops={"lag_sample_s": 1.0})
    state = connect_state(settings)

    def lease_epoch() -> int:
        with state.cursor() as cur:
            cur.execute("SELECT epoch FROM leader_lease WHERE name = 'ops.lag_sampler'")
            epoch = int(cur.fetchone()[0])
        state.commit()
        return epoch

    try:
        dead = Lease(state, "ops.lag_sampler", sampler_lease_s(settings), 0.5, holder="dead-host:1:lag")
        wait_for(dead.try_acquire, 3 * sampler_lease_s(settings), "the lease free of earlier samplers")
        taken_at = time.monotonic()
        first, second = LagSampler(settings).start(), LagSampler(settings).start()
        try:
            wait_for(lambda: first.sampling or second.sampling, 3 * sampler_lease_s(settings),
                     "a live sampler taking the dead holder's lease")
            assert time.monotonic() - taken_at >= sampler_lease_s(settings) - 0.5  # not before it ran out
            holder, standby = (first, second) if first.sampling else (second, first)
            assert lease_holder(state, "ops.lag_sampler") == holder.holder
            term = lease_epoch()
            rounds, standby_rounds = holder.rounds, standby.rounds
            wait_for(lambda: holder.rounds >= rounds + 2, 30, "the holder sampling on")
            # one sampler at a time: while the holder's term lasts (the epoch moves on every take-over,
            # so an unchanged epoch means nobody else held the lease meanwhile) the standby samples
            # nothing; a holder that misses renewals for a whole lease on a loaded machine would
            # rightly hand over, which a point-in-time look at the holder cannot tell apart
            if lease_epoch() == term:
                assert not standby.sampling and standby.rounds == standby_rounds
            holder.stop()
            wait_for(lambda: standby.sampling and standby.rounds >= 1, 10 * settings.ops.lag_sample_s,
                     "the standby sampling after a clean stop")
        finally:
            first.stop()
            second.stop()
    finally:
        state.close()
