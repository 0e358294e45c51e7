"""`cdc.source = "debezium"`: a real Debezium (3.6.1 embedded engine, MySQL connector, from Maven)
reads a real MariaDB into real Kafka; the translation stage turns its per-table topics into the
sidecar's change events and the real workers push them to the Walmart emulator.

The oracle for "same result as through the listener" is the listener itself, run beside it on the
same database into topics of its own prefix: both sources must publish the same events (family,
type, op, key, entity, before, after) for the same row changes, and Walmart must show what the
listener's own worker tests show for the same changes (test_run_command, test_shipment_worker,
test_refund_worker).
"""

from __future__ import annotations

import os
import threading
import uuid
from pathlib import Path

import pytest

from cdc_debezium.preflight import check_debezium_topics
from cdc_debezium.stage import DebeziumTranslator
from cdc_listener.translate import WATCHED_TABLES
from devstack.stack import StackEndpoints
from operations.lag.cli import take_report
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.integration.test_inventory_worker import set_source
from tests.integration.test_price_worker import set_value
from tests.integration.test_refund_worker import credit_memo, refunds
from tests.integration.test_shipment_worker import ship, walmart_lines
from tests.support.cdc_helpers import ListenerThread, TopicReader, create_order, emulator_state, wait_for


def _require_debezium() -> None:
    from devstack.debezium import unavailable_reason

    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but Debezium cannot run here: {reason}")
    pytest.skip(f"Debezium cannot run here: {reason}")


class _Thread:
    def __init__(self, target, stop) -> None:
        self.error: BaseException | None = None
        self._stop = stop

        def run() -> None:
            try:
                target()
            except BaseException as exc:  # surfaced to the test
                self.error = exc

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self._stop()
        self.thread.join(30)


def _comparable(events: list[dict]) -> list[tuple]:
    import json

    return sorted((e["family"], e["type"], e["op"], e["key"], json.dumps(e["entity"], sort_keys=True),
                   json.dumps(e["before"], sort_keys=True), json.dumps(e["after"], sort_keys=True))
                  for e in events)


