"""Price end to end: Commerce price rows -> listener -> worker -> Walmart emulator, both editions,
including special-price windows that open and close with no new event."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.support.cdc_helpers import wait_for, worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 31)]
# Magento judges special-price windows on the store's clock (Timezone::isScopeDateInInterval); the
# seed sets no general/locale/timezone, so it is Magento_Directory's default, America/Los_Angeles
STORE = ZoneInfo("America/Los_Angeles")


def store_now() -> datetime:
    return datetime.now(STORE).replace(tzinfo=None)


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def pipeline(request, stack, tmp_path_factory):
    with worker_pipeline(stack, tmp_path_factory.mktemp("prc"), request.param, "price", 30,
                         LISTED) as (env, _settings, emulator, _app, _loop):
        yield env, emulator


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

        yesterday, next_month = store_now() - timedelta(days=1), store_now() + timedelta(days=30)
        set_value(cur, env, "decimal", "price", "WS-000004", "40.00")
        set_value(cur, env, "datetime", "special_from_date", "WS-000004", yesterday)
        set_value(cur, env, "datetime", "special_to_date", "WS-000004", next_month)
        set_value(cur, env, "decimal", "special_price", "WS-000004", "29.50")
        until_price(emulator, "WS-000004", 29.5)
        set_value(cur, env, "decimal", "special_price", "WS-000004", "45.00")  # never above the price
        until_price(emulator, "WS-000004", 40.0)

        # A window that opens in two seconds, and closes two seconds later: no event at either edge.
        opens = store_now().replace(microsecond=0) + timedelta(seconds=3)
        set_value(cur, env, "decimal", "price", "WS-000007", "50.00")
        set_value(cur, env, "datetime", "special_to_date", "WS-000007", opens + timedelta(seconds=3))
        set_value(cur, env, "datetime", "special_from_date", "WS-000007", opens)
        set_value(cur, env, "decimal", "special_price", "WS-000007", "35.00")
        until_price(emulator, "WS-000007", 50.0)
    until_price(emulator, "WS-000007", 35.0, timeout=15)
    assert store_now() >= opens
    until_price(emulator, "WS-000007", 50.0, timeout=15)
    assert store_now() >= opens + timedelta(seconds=3)
