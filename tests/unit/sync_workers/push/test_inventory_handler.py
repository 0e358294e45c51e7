"""InventoryWorker.handle()/tick() called directly with stock change events, against a seeded Commerce
database and the Walmart emulator.

Expected quantities are worked out by hand from MSI's rule for the Walmart channel's stock 2 (sources
wh_east and wh_west; the default source belongs to stock 1): in-stock quantities at linked sources,
plus stock 2's reservations, minus the out-of-stock threshold; 0 when no linked source has it in stock.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from sync_workers.runtime.errors import classify
from sync_workers.stores.value_state import ValueState
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import handler_world, walmart_down
from tests.support.records import deliver

LISTED = [f"WS-{n:06d}" for n in range(1, 20)]  # WS-000020 is in Commerce, not on Walmart
UPSERT_SOURCE = ("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, %s) "
                 "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = VALUES(status)")


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("inventory"), listed=LISTED) as running:
        yield running


@pytest.fixture(scope="module")
def worker(world):
    return world.handler("inventory")


def source_changes(world, sku: str, **sources: tuple[int, int]) -> list[tuple]:
    """Set ``source_code=(quantity, status)`` for a SKU; the row changes, for events."""
    return [world.changes.change("inventory_source_item", UPSERT_SOURCE, (source, sku, qty, status),
                                 sku=sku, source_code=source) for source, (qty, status) in sources.items()]


def stock_event(world, sku: str, **sources: tuple[int, int]):
    return world.changes.changes(source_changes(world, sku, **sources))


def reservation(world, reservation_id: int, stock_id: int, sku: str, quantity: int) -> tuple:
    """An order's reservation, as Magento writes it when the order is placed."""
    return world.changes.change(
        "inventory_reservation", "INSERT INTO inventory_reservation (reservation_id, stock_id, sku, quantity, "
        "metadata) VALUES (%s, %s, %s, %s, '{\"event_type\":\"order_placed\",\"object_type\":\"order\"}')",
        (reservation_id, stock_id, sku, quantity), reservation_id=reservation_id)


def on_walmart(world, sku: str) -> int | None:
    return world.seller.inventory.get((sku, "default"))


def test_the_salable_quantity_of_the_named_skus_reaches_walmart(world, worker) -> None:
    changes = source_changes(world, "WS-000005", default=(10, 1), wh_east=(5, 1), wh_west=(7, 0))
    changes += [reservation(world, 9001, 2, "WS-000005", -2), reservation(world, 9002, 1, "WS-000005", -4)]
    changes += source_changes(world, "WS-000006", wh_east=(4, 1), wh_west=(6, 1))
    entity = world.changes.row("catalog_product_entity", sku="WS-000006")["entity_id"]
    changes.append(world.changes.change(
        "cataloginventory_stock_item", "UPDATE cataloginventory_stock_item SET use_config_min_qty = 0, min_qty = 2 "
        "WHERE product_id = %s", (entity,), product_id=entity))
    changes += source_changes(world, "WS-000007", wh_east=(9, 0), wh_west=(3, 0))
    records = world.changes.changes(changes)
    assert {r.key for r in records} == {b"WS-000005", b"WS-000006", b"WS-000007"}
    before = world.calls("inventory_put")["inventory_put"]

    assert deliver(worker, records) == []

    # WS-000005: wh_east 5 (wh_west out of stock, default not linked) - 2 reserved on stock 2 = 3
    # WS-000006: 4 + 6 - threshold 2 = 8; WS-000007: nothing in stock at a linked source = 0
    assert {sku: on_walmart(world, sku) for sku in ("WS-000005", "WS-000006", "WS-000007")} == \
        {"WS-000005": 3, "WS-000006": 8, "WS-000007": 0}
    assert world.calls("inventory_put")["inventory_put"] == before + 3  # one single per SKU, not per event


def test_the_same_records_twice_push_nothing_the_second_time(world, worker) -> None:
    records = stock_event(world, "WS-000008", wh_east=(12, 1), wh_west=(30, 1))
    assert deliver(worker, records) == []
    assert on_walmart(world, "WS-000008") == 42
    calls = world.calls("inventory_put", "feed_submit")

    assert deliver(worker, records) == []          # a replay after a crash before the commit
    assert deliver(worker, records + records) == []  # or the same change seen twice in a batch
    assert world.calls("inventory_put", "feed_submit") == calls
    assert on_walmart(world, "WS-000008") == 42

    # a later change of the same SKU is pushed again: the worker compares values, not event ids
    assert deliver(worker, stock_event(world, "WS-000008", wh_east=(2, 1))) == []
    assert on_walmart(world, "WS-000008") == 32
    assert world.calls("inventory_put")["inventory_put"] == calls["inventory_put"] + 1


