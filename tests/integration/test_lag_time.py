"""Lag time end to end (issue 20, ``[lag_time]``): a product attribute (else the default) ->
the inventory worker's lag-time check -> Walmart's lagtime feed -> the emulator, which models the
feed and GET /v3/lagtime as lag-time.yml defines them and refuses 2 days or more without
Walmart's approval (devstack/walmart_emulator/feeds.py)."""

from __future__ import annotations

from typing import Any

import requests

from operations.sku_lookup import look_up_sku, render
from sync_workers.stores.value_state import connect_state
from sync_workers.walmart.client import WalmartClient
from tests.support.cdc_helpers import wait_for, worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 7)]
ATTRIBUTE = "walmart_lag_time"


def lag_times(emulator: Any) -> dict[str, int]:
    return requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()["lag_times"]


def set_lag_time(cur: Any, attribute_id: int, sku: str, value: str) -> None:
    """The default-store varchar row, as Magento\\Catalog\\Model\\ResourceModel\\Product saves it."""
    cur.execute("INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value) "
                "SELECT %s, 0, entity_id, %s FROM catalog_product_entity WHERE sku = %s "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (attribute_id, value, sku))


def test_lag_time_from_the_attribute_or_the_default_reaches_walmart_and_a_change_follows(stack, tmp_path) -> None:
    lag = {"attribute": ATTRIBUTE, "default_days": 1, "check_s": 1}
    with worker_pipeline(stack, tmp_path, "open_source", "inventory", 6, LISTED, lag_time=lag) as \
            (env, settings, emulator, app, loop):
        app.approve_lag_time("local-client", 3)  # the seller's Lag Time Exception: up to 3 days
        with env.admin_connection(autocommit=True) as conn, conn.cursor() as cur:
            # a text attribute, as Magento\\Eav\\Setup\\EavSetup::addAttribute writes one
            cur.execute("INSERT INTO eav_attribute (entity_type_id, attribute_code, backend_type, frontend_input, "
                        "frontend_label, is_required, is_user_defined) SELECT entity_type_id, %s, 'varchar', 'text', "
                        "'Walmart lag time', 0, 1 FROM eav_entity_type WHERE entity_type_code = 'catalog_product'",
                        (ATTRIBUTE,))
            attribute_id = int(cur.lastrowid)
            set_lag_time(cur, attribute_id, "WS-000002", "3")
            set_lag_time(cur, attribute_id, "WS-000003", "4")      # more than Walmart approved
            set_lag_time(cur, attribute_id, "WS-000004", "soon")   # no number: the default
        want = {"WS-000001": 1, "WS-000002": 3, "WS-000004": 1, "WS-000005": 1, "WS-000006": 1}
        wait_for(lambda: all(lag_times(emulator).get(s) == d for s, d in want.items()), 30,
                 f"lag times on Walmart (are {lag_times(emulator)})")
        client = WalmartClient(settings.walmart)
        assert client.get_lag_time("WS-000002") == 3

        # the refused one: Walmart's reason is the SKU's last error, and Walmart kept its own value
        state = connect_state(settings)

        def refusal() -> str | None:
            with state.cursor() as cur:
                cur.execute("SELECT last_error FROM walmart_values WHERE kind = 'lagtime' AND sku = 'WS-000003'")
                row = cur.fetchone()
            return row[0] if row else None

        try:
            wait_for(lambda: refusal() is not None, 30, "WS-000003's refusal recorded")
            assert "needs Walmart's approval" in (refusal() or "")
            assert "WS-000003" not in lag_times(emulator) and client.get_lag_time("WS-000003") == 1

            # a change in Commerce reaches Walmart at the next check, alone in its feed
            feeds_before = loop.handler.lag_times.feeds_submitted
            with env.admin_connection(autocommit=True) as conn, conn.cursor() as cur:
                set_lag_time(cur, attribute_id, "WS-000002", "2")
            wait_for(lambda: lag_times(emulator).get("WS-000002") == 2, 30,
                     f"the new lag time on Walmart (is {lag_times(emulator).get('WS-000002')})")
            assert client.get_lag_time("WS-000002") == 2
            seller = app.seller("local-client")
            lag_feeds = [f for f in seller.feeds.values() if f.feed_type == "lagtime"]
            # only what changed; the refused value is not sent again until it changes
            assert [item["sku"] for item in lag_feeds[-1].payload["lagTime"]] == ["WS-000002"]
            assert loop.handler.lag_times.feeds_submitted > feeds_before
            assert len(lag_feeds) <= 6  # within the day's budget

            # support staff see the lag time sent, and why; and Walmart's refusal of the other
            with env.admin_connection() as commerce:
                wait_for(lambda: getattr(look_up_sku(settings, "WS-000002", commerce, state, None).sent.get("lagtime"),
                                         "value", None) == "2", 30, "the new lag time confirmed")
                found = look_up_sku(settings, "WS-000002", commerce, state, None)
                refused = look_up_sku(settings, "WS-000003", commerce, state, None)
            assert found.lag_time == "2 day(s): the product's lag-time attribute"
            assert "lag time       2 day(s)" in render(found) and "last sent      lagtime 2 via feed" in render(found)
            assert "needs Walmart's approval" in (refused.sent["lagtime"].last_error or "")
            assert "error: Walmart refused the lag time 4" in render(refused)
        finally:
            state.close()
