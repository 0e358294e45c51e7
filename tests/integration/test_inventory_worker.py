"""Inventory end to end: Commerce rows -> binlog -> listener -> Kafka -> worker -> Walmart emulator.

Expected quantities are worked out by hand from MSI's rule for the Walmart channel's stock 2
(sources wh_east + wh_west): in-stock quantities at enabled linked sources, plus reservations,
minus the out-of-stock threshold; 0 when no linked source has the SKU in stock.
"""

from __future__ import annotations

import json
import time

import pytest
import requests
from kafka import KafkaConsumer, KafkaProducer

from sync_workers.runtime.loop import dlq_topic
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import wait_for, worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 40)]  # WS-000040 is not listed on Walmart


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def pipeline(request, stack, tmp_path_factory):
    with worker_pipeline(stack, tmp_path_factory.mktemp("inv"), request.param, "inventory", 40, LISTED,
                         workers={"feed_threshold": 8}) as (env, settings, emulator, _app, loop):
        yield env, settings, emulator, loop


def walmart_quantity(emulator, sku: str) -> int | None:
    state = requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()
    return state["inventory"].get(f"{sku}@default")


def until_walmart_shows(emulator, expected: dict[str, int], timeout: float = 30) -> None:
    wait_for(lambda: all(walmart_quantity(emulator, sku) == qty for sku, qty in expected.items()),
             timeout, f"Walmart to show {expected} (has "
             f"{ {s: walmart_quantity(emulator, s) for s in expected} })")


def set_source(cur, sku: str, source: str, quantity: int, status: int) -> None:
    cur.execute("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = VALUES(status)",
                (source, sku, quantity, status))


def test_every_form_of_stock_change_reaches_walmart(pipeline) -> None:
    env, _settings, emulator, _loop = pipeline
    sku = "WS-000005"
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_source(cur, sku, "default", 10, 1)   # not linked to stock 2: never counts
        set_source(cur, sku, "wh_east", 5, 1)
        set_source(cur, sku, "wh_west", 7, 0)    # out of stock: does not count
        until_walmart_shows(emulator, {sku: 5})
        cur.execute("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES "
                    "(2, %s, -2, '{\"event_type\":\"order_placed\",\"object_type\":\"order\"}')", (sku,))
        cur.execute("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES "
                    "(1, %s, -4, '{\"event_type\":\"order_placed\",\"object_type\":\"order\"}')", (sku,))
        until_walmart_shows(emulator, {sku: 3})  # only stock 2's reservation counts
        set_source(cur, sku, "wh_west", 7, 1)
        until_walmart_shows(emulator, {sku: 10})
        cur.execute("UPDATE cataloginventory_stock_item SET use_config_min_qty = 0, min_qty = 2 "
                    "WHERE product_id = (SELECT DISTINCT entity_id FROM catalog_product_entity WHERE sku = %s)",
                    (sku,))
        until_walmart_shows(emulator, {sku: 8})  # the legacy stock item's threshold applies
        set_source(cur, sku, "wh_east", 0, 0)
        set_source(cur, sku, "wh_west", 0, 0)
        until_walmart_shows(emulator, {sku: 0})


def test_many_changes_at_once_go_as_a_feed(pipeline) -> None:
    env, _settings, emulator, loop = pipeline
    skus = [f"WS-{n:06d}" for n in range(10, 30)]
    with env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
        for n, sku in enumerate(skus):
            set_source(cur, sku, "wh_east", 100 + n, 1)
            set_source(cur, sku, "wh_west", 0, 0)
        conn.commit()
    until_walmart_shows(emulator, {sku: 100 + n for n, sku in enumerate(skus)}, timeout=60)
    assert loop.handler.pushed_feeds >= 1
    feeds = requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()["feeds"]
    assert "PROCESSED" in feeds.values()


def test_unlisted_skus_and_poison_messages_are_dead_lettered(pipeline) -> None:
    env, settings, emulator, loop = pipeline
    producer = KafkaProducer(bootstrap_servers=env.endpoints.bootstrap_servers)
    producer.send(f"{settings.kafka.topic_prefix}.stock", key=b"junk", value=b"\x00not json{").get(10)
    producer.close()
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_source(cur, "WS-000040", "wh_east", 3, 1)   # not listed on Walmart
        set_source(cur, "WS-000006", "wh_east", 4, 1)
        set_source(cur, "WS-000006", "wh_west", 0, 0)
    until_walmart_shows(emulator, {"WS-000006": 4})  # the worker moved on
    consumer = KafkaConsumer(dlq_topic(settings, "inventory"), bootstrap_servers=env.endpoints.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)
    letters: list = []

    def collected() -> bool:
        letters.extend(consumer)
        return len(letters) >= 2

    wait_for(collected, 30, "two dead letters")
    consumer.close()
    by_code = {dict(m.headers)["dlq.error.code"].decode(): m for m in letters}
    assert set(by_code) >= {"MALFORMED_EVENT", "CONTENT_NOT_FOUND.GMP_INVENTORY_API"}
    junk = by_code["MALFORMED_EVENT"]
    assert junk.value == b"\x00not json{" and dict(junk.headers)["dlq.source.topic"].decode().endswith(".stock")
    unlisted = by_code["CONTENT_NOT_FOUND.GMP_INVENTORY_API"]
    assert json.loads(unlisted.value)["sku"] == "WS-000040"
    assert "Walmart refused the inventory update" in dict(unlisted.headers)["dlq.reason"].decode()
    assert walmart_quantity(emulator, "WS-000040") is None
    assert loop.dead_lettered >= 2


