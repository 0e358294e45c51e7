"""PriceWorker.handle()/tick() called directly with price change events, against a seeded Commerce
database and the Walmart emulator.

Expected prices are worked out by hand from Magento's rule: the lower of ``price`` and a
``special_price`` whose window (from ``special_from_date`` through ``special_to_date``) is open, a
value of the Walmart store view (2) over the default one (store 0), two decimals rounded half up.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync_workers.runtime.errors import classify
from sync_workers.stores.listings import Added, ListingStore
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import CLIENT_ID, handler_world, walmart_down
from tests.support.records import deliver

STORE = ZoneInfo("America/Los_Angeles")  # the store's timezone: no general/locale/timezone in the seed
LISTED = [f"WS-{n:06d}" for n in range(1, 20)]  # WS-000020 is in Commerce, not on Walmart
UPSERT = ("INSERT INTO catalog_product_entity_{table} (attribute_id, store_id, entity_id, value) "
          "VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE value = VALUES(value)")


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("price"), listed=LISTED) as running:
        yield running


@pytest.fixture(scope="module")
def worker(world):
    return world.handler("price")


def value_change(world, sku: str, code: str, value, store: int = 0) -> tuple:
    """Set attribute ``code`` of a product at a store, as the admin's product save does."""
    table = "datetime" if code.endswith("_date") else "decimal"
    entity = world.changes.row("catalog_product_entity", sku=sku)["entity_id"]
    attribute = world.env.seed.attribute_ids[code]
    return world.changes.change(f"catalog_product_entity_{table}", UPSERT.format(table=table),
                                (attribute, store, entity, value), entity_id=entity, attribute_id=attribute,
                                store_id=store)


def on_walmart(world, sku: str) -> float | None:
    pricing = world.seller.prices.get(sku)
    return None if pricing is None else pricing["currentPrice"]["amount"]


def day(offset_days: int) -> str:
    return (datetime.now() + timedelta(days=offset_days)).strftime("%Y-%m-%d 00:00:00")


def set_price_scope(world, value: str | None) -> None:
    """catalog/price/scope (Config saveConfig / deleteConfig): 1 per website, unset = global."""
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM core_config_data WHERE path = 'catalog/price/scope'")
        if value is not None:
            cur.execute("INSERT INTO core_config_data (scope, scope_id, path, value) VALUES "
                        "('default', 0, 'catalog/price/scope', %s)", (value,))


def test_the_effective_price_of_the_named_skus_reaches_walmart(world, worker) -> None:
    set_price_scope(world, "1")  # a store view's own price counts only with the price scope per website
    records = world.changes.changes([
        value_change(world, "WS-000003", "price", "42.50"),
        value_change(world, "WS-000004", "price", "80.00"),       # on special: 60 from yesterday to in 3 days
        value_change(world, "WS-000004", "special_price", "60.00"),
        value_change(world, "WS-000004", "special_from_date", day(-1)),
        value_change(world, "WS-000004", "special_to_date", day(3)),
        value_change(world, "WS-000005", "price", "19.995"),      # Walmart takes two decimals
        value_change(world, "WS-000006", "price", "50.00"),       # the Walmart store view's own price wins
        value_change(world, "WS-000006", "price", "33.33", store=2),
        value_change(world, "WS-000007", "price", "50.00"),       # a special price above the price: the price
        value_change(world, "WS-000007", "special_price", "90.00"),
    ])
    assert {r.key for r in records} == {b"WS-000003", b"WS-000004", b"WS-000005", b"WS-000006", b"WS-000007"}
    before = world.calls("price_put")["price_put"]

    assert deliver(worker, records) == []

    assert {sku: on_walmart(world, sku) for sku in ("WS-000003", "WS-000004", "WS-000005", "WS-000006",
                                                    "WS-000007")} == \
        {"WS-000003": 42.5, "WS-000004": 60.0, "WS-000005": 20.0, "WS-000006": 33.33, "WS-000007": 50.0}
    assert world.seller.prices["WS-000003"]["currentPriceType"] == "BASE"
    assert world.calls("price_put")["price_put"] == before + 5
    set_price_scope(world, None)


