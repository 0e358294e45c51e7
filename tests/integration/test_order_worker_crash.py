"""kill -9 of an order worker while Walmart is applying its batch: after a restart every PO line
ends exactly as Commerce says, and Walmart received each shipment, cancellation and refund once.

The emulator applies each write at once but answers a second later, so the kill lands after
Walmart's change and before the worker saw the answer or committed its offsets: the worst moment.
"""

from __future__ import annotations

import signal
import uuid

import pytest

from devstack.mariadb import free_port
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.integration.test_refund_worker import credit_memo
from tests.integration.test_shipment_worker import ship
from tests.support.cdc_helpers import ListenerThread, cli_process, create_order, emulator_state, wait_for

ORDERS = 6
API = {"shipment": "order_shipping", "cancellation": "order_cancel", "refund": "order_refund"}


def change_in_commerce(worker: str, cur, order_id: int, item_id: int) -> None:
    if worker == "shipment":
        ship(cur, order_id, {item_id: 2}, track=("1Z999AA1", "ups", "UPS"))
    elif worker == "cancellation":
        cur.execute("UPDATE sales_order_item SET qty_canceled = 2 WHERE item_id = %s", (item_id,))
    else:
        credit_memo(cur, order_id, {item_id: (2, 10.0, 0.8)})


def settled(worker: str, line: dict) -> bool:
    if worker == "shipment":
        return line == {"Shipped": 2}
    if worker == "cancellation":
        return line == {"Cancelled": 2}
    return False


@pytest.mark.parametrize("worker", ["shipment", "cancellation", "refund"])
def test_kill_9_mid_batch_then_restart_applies_each_change_once(stack, tmp_path, worker) -> None:
    from devstack.environment import prepare_environment
    from devstack.walmart_emulator.app import FaultConfig, WalmartEmulator
    from devstack.walmart_emulator.server import EmulatorServer

    env = prepare_environment(stack.endpoints, tmp_path, "open_source", products=10,
                              name=f"crash_{worker[:4]}_{uuid.uuid4().hex[:6]}")
    app = WalmartEmulator({"local-client": "local-secret"})
    app.seed_items("local-client", [f"WS-{n:06d}" for n in range(1, 11)])
    with EmulatorServer(app) as emulator:
        settings = env.settings(walmart={"base_url": emulator.url, "client_id": "local-client",
                                         "client_secret": "local-secret"},
                                cdc={"checkpoint_interval_ms": 100})
        orders = OrderMap(connect_state(settings))
        placed = []
        with env.admin_connection() as conn, conn.cursor() as cur:
            for n in range(ORDERS):
                walmart = app.create_order("local-client", [{"sku": f"WS-{n + 1:06d}", "quantity": 2,
                                                             "unitPrice": 5}])
                if worker == "refund":
                    walmart.lines[0].statuses[0].status = "Shipped"
                order_id, items = create_order(cur, f"30000{n:05d}", [f"WS-{n + 1:06d}"])
                if worker == "refund":
                    cur.execute("UPDATE sales_order_item SET qty_shipped = 2 WHERE item_id = %s", (items[0],))
                orders.record(walmart.purchase_order_id, walmart.customer_order_id, order_id, f"30000{n:05d}",
                              [("1", items[0], f"WS-{n + 1:06d}", 2)])
                placed.append((walmart.purchase_order_id, order_id, items[0]))
        overrides = (f"walmart.base_url={emulator.url}", "walmart.client_id=local-client",
                     "walmart.client_secret=local-secret", "workers.coalesce_ms=20",
                     # a restarted member rejoins in about half the session timeout on the local broker
                     "kafka.consumer_defaults.session_timeout_ms=6000",
                     "kafka.consumer_defaults.heartbeat_interval_ms=2000")
        app.faults = FaultConfig(answer_delay_s=1.0)
        with ListenerThread(settings):
            proc = cli_process(env.config_path, "work", worker, overrides=(*overrides, f"ops.port={free_port()}"))
            try:
                with env.admin_connection() as conn, conn.cursor() as cur:
                    for _, order_id, item_id in placed:
                        change_in_commerce(worker, cur, order_id, item_id)
                wait_for(lambda: emulator_state(emulator)["calls"].get(API[worker], 0) >= 2, 60,
                         "Walmart to apply part of the batch")
                proc.send_signal(signal.SIGKILL)
                first_log = proc.communicate(timeout=10)[1]
            finally:
                if proc.poll() is None:
                    proc.kill()
            applied_before_restart = emulator_state(emulator)["calls"][API[worker]]
            assert applied_before_restart < ORDERS  # the kill really interrupted the batch
            app.faults = FaultConfig()
            restarted = cli_process(env.config_path, "work", worker, overrides=(*overrides, f"ops.port={free_port()}"))
            try:
                if worker == "refund":
                    done = lambda: all(app.seller("local-client").orders[po].lines[0].refunds  # noqa: E731
                                       for po, _, _ in placed)
                else:
                    done = lambda: all(settled(worker, emulator_state(emulator)["orders"][po]["1"])  # noqa: E731
                                       for po, _, _ in placed)
                try:
                    wait_for(done, 60, f"every {worker} to reach Walmart")
                except AssertionError:
                    restarted.terminate()
                    raise AssertionError(f"{emulator_state(emulator)['orders']} applied before restart: "
                                         f"{applied_before_restart}\n" + first_log[-3000:] + "\n----\n"
                                         + restarted.communicate(timeout=20)[1][-4000:]) from None
            finally:
                if restarted.poll() is None:
                    restarted.terminate()
                out, err = restarted.communicate(timeout=20)
    assert app.seller("local-client").calls[API[worker]] == ORDERS, err[-3000:]
    if worker == "refund":
        for po, _, _ in placed:
            charges = [c["charge"]["chargeAmount"]["amount"]
                       for r in app.seller("local-client").orders[po].lines[0].refunds
                       for c in r["refundCharges"]["refundCharge"]]
            assert charges == [-10.0]
