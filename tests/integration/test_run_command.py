"""`walmart-sync run`: the listener and every worker in one process, stopped cleanly by SIGTERM."""

from __future__ import annotations

import signal
import uuid

import requests

from devstack.mariadb import free_port
from tests.integration.test_inventory_worker import set_source
from tests.integration.test_price_worker import set_value
from tests.support.cdc_helpers import cli_process, wait_for


def test_run_syncs_stock_and_price_and_stops_cleanly(stack, tmp_path) -> None:
    from devstack.environment import prepare_environment
    from devstack.walmart_emulator.app import WalmartEmulator, client_rate_limits
    from devstack.walmart_emulator.server import EmulatorServer

    env = prepare_environment(stack.endpoints, tmp_path, "open_source", products=10,
                              name=f"run_{uuid.uuid4().hex[:6]}")
    # Walmart's limits sped up x60: `--from current` marks a full comparison due, and the initial
    # load's pushes must not spend the hourly price budget the change below needs
    app = WalmartEmulator({"local-client": "local-secret"}, time_scale=60)
    limits = [f"walmart.rate_limits.{api}.{key}={value}" for api, limit in client_rate_limits(60).items()
              for key, value in limit.items()]
    app.seed_items("local-client", [f"WS-{n:06d}" for n in range(1, 11)])
    port = free_port()
    with EmulatorServer(app) as emulator:
        proc = cli_process(env.config_path, "run", "--from", "current", overrides=(
            f"walmart.base_url={emulator.url}", "walmart.client_id=local-client",
            "walmart.client_secret=local-secret", "workers.coalesce_ms=20", f"ops.port={port}",
            "kafka.consumer_defaults.session_timeout_ms=6000", "kafka.consumer_defaults.heartbeat_interval_ms=2000",
            *limits))
        try:
            def ready() -> bool:
                try:
                    return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
                except requests.ConnectionError:
                    return False
            wait_for(ready, 60, "every component ready")
            checks = requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).json()["checks"]
            assert set(checks) == {"listener", "inventory", "price", "shipment", "cancellation", "refund",
                                   "order_import", "order_poller", "return_import", "return_poller", "listings",
                                   "reconciler"}
            with env.admin_connection() as conn, conn.cursor() as cur:
                set_source(cur, "WS-000003", "wh_east", 17, 1)
                set_source(cur, "WS-000003", "wh_west", 0, 0)
                set_value(cur, env, "decimal", "price", "WS-000004", 23.45)
            state = lambda: requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()  # noqa: E731
            wait_for(lambda: state()["inventory"].get("WS-000003@default") == 17, 30, "Walmart quantity 17")
            wait_for(lambda: state()["prices"].get("WS-000004", {}).get("currentPrice", {}).get("amount") == 23.45, 30,
                     "Walmart price 23.45")
        except AssertionError as exc:
            proc.terminate()
            raise AssertionError(f"{exc}\n{proc.communicate(timeout=60)[1][-5000:]}") from None
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-3000:]
    assert '"component failed' not in err


def test_run_refuses_unknown_components(stack, tmp_path) -> None:
    from devstack.environment import prepare_environment

    env = prepare_environment(stack.endpoints, tmp_path, "open_source", products=1,
                              name=f"runx_{uuid.uuid4().hex[:6]}")
    proc = cli_process(env.config_path, "run", "--only", "listener,invntory")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "invntory" in err and "inventory" in err