def test_the_same_records_twice_push_nothing_the_second_time(world, worker) -> None:
    records = world.changes.changes([value_change(world, "WS-000008", "price", "12.34")])
    assert deliver(worker, records) == []
    assert on_walmart(world, "WS-000008") == 12.34
    calls = world.calls("price_put", "feed_submit")

    assert deliver(worker, records) == []
    assert deliver(worker, records + records) == []
    assert world.calls("price_put", "feed_submit") == calls

    # an edit that leaves the effective price as it was sends nothing either
    unchanged = world.changes.changes([value_change(world, "WS-000008", "special_price", "99.00")])
    assert deliver(worker, unchanged) == []
    assert world.calls("price_put", "feed_submit") == calls
    assert on_walmart(world, "WS-000008") == 12.34


def test_tick_follows_a_special_price_window_that_opens_later(world, worker) -> None:
    """The window opens on the store's clock (Los Angeles: the seed sets no general/locale/timezone,
    Magento_Directory's default), whatever the host's zone; the worker's due check, kept on the
    host's clock, must fire at that moment and not hours away."""
    opens = datetime.now(STORE).replace(microsecond=0, tzinfo=None) + timedelta(seconds=2)
    records = world.changes.changes([
        value_change(world, "WS-000009", "price", "70.00"),
        value_change(world, "WS-000009", "special_price", "49.00"),
        value_change(world, "WS-000009", "special_from_date", opens.strftime("%Y-%m-%d %H:%M:%S")),
        value_change(world, "WS-000009", "special_to_date", day(2)),
    ])
    assert deliver(worker, records) == []
    assert on_walmart(world, "WS-000009") == 70.0  # not open yet
    # no event comes when the window opens: the worker scheduled the check itself
    wait_for(lambda: worker.tick() or on_walmart(world, "WS-000009") == 49.0, 10, "the special price on Walmart")
    assert datetime.now(STORE).replace(tzinfo=None) >= opens


def test_a_window_edge_is_scheduled_at_the_stores_midnight_on_the_hosts_clock(world, worker) -> None:
    """special_from_date 2031-01-01 opens at midnight in Los Angeles; the due check (walmart_values,
    compared with the host's naive clock) is set for that same instant in the host's zone."""
    records = world.changes.changes([
        value_change(world, "WS-000014", "price", "70.00"),
        value_change(world, "WS-000014", "special_price", "49.00"),
        value_change(world, "WS-000014", "special_from_date", "2031-01-01 00:00:00"),
        value_change(world, "WS-000014", "special_to_date", "2031-01-31 00:00:00"),
    ])
    assert deliver(worker, records) == []
    assert on_walmart(world, "WS-000014") == 70.0
    with worker.state.conn.cursor() as cur:
        cur.execute("SELECT next_check_at FROM walmart_values WHERE kind = 'price' AND sku = 'WS-000014'")
        (scheduled,) = cur.fetchone()
    assert scheduled == datetime(2031, 1, 1, tzinfo=STORE).astimezone().replace(tzinfo=None)


def test_an_unknown_product_and_an_unlisted_sku_are_dead_lettered_and_the_rest_applied(world, worker) -> None:
    price = world.env.seed.attribute_ids["price"]
    orphan = world.changes.changes([("catalog_product_entity_decimal", "update",
                                     {"value_id": 88_888, "attribute_id": price, "store_id": 0,
                                      "entity_id": 88_888, "value": "1.000000"},
                                     {"value_id": 88_888, "attribute_id": price, "store_id": 0,
                                      "entity_id": 88_888, "value": "2.000000"})])
    assert orphan[0].key == b"product:88888"
    unlisted = world.changes.changes([value_change(world, "WS-000020", "price", "15.00")])
    good = world.changes.changes([value_change(world, "WS-000011", "price", "11.11")])

    dead = deliver(worker, orphan + unlisted + good)

    assert sorted((letter.error_code, letter.record.key) for letter in dead) == \
        [("CONTENT_NOT_FOUND.GMP_PRICE_API", b"WS-000020"), ("UNKNOWN_SKU", b"product:88888")]
    reasons = {letter.error_code: letter.reason for letter in dead}
    assert reasons["UNKNOWN_SKU"] == "price event without a SKU (unknown product id)"
    assert reasons["CONTENT_NOT_FOUND.GMP_PRICE_API"].startswith("Walmart refused the price update")
    assert on_walmart(world, "WS-000020") is None
    assert on_walmart(world, "WS-000011") == 11.11


