"""Price end to end: Commerce price rows -> listener -> worker -> Walmart emulator, both editions,
including special-price windows that open and close with no new event."""

from __future__ import annotations

import threading
import uuid
from datetime import datetime, timedelta

import pytest
import requests

from devstack.environment import prepare_environment
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.runner import build_worker
from tests.cdc_helpers import ListenerThread, wait_for

LISTED = [f"WS-{n:06d}" for n in range(1, 31)]


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def pipeline(request, stack, tmp_path_factory):
    name = f"prc_{request.param[:2]}_{uuid.uuid4().hex[:6]}"
    env = prepare_environment(stack.endpoints, tmp_path_factory.mktemp(name), request.param,
                              products=30, name=name)
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.1, 0.3))
    app.seed_items("local-client", LISTED)
    with EmulatorServer(app) as emulator:
        settings = env.settings(
            walmart={"base_url": emulator.url, "client_id": "local-client", "client_secret": "local-secret"},
            workers={"coalesce_ms": 50, "feed_poll_s": 0.2}, cdc={"checkpoint_interval_ms": 100})
        with ListenerThread(settings):
            loop = build_worker("price", settings)
            thread = threading.Thread(target=loop.run, daemon=True)
            thread.start()
            try:
                yield env, emulator
            finally:
                loop.stop()
                thread.join(30)


def walmart_price(emulator, sku: str) -> float | None:
    prices = requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()["prices"]
    return prices.get(sku, {}).get("currentPrice", {}).get("amount")


def until_price(emulator, sku: str, expected: float, timeout: float = 30) -> None:
    wait_for(lambda: walmart_price(emulator, sku) == expected, timeout,
             f"Walmart price of {sku} to be {expected} (is {walmart_price(emulator, sku)})")


def set_value(cur, env, table: str, code: str, sku: str, value) -> None:
    """Upsert an EAV value at the default store for the SKU's live row (entity or staging)."""
    link = "row_id" if env.edition == "adobe_commerce" else "entity_id"
    live = " AND created_in <= UNIX_TIMESTAMP() AND updated_in > UNIX_TIMESTAMP()" if link == "row_id" else ""
    cur.execute(f"INSERT INTO catalog_product_entity_{table} (attribute_id, store_id, {link}, value) "
                f"SELECT %s, 0, {link}, %s FROM catalog_product_entity WHERE sku = %s{live} "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (env.seed.attribute_ids[code], value, sku))


def test_price_and_special_price_windows(pipeline) -> None:
    env, emulator = pipeline
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_value(cur, env, "decimal", "price", "WS-000003", "24.99")
        until_price(emulator, "WS-000003", 24.99)

        yesterday, next_month = datetime.now() - timedelta(days=1), datetime.now() + timedelta(days=30)
        set_value(cur, env, "decimal", "price", "WS-000004", "40.00")
        set_value(cur, env, "datetime", "special_from_date", "WS-000004", yesterday)
        set_value(cur, env, "datetime", "special_to_date", "WS-000004", next_month)
        set_value(cur, env, "decimal", "special_price", "WS-000004", "29.50")
        until_price(emulator, "WS-000004", 29.5)
        set_value(cur, env, "decimal", "special_price", "WS-000004", "45.00")  # never above the price
        until_price(emulator, "WS-000004", 40.0)

        # A window that opens in two seconds, and closes two seconds later: no event at either edge.
        opens = datetime.now().replace(microsecond=0) + timedelta(seconds=3)
        set_value(cur, env, "decimal", "price", "WS-000007", "50.00")
        set_value(cur, env, "datetime", "special_to_date", "WS-000007", opens + timedelta(seconds=3))
        set_value(cur, env, "datetime", "special_from_date", "WS-000007", opens)
        set_value(cur, env, "decimal", "special_price", "WS-000007", "35.00")
        until_price(emulator, "WS-000007", 50.0)
    until_price(emulator, "WS-000007", 35.0, timeout=15)
    assert datetime.now() >= opens
    until_price(emulator, "WS-000007", 50.0, timeout=15)
    assert datetime.now() >= opens + timedelta(seconds=3)
