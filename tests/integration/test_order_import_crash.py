"""kill -9 of the order importer at its worst moments, then a restart: still exactly one Commerce
order per Walmart PO, and every PO acknowledged.

- ``after_create``: Commerce (the module's POST /V1/walmart-sync/orders) writes the order at once
  but answers 1.5 s later; the kill lands after the order exists and before the importer recorded
  it. The restarted importer asks again and the module answers the order it placed.
- ``before_ack``: Walmart applies the acknowledgement at once and answers 1.5 s later; the kill
  lands after the order is recorded and before the importer's acknowledgement step knows Walmart
  has the ack (the claim it left is taken over once stale).
"""

from __future__ import annotations

import signal
import uuid

import pytest

from devstack.commerce_emulator.app import CommerceEmulator, CommerceFaults
from devstack.mariadb import free_port
from devstack.walmart_emulator.app import FaultConfig, WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import cli_process, wait_for

TOKEN = "commerce-integration-token"
ORDERS = 4


@pytest.mark.parametrize("moment", ["after_create", "before_ack"])
def test_kill_9_then_restart_imports_each_po_once(stack, tmp_path, moment) -> None:
    from devstack.environment import prepare_environment

    env = prepare_environment(stack.endpoints, tmp_path, "adobe_commerce", products=10,
                              name=f"oic_{moment[:5]}_{uuid.uuid4().hex[:6]}")
    walmart = WalmartEmulator({"local-client": "local-secret"})
    walmart.seed_items("local-client", [f"WS-{n:06d}" for n in range(1, 11)])
    commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), TOKEN)
    with EmulatorServer(walmart) as walmart_server, EmulatorServer(commerce) as commerce_server:
        overrides = (f"walmart.base_url={walmart_server.url}", "walmart.client_id=local-client",
                     "walmart.client_secret=local-secret", f"commerce_api.base_url={commerce_server.url}",
                     f"commerce_api.token={TOKEN}", "commerce_api.store_code=walmart_us",
                     "workers.order_poll_s=0.3", "workers.coalesce_ms=20",
                     "kafka.consumer_defaults.session_timeout_ms=6000",
                     "kafka.consumer_defaults.heartbeat_interval_ms=2000")
        pos = [walmart.create_order("local-client", [{"sku": f"WS-{n + 1:06d}", "quantity": 1, "unitPrice": 9.5}])
               .purchase_order_id for n in range(ORDERS)]
        if moment == "after_create":
            commerce.faults = CommerceFaults(place_order_delay_s=1.5)
            reached = lambda: commerce.calls.get("module_place", 0) >= 2  # noqa: E731
        else:
            walmart.faults = FaultConfig(answer_delay_s=1.5)
            reached = lambda: walmart.seller("local-client").calls.get("order_acknowledge", 0) >= 2  # noqa: E731
        first = cli_process(env.config_path, "run", "--only", "order_poller,order_import",
                            overrides=(*overrides, f"ops.port={free_port()}"))
        try:
            wait_for(reached, 60, f"the importer to reach {moment}")
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        finally:
            if first.poll() is None:
                first.kill()
        commerce.faults = CommerceFaults()
        walmart.faults = FaultConfig()
        restarted = cli_process(env.config_path, "run", "--only", "order_poller,order_import",
                                overrides=(*overrides, f"ops.port={free_port()}"))
        orders = OrderMap(connect_state(env.settings()))
        try:
            wait_for(lambda: all((s := orders.state(po)) and s.status == "acknowledged" for po in pos), 60,
                     "every PO imported and acknowledged after the restart")
        except AssertionError:
            restarted.terminate()
            states = {po: orders.state(po) for po in pos}
            log = restarted.communicate(timeout=20)[1]
            raise AssertionError(f"{states}\n{log[-4000:]}") from None
        finally:
            if restarted.poll() is None:
                restarted.send_signal(signal.SIGTERM)
                restarted.communicate(timeout=30)
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT ext_order_id, COUNT(*) FROM sales_order GROUP BY ext_order_id")
        per_po = dict(cur.fetchall())
    assert per_po == {po: 1 for po in pos}  # one order each, and no order without its PO
    seller = walmart.seller("local-client")
    assert all(line.statuses[0].status == "Acknowledged" for po in pos for line in seller.orders[po].lines)