def test_an_unknown_product_and_an_unlisted_sku_are_dead_lettered_and_the_rest_applied(world, worker) -> None:
    # a legacy stock row of a product the listener cannot name (deleted meanwhile): no SKU
    orphan = world.changes.changes([("cataloginventory_stock_item", "update",
                                     {"item_id": 99_999, "product_id": 99_999, "stock_id": 1, "qty": 1},
                                     {"item_id": 99_999, "product_id": 99_999, "stock_id": 1, "qty": 2})])
    assert orphan[0].key == b"product:99999"
    unlisted = stock_event(world, "WS-000020", wh_east=(3, 1), wh_west=(0, 0))
    good = stock_event(world, "WS-000009", wh_east=(17, 1), wh_west=(0, 0))

    dead = deliver(worker, orphan + unlisted + good)

    by_code = {letter.error_code: letter for letter in dead}
    assert sorted(by_code) == ["CONTENT_NOT_FOUND.GMP_INVENTORY_API", "UNKNOWN_SKU"]
    assert by_code["UNKNOWN_SKU"].record is orphan[0]
    assert by_code["UNKNOWN_SKU"].reason == "stock event without a SKU (unknown product id)"
    assert [letter.record for letter in dead if letter.error_code.startswith("CONTENT")] == unlisted
    assert by_code["CONTENT_NOT_FOUND.GMP_INVENTORY_API"].reason.startswith("Walmart refused the inventory update")
    assert on_walmart(world, "WS-000020") is None
    assert on_walmart(world, "WS-000009") == 17


def test_walmart_unavailable_fails_the_batch_for_a_retry_and_the_retry_lands(world, worker) -> None:
    assert on_walmart(world, "WS-000010") is None
    records = stock_event(world, "WS-000010", wh_east=(6, 1), wh_west=(1, 1))
    with walmart_down(world), pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert "Walmart" in str(failure.value)
    assert on_walmart(world, "WS-000010") is None
    assert world.seller.faults_injected["error"] >= 1

    assert deliver(worker, records) == []  # the loop's retry of the same batch
    assert on_walmart(world, "WS-000010") == 7


def test_a_closed_state_store_connection_fails_the_batch_for_a_retry(world) -> None:
    worker = world.handler("inventory")
    records = stock_event(world, "WS-000011", wh_east=(5, 1), wh_west=(0, 0))
    worker.state.conn.close()
    with pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert on_walmart(world, "WS-000011") is None


def test_beyond_the_feed_threshold_one_feed_goes_and_tick_confirms_it(world) -> None:
    worker = world.handler("inventory", world.with_settings(workers={"feed_threshold": 3}))
    skus = [f"WS-{n:06d}" for n in range(12, 17)]
    changes = [change for n, sku in enumerate(skus)
               for change in source_changes(world, sku, wh_east=(60 + n, 1), wh_west=(0, 0))]
    records = world.changes.changes(changes)
    calls = world.calls("inventory_put", "feed_submit")

    assert deliver(worker, records) == []
    assert world.calls("inventory_put", "feed_submit") == {"inventory_put": calls["inventory_put"],
                                                           "feed_submit": calls["feed_submit"] + 1}
    assert len(worker.state.open_feeds("inventory")) == 1

    # tick() polls the feed until Walmart has processed it, then confirms its items
    wait_for(lambda: worker.tick() or not worker.state.open_feeds("inventory"), 10, "the feed to be confirmed")
    assert {sku: on_walmart(world, sku) for sku in skus} == {sku: 60 + n for n, sku in enumerate(skus)}
    assert worker.state.confirmed(skus) == {sku: str(60 + n) for n, sku in enumerate(skus)}
    worker.tick()  # the feed's SKUs are checked once more: all confirmed, nothing to send

    assert deliver(worker, records) == []
    assert world.calls("inventory_put", "feed_submit") == {"inventory_put": calls["inventory_put"],
                                                           "feed_submit": calls["feed_submit"] + 1}


