"""The sidecar on a secured Apache Kafka: SASL/SCRAM and TLS, secrets never on a command line or in a log.

One broker with a SCRAM-SHA-512 listener and a TLS listener (a throwaway CA made for the test).
The listener (and its publisher child), the inventory worker, the order poller and ``walmart-sync
lag`` each run as their own ``walmart-sync`` process configured only through the environment, as a
deployment passes secrets; a stock change must reach Walmart through the secured listener, and a
new Walmart order the secured topic.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaConsumer, TopicPartition

from config import load_settings
from devstack.apache_kafka import ApacheKafkaCluster, unavailable_reason
from devstack.environment import prepare_environment
from devstack.mariadb import free_port
from devstack.processes import child_pids
from devstack.stack import StackEndpoints
from devstack.walmart_emulator.app import WalmartEmulator, client_rate_limits
from devstack.walmart_emulator.server import EmulatorServer
from operations.ops_server import probe
from plumbing.kafka import connection_kwargs, topic_name
from tests.support.cdc_helpers import REPO, wait_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafkaCluster]:
    reason = unavailable_reason()
    if reason:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but Apache Kafka cannot run here: {reason}")
        pytest.skip(reason)
    cluster = ApacheKafkaCluster(tmp_path_factory.mktemp("secured-kafka"), brokers=1, sasl=True, ssl=True)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


def _kafka_env(cluster: ApacheKafkaCluster, protocol: str) -> dict[str, str]:
    if protocol == "SASL_PLAINTEXT":
        assert cluster.scram_user is not None
        return {"WALMART_SYNC_KAFKA__BOOTSTRAP_SERVERS": cluster.sasl_bootstrap_servers,
                "WALMART_SYNC_KAFKA__SECURITY_PROTOCOL": "SASL_PLAINTEXT",
                "WALMART_SYNC_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
                "WALMART_SYNC_KAFKA__SASL_USERNAME": cluster.scram_user.username,
                "WALMART_SYNC_KAFKA__SASL_PASSWORD": cluster.scram_user.password}
    return {"WALMART_SYNC_KAFKA__BOOTSTRAP_SERVERS": cluster.ssl_bootstrap_servers,
            "WALMART_SYNC_KAFKA__SECURITY_PROTOCOL": "SSL",
            "WALMART_SYNC_KAFKA__SSL_CAFILE": str(cluster.ssl_cafile)}


def _process(config: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen[bytes]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "--config", str(config), "--log-format",
                                 "json", *args], cwd=REPO, env={**base, **env}, stdout=out, stderr=out)


@pytest.mark.parametrize("protocol", ["SASL_PLAINTEXT", "SSL"])
def test_listener_worker_and_lag_on_a_secured_broker(stack, secured, tmp_path: Path, protocol: str) -> None:
    name = f"sec_{protocol.lower()}"
    kafka_env = _kafka_env(secured, protocol)
    env = prepare_environment(StackEndpoints(stack.endpoints.mysql, kafka_env["WALMART_SYNC_KAFKA__BOOTSTRAP_SERVERS"]),
                              tmp_path / "env", "open_source", products=10, name=name)
    sku = env.seed.skus[0]
    walmart_secret = env.settings().walmart.client_secret.get_secret_value()
    emulator = WalmartEmulator({"local-client": walmart_secret}, time_scale=60)
    emulator.seed_items("local-client", env.seed.skus)
    with EmulatorServer(emulator) as walmart:
        common = {**kafka_env, "WALMART_SYNC_WALMART__BASE_URL": walmart.url,
                  "WALMART_SYNC_WALMART__RATE_LIMITS": json.dumps(client_rate_limits(60)),
                  "WALMART_SYNC_WORKERS__COALESCE_MS": "50"}
        logs = tmp_path / "logs"
        logs.mkdir()
        ports = free_port(), free_port(), free_port()
        listener = _process(env.config_path, {**common, "WALMART_SYNC_OPS__PORT": str(ports[0])},
                            logs / "listener.log", "listen")
        worker = _process(env.config_path, {**common, "WALMART_SYNC_OPS__PORT": str(ports[1])},
                          logs / "inventory.log", "work", "inventory")
        poller = _process(env.config_path, {**common, "WALMART_SYNC_OPS__PORT": str(ports[2]),
                                            "WALMART_SYNC_WORKERS__ORDER_POLL_S": "0.5"},
                          logs / "order_poller.log", "work", "order_poller")
        try:
            # ready: the listener streams the binlog (a change before that precedes its start position)
            # and the worker has joined its group
            wait_for(lambda: all(probe("127.0.0.1", port, "/readyz")[0] for port in ports), 90,
                     f"the listener, the worker and the poller ready on the {protocol} listener")
            with env.admin_connection() as conn, conn.cursor() as cur:
                cur.execute("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES "
                            "('wh_east', %s, 41, 1) ON DUPLICATE KEY UPDATE quantity = 41, status = 1", (sku,))
                cur.execute("DELETE FROM inventory_reservation WHERE sku = %s", (sku,))
                cur.execute("UPDATE inventory_source_item SET status = 0 WHERE sku = %s AND source_code = 'wh_west'",
                            (sku,))
                conn.commit()
            # wh_east alone, in stock, no reservations: Walmart must show 41 (stock 2 = wh_east + wh_west)
            wait_for(lambda: emulator.seller("local-client").inventory.get((sku, "default")) == 41, 90,
                     f"the stock change to reach Walmart through the {protocol} listener")
            # the poller publishes a new Walmart order to the secured topic
            emulator.create_order("local-client", [{"sku": sku, "quantity": 1}])
            secured_settings = load_settings(env.config_path, environ=common)
            orders_topic = topic_name(secured_settings.kafka, "walmart_orders")
            reader = KafkaConsumer(**connection_kwargs(secured_settings.kafka, "secured-test"))
            try:
                wait_for(lambda: sum(reader.end_offsets(
                    [TopicPartition(orders_topic, p) for p in reader.partitions_for_topic(orders_topic) or ()]
                ).values()) >= 1, 90, f"the Walmart order on {orders_topic} through the {protocol} listener")
            finally:
                reader.close()
            lag = subprocess.run([sys.executable, "-m", "walmart_sync.cli", "--config", str(env.config_path), "lag",
                                  "--json", "--samples", "1"], capture_output=True, text=True, timeout=120, cwd=REPO,
                                 env={**{k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")},
                                      **common})
            report = json.loads(lag.stdout)
            inventory = next(s for s in report["stages"] if s["stage"] == "group:inventory")
            assert inventory["members"] == 1 and inventory["status"] in ("OK", "WARN"), inventory
            # no secret on any command line: the listener's publisher child included
            pids = [listener.pid, worker.pid, poller.pid, *child_pids(listener.pid), *child_pids(worker.pid)]
            command_lines = [Path(f"/proc/{pid}/cmdline").read_bytes() for pid in pids if Path(f"/proc/{pid}").exists()]
            assert len(command_lines) >= 4  # listener, its publisher, worker, poller
        finally:
            for process in (listener, worker, poller):
                process.terminate()
                process.wait(30)
    secret_values = [v for k, v in kafka_env.items() if k.endswith("PASSWORD")] + [
        env.settings().commerce_db.password.get_secret_value(), walmart_secret]
    for secret in secret_values:
        assert all(secret.encode() not in line for line in command_lines)
        for log in logs.iterdir():
            assert secret not in log.read_text(errors="replace"), log.name