def test_a_large_transaction_compares_every_product_at_once(stack, tmp_path) -> None:
    """The listener needs seconds to decode a bulk import; the database already holds all of it.
    A change whose event has not arrived (here: one made without a binlog event at all) is
    still pushed, in the same feed, because a large transaction makes the worker compare every
    product with Walmart."""
    with worker_pipeline(stack, tmp_path, "open_source", "inventory", 40, LISTED,
                         workers={"bulk_scan_rows": 30, "feed_threshold": 8}) as (env, settings, emulator, _app, loop):
        # the first start's full comparison (the initial load) is done before the burst
        state = connect_state(settings)

        def initial_load_done() -> bool:
            with state.cursor() as cur:  # the listener asked for it (a row), a worker took it (flag cleared) ...
                cur.execute("SELECT resync_due FROM cdc_checkpoint")
                flags = [row[0] for row in cur.fetchall()]
                cur.execute("SELECT COUNT(*) FROM walmart_values WHERE kind = 'inventory' AND next_check_at IS NOT NULL")
                due = cur.fetchone()[0]
                cur.execute("SELECT COUNT(*) FROM walmart_feeds WHERE worker = 'inventory' AND status = 'SUBMITTED'")
                open_feeds = cur.fetchone()[0]
            # ... and everything it made due was pushed, its feed processed (a feed completing later
            # would be rechecked and could make the burst's feed count wrong)
            return bool(flags) and not any(flags) and due == 0 and open_feeds == 0 and not loop.handler._recheck
        wait_for(initial_load_done, 120, "the initial load to be taken and pushed")
        feeds_before = loop.handler.pushed_feeds
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SET SESSION sql_log_bin = 0")  # no event will ever name WS-000031
            set_source(cur, "WS-000031", "wh_east", 77, 1)
            set_source(cur, "WS-000031", "wh_west", 0, 0)
        assert walmart_quantity(emulator, "WS-000031") != 77  # its initial-load value, not the new one
        skus = [f"WS-{n:06d}" for n in range(1, 21)]
        with env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
            for n, sku in enumerate(skus):   # 40 rows in one transaction: a bulk change
                set_source(cur, sku, "wh_east", 50 + n, 1)
                set_source(cur, sku, "wh_west", 0, 0)
            conn.commit()
        until_walmart_shows(emulator, {"WS-000031": 77, **{sku: 50 + n for n, sku in enumerate(skus)}}, timeout=60)
        assert loop.handler.bulk_scans == 1
        assert loop.handler.pushed_feeds == feeds_before + 1


def test_resync_pushes_what_the_binlog_never_showed(pipeline) -> None:
    env, _settings, emulator, _loop = pipeline
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SET SESSION sql_log_bin = 0")  # as after a purged binlog: no event will come
        set_source(cur, "WS-000033", "wh_east", 66, 1)
        set_source(cur, "WS-000033", "wh_west", 0, 0)
    from tests.support.cdc_helpers import cli_process

    proc = cli_process(env.config_path, "resync", "inventory")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "inventory: 40 SKU(s) due for a comparison with Walmart" in out
    until_walmart_shows(emulator, {"WS-000033": 66})


def test_the_worker_heals_when_its_database_connections_are_cut(pipeline) -> None:
    """A MariaDB restart or a network cut drops the worker's connections; PyMySQL never reconnects on
    its own, so the worker retried for ever (and looked ready). Now the loop revives them."""
    env, _settings, emulator, loop = pipeline
    sku = "WS-000011"
    handler = loop.handler
    killed = {int(victim.thread_id()) for victim in handler.connections()}
    with env.admin_connection() as conn, conn.cursor() as cur:
        for thread_id in killed:
            cur.execute(f"KILL CONNECTION {thread_id}")
        set_source(cur, sku, "wh_east", 23, 1)
        set_source(cur, sku, "wh_west", 0, 0)
        cur.execute("DELETE FROM inventory_reservation WHERE sku = %s", (sku,))
    until_walmart_shows(emulator, {sku: 23}, timeout=60)
    # the same connection objects, reconnected in place (new server threads)
    assert not killed & {int(c.thread_id()) for c in handler.connections()}


def test_readiness_turns_false_while_batches_keep_failing(pipeline) -> None:
    from walmart_sync.supervisor import FAILING_NOT_READY_S, worker_ready

    _env, _settings, _emulator, loop = pipeline
    wait_for(lambda: worker_ready(loop)[0], 60, "the worker to join its group")
    loop.failing_since = time.monotonic() - FAILING_NOT_READY_S - 1  # as the loop records a run of retries
    loop.last_error = "Walmart: POST /v3/token [503]"
    try:
        ready, why = worker_ready(loop)
        assert not ready and "retrying for" in why and "503" in why
    finally:
        loop.failing_since = None