def test_skus_due_for_a_check_survive_a_failed_batch(world) -> None:
    """Due checks are cleared only once their push went out: a failed batch leaves them due."""
    worker = world.handler("inventory")
    # a change made without a binlog event (a purged binlog), then made due as `walmart-sync resync` does
    source_changes(world, "WS-000018", wh_east=(21, 1), wh_west=(0, 0))
    ValueState(worker.state.conn, "inventory").schedule({"WS-000018": datetime.now()})
    records = stock_event(world, "WS-000017", wh_east=(8, 1), wh_west=(0, 0))
    with walmart_down(world), pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"

    assert deliver(worker, records) == []  # the loop retries the batch once Walmart is back
    worker.tick()
    assert on_walmart(world, "WS-000017") == 8
    assert on_walmart(world, "WS-000018") == 21


def test_a_fresh_install_compares_every_pushed_sku_once_then_clears_the_flag(world, worker) -> None:
    """The listener's first start marks a full comparison due (cdc_checkpoint.resync_due): a value
    Commerce holds that never changed since must still reach Walmart, once, for both streams."""
    from cdc_listener.checkpoint import CheckpointStore
    from cdc_listener.position import BinlogPosition

    # a value no event will ever announce: changed before the sidecar was installed
    world.changes.change("inventory_source_item", UPSERT_SOURCE, ("wh_east", "WS-000019", 33, 1),
                         sku="WS-000019", source_code="wh_east")
    world.changes.change("inventory_source_item", UPSERT_SOURCE, ("wh_west", "WS-000019", 0, 0),
                         sku="WS-000019", source_code="wh_west")
    assert on_walmart(world, "WS-000019") != 33
    CheckpointStore(worker.state.conn, "default").save(BinlogPosition(log_file="binlog.000001", log_pos=4), 1,
                                                       resync_reason="first start: began at the end of the binlog")
    worker._next_initial_load_check = 0.0
    worker.tick()
    wait_for(lambda: (worker.tick(), on_walmart(world, "WS-000019"))[1] == 33, 30, "the initial load's push")
    with worker.state.conn.cursor() as cur:
        cur.execute("SELECT resync_due FROM cdc_checkpoint WHERE name = 'default'")
        assert cur.fetchone()[0] == 0
        # the price stream was made due in the same transaction (its worker compares them)
        cur.execute("SELECT COUNT(*) FROM walmart_values WHERE kind = 'price' AND next_check_at IS NOT NULL")
        assert cur.fetchone()[0] >= len(LISTED)
    calls = dict(world.seller.calls)
    worker._next_initial_load_check = 0.0
    worker.tick()  # taken once: nothing more to compare
    assert dict(world.seller.calls).get("inventory_put") == calls.get("inventory_put")


def test_products_magento_does_not_sell_go_to_zero_whatever_their_sources_hold(world, worker) -> None:
    """``Magento\\InventorySales\\Model\\GetProductSalableQty`` is 0 without a salable stock index row:
    on the default stock 1, a disabled product (``CatalogInventory\\...\\Indexer\\Stock\\DefaultStock``
    inner-joins status = 1); on stock 2, a product with source items but no legacy stock item
    (``InventoryIndexer\\Indexer\\SelectBuilder`` LEFT JOINs it, every salable condition reads it)."""
    default_stock = world.handler("inventory", world.with_settings(mapping={"stock_id": 1}))
    status = world.env.seed.attribute_ids["status"]
    disabled = world.changes.row("catalog_product_entity", sku="WS-000014")["entity_id"]
    assert deliver(default_stock, stock_event(world, "WS-000014", default=(9, 1))) == []
    assert on_walmart(world, "WS-000014") == 9  # enabled, the default source's 9 units sell
    with world.env.admin_connection(autocommit=True) as conn, conn.cursor() as cur:
        # what the product save (Catalog\Model\ResourceModel\Product, an EAV int value) writes
        cur.execute("INSERT INTO catalog_product_entity_int (attribute_id, store_id, entity_id, value) "
                    "VALUES (%s, 0, %s, 2) ON DUPLICATE KEY UPDATE value = VALUES(value)", (status, disabled))
    assert deliver(default_stock, stock_event(world, "WS-000014", default=(8, 1))) == []
    assert on_walmart(world, "WS-000014") == 0

    orphan = world.changes.row("catalog_product_entity", sku="WS-000013")["entity_id"]
    assert deliver(worker, stock_event(world, "WS-000013", wh_east=(12, 1), wh_west=(0, 0))) == []
    assert on_walmart(world, "WS-000013") == 12
    with world.env.admin_connection(autocommit=True) as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM cataloginventory_stock_item WHERE product_id = %s", (orphan,))
    assert deliver(worker, stock_event(world, "WS-000013", wh_east=(11, 1))) == []
    assert on_walmart(world, "WS-000013") == 0
