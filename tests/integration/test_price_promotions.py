"""Promotions with a was-price end to end (issue 20, ``price.promotions = "promotions"``): Commerce
special prices -> listener -> price worker -> the Walmart emulator, which models Walmart's
promotional prices with its own code (devstack/walmart_emulator/promotions.py) and refuses what
Walmart refuses. The promotional price is checked against the final-price oracle
(devstack/oracles/prices.py, which shares no code with mappings/); the regular price and the dates
are worked out by hand in each assertion."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from kafka import KafkaConsumer

from devstack.agreement import check_inventory_and_price
from devstack.oracles.prices import final_prices
from operations.sku_lookup import look_up_sku, render
from sync_workers.runtime.loop import dlq_topic
from sync_workers.stores.value_state import connect_state
from sync_workers.walmart.client import WalmartClient
from tests.support.cdc_helpers import wait_for, worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 13)]
# Magento judges special-price windows on the store's clock (Timezone::isScopeDateInInterval); the
# seed sets no general/locale/timezone: Magento_Directory's default, America/Los_Angeles
STORE = ZoneInfo("America/Los_Angeles")
HOUR_MS = 3_600_000


def store_now() -> datetime:
    return datetime.now(STORE).replace(tzinfo=None)


def ms(wall: datetime) -> int:
    """A store wall-clock moment as Walmart's epoch milliseconds."""
    return int(wall.replace(tzinfo=STORE).timestamp() * 1000)


@pytest.fixture(scope="module")
def pipeline(stack, tmp_path_factory):
    with worker_pipeline(stack, tmp_path_factory.mktemp("promo"), "open_source", "price", 12, LISTED,
                         price={"promotions": "promotions"}) as (env, settings, emulator, app, loop):
        yield env, settings, emulator, app, loop


def walmart(emulator: Any) -> dict[str, Any]:
    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()


def set_value(cur: Any, env: Any, table: str, code: str, sku: str, value: Any) -> None:
    """The default-store EAV row, as Magento\\Catalog\\Model\\ResourceModel\\Product saves it."""
    cur.execute(f"INSERT INTO catalog_product_entity_{table} (attribute_id, store_id, entity_id, value) "
                "SELECT %s, 0, entity_id, %s FROM catalog_product_entity WHERE sku = %s "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (env.seed.attribute_ids[code], value, sku))


def special(cur: Any, env: Any, sku: str, price: str, special_price: str, starts: datetime, ends: datetime) -> None:
    set_value(cur, env, "decimal", "price", sku, price)
    set_value(cur, env, "datetime", "special_from_date", sku, starts)
    set_value(cur, env, "datetime", "special_to_date", sku, ends)
    set_value(cur, env, "decimal", "special_price", sku, special_price)


def promotions_of(emulator: Any, sku: str) -> list[dict[str, Any]]:
    return walmart(emulator)["promotions"].get(sku, [])


def test_a_special_price_lands_as_a_promotion_with_the_regular_price_as_its_was_price(pipeline) -> None:
    env, settings, emulator, _app, _loop = pipeline
    yesterday, next_month = store_now() - timedelta(days=1), (store_now() + timedelta(days=30)).replace(
        hour=0, minute=0, second=0, microsecond=0)
    opens = (store_now() + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0)
    sent_after = time.time()
    with env.admin_connection() as conn, conn.cursor() as cur:
        special(cur, env, "WS-000004", "40.00", "29.50", yesterday, next_month)   # open since yesterday
        special(cur, env, "WS-000005", "50.00", "35.00", opens, opens.replace(hour=0) + timedelta(days=2))
    wait_for(lambda: promotions_of(emulator, "WS-000004") and promotions_of(emulator, "WS-000005"), 30,
             f"both promotions on Walmart (are {walmart(emulator)['promotions']})")
    sent_before = time.time()
    seen = walmart(emulator)
    # the BASE price stays the regular one: the saving is the promotion's
    assert seen["prices"]["WS-000004"]["currentPrice"]["amount"] == 40.0
    assert seen["prices"]["WS-000005"]["currentPrice"]["amount"] == 50.0
    [open_one] = promotions_of(emulator, "WS-000004")
    assert open_one["currentPriceType"] == "REDUCED"
    assert open_one["currentPrice"]["value"]["amount"] == 29.5
    assert open_one["comparisonPriceType"] == "BASE" and open_one["comparisonPrice"]["value"]["amount"] == 40.0
    # opened yesterday, sooner than Walmart takes a promotion: sent from 4 h + the 1 h margin ahead
    assert (sent_after + 5 * 3600) * 1000 <= open_one["effectiveDate"] <= (sent_before + 5 * 3600 + 120) * 1000
    # through the whole of special_to_date on the store's clock
    assert open_one["expirationDate"] == ms(next_month + timedelta(days=1))
    [future] = promotions_of(emulator, "WS-000005")
    assert (future["effectiveDate"], future["expirationDate"]) == (ms(opens), ms(opens.replace(hour=0) + timedelta(days=3)))
    assert future["currentPrice"]["value"]["amount"] == 35.0 and future["comparisonPrice"]["value"]["amount"] == 50.0

    with env.admin_connection() as commerce:
        oracle_now = final_prices(commerce, ["WS-000004"], settings.mapping.store_id)
        oracle_then = final_prices(commerce, ["WS-000005"], settings.mapping.store_id,
                                   at=opens.replace(tzinfo=STORE) + timedelta(minutes=1))
    assert float(oracle_now["WS-000004"]) == open_one["currentPrice"]["value"]["amount"]
    assert float(oracle_then["WS-000005"]) == future["currentPrice"]["value"]["amount"]
    with env.admin_connection() as commerce:  # the agreement check: BASE is the oracle's regular price
        _inventory, price = check_inventory_and_price(settings, _app, "local-client", commerce,
                                                      ["WS-000004", "WS-000005"])
    # two BASE prices and the two promotions Walmart holds, each judged at its first and last second
    assert price.checked == 4 and price.note == "2 of them Walmart promotions" and not price.lost, price.describe()

    # support staff see the promotion sent, and why it starts later than the window
    state = connect_state(settings)
    try:
        with env.admin_connection() as commerce:
            found = look_up_sku(settings, "WS-000004", commerce, state, WalmartClient(settings.walmart))
    finally:
        state.close()
    assert found.price is not None and found.price.final_price == "40.00"
    assert found.price.promotion is not None and "special price 29.50 as REDUCED" in found.price.promotion
    assert "sooner than Walmart takes a promotion" in found.price.promotion
    assert "promotion      special price 29.50 as REDUCED" in render(found)
    assert found.sent["price"].value.startswith("40.00 R29.50 ")
    assert not any(line.startswith("price:") and "a push is due" in line for line in found.findings), found.findings
    assert any(line.startswith("price: promotion special price 29.50") for line in found.findings), found.findings