def test_debezium_topics_reach_walmart_like_the_listener_and_a_restart_loses_nothing(stack, tmp_path) -> None:
    _require_debezium()
    from devstack.debezium import DEBEZIUM_MARIADB_ARGS, DebeziumRunner
    from devstack.environment import prepare_environment
    from devstack.mariadb import MariaDBServer
    from devstack.walmart_emulator.app import WalmartEmulator
    from devstack.walmart_emulator.server import EmulatorServer
    from walmart_sync.components import build_worker

    # Debezium's MySQL connector on a MariaDB that reports an 8.0 version (devstack/debezium.py)
    mariadb = MariaDBServer(tmp_path / "mariadb", extra_args=DEBEZIUM_MARIADB_ARGS)
    mariadb.start()
    try:
        endpoints = StackEndpoints(mariadb.endpoint, stack.endpoints.bootstrap_servers)
        name = f"dbz_{uuid.uuid4().hex[:6]}"
        env = prepare_environment(endpoints, tmp_path / "env", "open_source", products=20, name=name)
        app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.1, 0.3))
        app.seed_items("local-client", [f"WS-{n:06d}" for n in range(1, 21)])
        debezium = DebeziumRunner(mariadb.endpoint, stack.endpoints.bootstrap_servers, env.commerce_db,
                                  list(WATCHED_TABLES), tmp_path / "debezium", topic_prefix=f"{name}_cdc")
        with EmulatorServer(app) as emulator:
            walmart = {"base_url": emulator.url, "client_id": "local-client", "client_secret": "local-secret"}
            common = {"workers": {"coalesce_ms": 50, "feed_poll_s": 0.2, "park_retry_s": 0.5},
                      "cdc": {"checkpoint_interval_ms": 100}}
            settings = env.settings(walmart=walmart, **{
                **common, "kafka": {"topic_prefix": f"{name}-dbz"},
                "cdc": {"source": "debezium", "debezium": {"topic_prefix": f"{name}_cdc"}}})
            listener_settings = env.settings(walmart=walmart, **{**common, "kafka": {"topic_prefix": f"{name}-lis"}})
            debezium.start()
            translator = DebeziumTranslator(settings)
            threads = [_Thread(translator.run, translator.stop)]
            try:
                with ListenerThread(listener_settings):
                    wait_for(lambda: translator.streaming.is_set() or threads[0].error, 60, "translator polling")
                    for worker in ("inventory", "price", "shipment", "refund"):
                        loop = build_worker(worker, settings)
                        threads.append(_Thread(loop.run, loop.stop))
                    state = lambda: emulator_state(emulator)  # noqa: E731

                    # stock and price, as in test_run_command
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        set_source(cur, "WS-000003", "wh_east", 17, 1)
                        set_source(cur, "WS-000003", "wh_west", 0, 0)
                        set_value(cur, env, "decimal", "price", "WS-000004", 23.45)
                    wait_for(lambda: state()["inventory"].get("WS-000003@default") == 17, 60, "Walmart quantity 17")
                    wait_for(lambda: state()["prices"].get("WS-000004", {}).get("currentPrice", {}).get("amount")
                             == 23.45, 60, "Walmart price 23.45")

                    # a shipment and a credit memo of a Walmart order
                    order = app.create_order("local-client", [
                        {"sku": "WS-000006", "quantity": 2, "unitPrice": 10, "shippingPrice": 3}])
                    po = order.purchase_order_id
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        order_id, items = create_order(cur, "2000000042", ["WS-000006"])
                    OrderMap(connect_state(settings)).record(po, order.customer_order_id, order_id, "2000000042",
                                                             [("1", items[0], "WS-000006", 2)])
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        ship(cur, order_id, {items[0]: 2}, track=("1Z999AA10123456784", "ups", "UPS"))
                        cur.execute("UPDATE sales_order_item SET qty_shipped = 2 WHERE item_id = %s", (items[0],))
                    wait_for(lambda: walmart_lines(emulator, po) == {"1": {"Shipped": 2}}, 60, "the line shipped")
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        credit_memo(cur, order_id, {items[0]: (1, 10.0, 0.8)}, shipping=3.0)
                    wait_for(lambda: refunds(app, po)["1"], 60, "the credit memo refunded")
                    assert refunds(app, po) == {"1": [("PRODUCT", -10.0), ("SHIPPING", -3.0)]}

                    # Debezium stopped; changes meanwhile are in the binlog; a restart resumes from its
                    # offsets and nothing is lost
                    debezium.stop()
                    with env.admin_connection() as conn, conn.cursor() as cur:
                        set_source(cur, "WS-000008", "wh_east", 5, 1)
                        set_value(cur, env, "decimal", "price", "WS-000009", 41.5)
                    debezium.start()
                    wait_for(lambda: state()["inventory"].get("WS-000008@default") == 5, 60,
                             "the change made while Debezium was down")
                    wait_for(lambda: state()["prices"].get("WS-000009", {}).get("currentPrice", {}).get("amount")
                             == 41.5, 60, "the price change made while Debezium was down")
                    assert [t.error for t in threads] == [None] * len(threads)

                    # the same events as the listener's, for every row change above
                    via_listener = TopicReader(stack.endpoints.bootstrap_servers, f"{name}-lis")
                    via_debezium = TopicReader(stack.endpoints.bootstrap_servers, f"{name}-dbz")
                    try:
                        lis = via_listener.until(lambda ev: any(e["key"] == "WS-000009" for e in ev), 30,
                                                 "the listener's events")
                        dbz = via_debezium.until(lambda ev: len(ev) >= len(lis), 30, "the translated events")
                        assert _comparable(dbz) == _comparable(lis)
                        assert len({e["event_id"] for e in dbz}) == len(dbz)
                        assert {e["family"] for e in dbz} >= {"stock", "price", "shipment", "refund"}
                        # config check --connect: the topics the changes above created carry every column
                        checks = {f.check: f for f in check_debezium_topics(settings)}
                        for table in ("inventory_source_item", "sales_shipment", "sales_creditmemo_item"):
                            assert checks[f"debezium {table}"].ok and not checks[f"debezium {table}"].warning, \
                                checks[f"debezium {table}"]
                        assert checks["debezium cataloginventory_stock_item"].warning  # no change, no topic yet
                        # lag: Debezium's own position from its topics, then the translation group's lag
                        rows = {row.stage: row for row in take_report(settings, 2.0, 2, 0.2).stages}
                        assert rows["debezium"].detail.startswith("Debezium's newest record at binlog."), rows["debezium"]
                        assert "server at binlog." in rows["debezium"].detail
                        translation = rows["group:debezium-translate"]
                        assert translation.lag_messages == 0 and translation.partitions, translation
                    finally:
                        via_listener.close()
                        via_debezium.close()
            finally:
                for thread in reversed(threads):
                    thread.close()
                debezium.stop()
    finally:
        mariadb.stop()


def test_debezium_runner_writes_its_password_only_to_a_private_file(tmp_path: Path) -> None:
    from devstack.debezium import DebeziumRunner
    from devstack.mariadb import MySqlEndpoint

    runner = DebeziumRunner(MySqlEndpoint("127.0.0.1", 1, "root", "s3cr=t:#x"), "127.0.0.1:9", "magento",
                            ["sales_order"], tmp_path)
    runner._write_properties()
    text = runner.properties_path.read_text()
    assert oct(runner.properties_path.stat().st_mode & 0o777) == "0o600"
    assert "database.password=s3cr\\=t\\:\\#x" in text
    assert "s3cr" not in " ".join(runner.connector_properties().values())