def test_walmart_unavailable_fails_the_batch_for_a_retry_and_the_retry_lands(world, worker) -> None:
    records = world.changes.changes([value_change(world, "WS-000012", "price", "24.00")])
    with walmart_down(world), pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert on_walmart(world, "WS-000012") is None

    assert deliver(worker, records) == []
    assert on_walmart(world, "WS-000012") == 24.0


def test_a_batch_lost_to_a_rebalance_is_pushed_again_once_the_new_owner_is_through(world) -> None:
    """Two replicas on one SKU after a rebalance: the old owner (a batch past max.poll.interval.ms)
    pushes the price it read before the new owner's newer one, Walmart applies it last, and the new
    owner confirms last, so the state store claims a price Walmart does not hold and a replay of
    every event would push nothing. The old owner, told its commit was refused (batch_lost), doubts
    its SKUs in the state store, and once the new owner's batch is surely over (max.poll.interval.ms)
    whichever replica looks first (here the new owner: the old one may be gone by then) pushes
    them again from Commerce."""
    from sync_workers.push.price import PriceWorker

    settled = world.with_settings(kafka={"consumer_groups": {"price": {"max_poll_interval_ms": 1000,
                                                                        "session_timeout_ms": 1000,
                                                                        "heartbeat_interval_ms": 300}}})
    old, new = world.handler("price", settled), world.handler("price", settled)
    new_pushed, old_done = threading.Event(), threading.Event()

    def old_push(sku: str, value: str) -> None:  # held on its way to Walmart until the new owner's push landed
        assert new_pushed.wait(10)
        PriceWorker.push_single(old, sku, value)

    def new_push(sku: str, value: str) -> None:  # confirms only after the old owner confirmed
        PriceWorker.push_single(new, sku, value)
        new_pushed.set()
        assert old_done.wait(10)

    old.push_single, new.push_single = old_push, new_push
    first = world.changes.changes([value_change(world, "WS-000013", "price", "10.00")])
    racing = threading.Thread(target=lambda: (deliver(old, first), old_done.set()))
    racing.start()
    wait_for(lambda: old.reader is not None and "WS-000013" in old._records, 10, "the old owner to read its price")
    second = world.changes.changes([value_change(world, "WS-000013", "price", "20.00")])
    assert deliver(new, second) == []
    racing.join(10)
    assert on_walmart(world, "WS-000013") == 10.0  # the old owner's push landed last
    del old.push_single, new.push_single  # the real pushes again
    assert deliver(new, first + second) == []  # a replay: the state store says Walmart holds 20.00
    assert on_walmart(world, "WS-000013") == 10.0

    old.batch_lost(first)  # what the loop calls when the old owner's commit is refused
    new.tick()
    assert on_walmart(world, "WS-000013") == 10.0  # not before the new owner is surely through
    wait_for(lambda: new.tick() or on_walmart(world, "WS-000013") == 20.0, 10, "Commerce's price on Walmart again")


def waiting_stage(world):
    """The price stream's row of the lag report, and the gauge the sampler sets from it."""
    from prometheus_client import CollectorRegistry

    from operations.lag.report import LagReport, ReportBuilder
    from operations.lag.sampler import publish
    from plumbing.metrics import SidecarMetrics

    builder = ReportBuilder(world.settings, world.state_conn, None, reader=None)  # type: ignore[arg-type]
    rows = [r for r in builder._streams(time.time(), {}) if r.stage == "walmart:price"]
    metrics = SidecarMetrics(CollectorRegistry())
    publish(LagReport(generated_at="now", window_s=1, stages=rows), metrics)
    return (rows[0] if rows else None), metrics.stream_waiting.labels("price")._value.get()


def last_error(world, sku: str) -> str | None:
    with world.state_conn.cursor() as cur:
        cur.execute("SELECT last_error FROM walmart_values WHERE kind = 'price' AND sku = %s", (sku,))
        row = cur.fetchone()
    return row[0] if row else None