def test_a_promotion_walmart_refuses_is_dead_lettered_with_its_reason_and_nothing_lands(pipeline) -> None:
    env, settings, emulator, app, _loop = pipeline
    # a promotion set up in Seller Center that starts in 2 h: Walmart will not cancel it now
    app.seed_promotion("local-client", "WS-000006", 9.0, time.time() + 2 * 3600, time.time() + 30 * 3600,
                       comparison=20.0)
    with env.admin_connection() as conn, conn.cursor() as cur:
        special(cur, env, "WS-000006", "20.00", "15.00", store_now() + timedelta(days=2),
                store_now() + timedelta(days=4))
    consumer = KafkaConsumer(dlq_topic(settings, "price"), bootstrap_servers=env.endpoints.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    letters: list[Any] = []

    def refused() -> bool:
        letters.extend(m for m in consumer if json.loads(m.value).get("sku") == "WS-000006")
        return bool(letters)

    wait_for(refused, 45, "the refused promotion's dead letter")
    consumer.close()
    headers = dict(letters[0].headers)
    assert headers["dlq.error.code"].decode() == "ERR_EXT_DATA_0101132"
    assert "Walmart refused the price update" in headers["dlq.reason"].decode()
    assert "4 hours" in headers["dlq.reason"].decode()
    # nothing of the refused update landed: Seller Center's promotion stands, the BASE price is untouched
    [standing] = promotions_of(emulator, "WS-000006")
    assert standing["currentPrice"]["value"]["amount"] == 9.0
    assert walmart(emulator)["prices"].get("WS-000006", {}).get("currentPrice", {}).get("amount") != 20.0
    state = connect_state(settings)
    try:
        with state.cursor() as cur:
            cur.execute("SELECT last_error FROM walmart_values WHERE kind = 'price' AND sku = 'WS-000006'")
            (error,) = cur.fetchone()
    finally:
        state.close()
    assert "ERR_EXT_DATA_0101132" in error


def test_a_promotion_shows_in_its_window_and_ends_on_time(pipeline) -> None:
    """Last in the module: it moves Walmart's clock days ahead of the sidecar's."""
    env, settings, emulator, app, _loop = pipeline
    day = (store_now() + timedelta(days=2)).replace(hour=0, minute=0, second=0, microsecond=0)
    with env.admin_connection() as conn, conn.cursor() as cur:
        special(cur, env, "WS-000007", "60.00", "45.00", day, day)  # that one whole day
    wait_for(lambda: promotions_of(emulator, "WS-000007"), 30, "the promotion on Walmart")
    [promo] = promotions_of(emulator, "WS-000007")
    assert (promo["effectiveDate"], promo["expirationDate"]) == (ms(day), ms(day + timedelta(days=1)))

    def shown() -> dict[str, Any]:
        return walmart(emulator)["shown_prices"]["WS-000007"]

    assert shown()["currentPriceType"] == "BASE" and shown()["currentPrice"] == 60.0
    clock = requests.post(f"{emulator.url}/_emulator/clock", timeout=5,
                          json={"advance_s": (promo["effectiveDate"] / 1000 - app.wall_now()) + 60})
    assert clock.ok
    now = shown()
    assert (now["currentPriceType"], now["currentPrice"], now["comparisonPrice"]) == ("REDUCED", 45.0, 60.0)
    with env.admin_connection() as commerce:  # and the promotion shown is the oracle's final price then
        _inventory, price = check_inventory_and_price(settings, app, "local-client", commerce, ["WS-000007"],
                                                      at=datetime.fromtimestamp(app.wall_now(), UTC))
    assert price.checked == 2 and price.note == "1 of them Walmart promotions" and not price.lost, price.describe()
    requests.post(f"{emulator.url}/_emulator/clock", timeout=5,
                  json={"advance_s": (promo["expirationDate"] / 1000 - app.wall_now()) + 1})
    assert shown() == {"currentPriceType": "BASE", "currentPrice": 60.0, "comparisonPrice": None}
    assert promotions_of(emulator, "WS-000007") == []
    assert promo["expirationDate"] - promo["effectiveDate"] == 24 * HOUR_MS