def test_a_price_walmart_refuses_within_24_hours_of_setup_waits_then_lands(world, worker) -> None:
    # an item set up elsewhere a moment ago: Walmart takes no price for it for 24 h, and says so
    world.walmart.seed_items(CLIENT_ID, ["WS-000015"], set_up_now=True)
    records = world.changes.changes([value_change(world, "WS-000015", "price", "27.00")])
    before = on_walmart(world, "WS-000015")

    assert deliver(worker, records) == []  # refused for now: not dead-lettered

    assert on_walmart(world, "WS-000015") == before != 27.0
    reason, until = worker.state.waiting()["WS-000015"]
    assert "24 h" in reason and until > datetime.now()
    assert last_error(world, "WS-000015") is None  # not "failed"
    row, gauge = waiting_stage(world)
    assert row is not None and row.counts == {"waiting": 1} and "1 SKU(s) waiting" in row.detail and not row.over
    assert gauge == 1

    # a day passes on Walmart; the sidecar's check comes due (its clock moved on as far)
    world.walmart.age_items(CLIENT_ID, ["WS-000015"], 24 * 3600)
    with world.state_conn.cursor() as cur:
        cur.execute("UPDATE walmart_values SET next_check_at = NOW() WHERE kind = 'price' AND sku = 'WS-000015'")
    worker.tick()

    assert on_walmart(world, "WS-000015") == 27.0
    assert "WS-000015" not in worker.state.waiting()
    row, gauge = waiting_stage(world)
    assert (row is None or "waiting" not in row.counts) and gauge == 0


def test_a_price_of_a_listing_matched_less_than_24_hours_ago_waits_without_a_call(world, worker) -> None:
    # the sidecar matched this listing itself: it knows Walmart will refuse, and asks nothing
    store = ListingStore(world.state_conn)
    store.add([Added("WS-000016", 16, None, None, None)])
    store.set_status("WS-000016", "matched", reason="matched by UPC")
    world.walmart.seed_items(CLIENT_ID, ["WS-000016"], set_up_now=True)
    records = world.changes.changes([value_change(world, "WS-000016", "price", "31.00")])
    calls = world.calls("price_put")["price_put"]
    before = on_walmart(world, "WS-000016")

    assert deliver(worker, records) == []

    assert world.calls("price_put")["price_put"] == calls
    assert on_walmart(world, "WS-000016") == before != 31.0
    _reason, until = worker.state.waiting()["WS-000016"]
    window = world.settings.workers.price_after_setup_s
    assert datetime.now() + timedelta(seconds=window / 2) < until <= datetime.now() + timedelta(seconds=window)
    with world.state_conn.cursor() as cur:
        cur.execute("SELECT next_check_at FROM walmart_values WHERE kind = 'price' AND sku = 'WS-000016'")
        assert cur.fetchone()[0] == until.replace(microsecond=0)  # due for a check when Walmart will take it


def test_price_feed_items_refused_within_24_hours_of_setup_wait_instead_of_failing(world) -> None:
    worker = world.handler("price", world.with_settings(workers={"feed_threshold": 1}))
    skus = ["WS-000017", "WS-000018"]
    world.walmart.seed_items(CLIENT_ID, skus, set_up_now=True)
    records = world.changes.changes([value_change(world, sku, "price", f"{40 + n}.00") for n, sku in enumerate(skus)])
    before = {sku: on_walmart(world, sku) for sku in skus}
    calls = world.calls("feed_submit", "price_put")

    assert deliver(worker, records) == []
    assert world.calls("feed_submit", "price_put") == {"feed_submit": calls["feed_submit"] + 1,
                                                       "price_put": calls["price_put"]}
    wait_for(lambda: worker.tick() or not worker.state.open_feeds("price"), 30, "the price feed to be processed")

    assert {sku: on_walmart(world, sku) for sku in skus} == before
    assert set(worker.state.waiting()) >= set(skus)
    assert [last_error(world, sku) for sku in skus] == [None, None]
    worker.tick()  # waiting: not pushed again at once
    assert world.calls("feed_submit", "price_put") == {"feed_submit": calls["feed_submit"] + 1,
                                                       "price_put": calls["price_put"]}
