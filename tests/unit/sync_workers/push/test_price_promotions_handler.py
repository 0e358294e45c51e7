"""PriceWorker in ``price.promotions = "promotions"`` mode, called directly, against a seeded Commerce
database and the Walmart emulator (which judges promotions on its own clock, moved here together
with the worker's): a change that Walmart would refuse in the 4 h before a promotion starts waits
for the start instead, and a burst goes as one price feed of promotions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from sync_workers.push.price import PROMOTION_FROZEN
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import handler_world
from tests.support.records import deliver

STORE = ZoneInfo("America/Los_Angeles")  # no general/locale/timezone in the seed: Magento's default
LISTED = [f"WS-{n:06d}" for n in range(1, 12)]
UPSERT = ("INSERT INTO catalog_product_entity_{table} (attribute_id, store_id, entity_id, value) "
          "VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE value = VALUES(value)")


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("promo"), listed=LISTED,
                       price={"promotions": "promotions"}) as running:
        yield running


def value_change(world, sku: str, code: str, value) -> tuple:
    """Set attribute ``code`` of a product at the default store, as the admin's product save does."""
    table = "datetime" if code.endswith("_date") else "decimal"
    entity = world.changes.row("catalog_product_entity", sku=sku)["entity_id"]
    attribute = world.env.seed.attribute_ids[code]
    return world.changes.change(f"catalog_product_entity_{table}", UPSERT.format(table=table),
                                (attribute, 0, entity, value), entity_id=entity, attribute_id=attribute, store_id=0)


def window(world, sku: str, price: str, special: str, opens: datetime, last_day: datetime) -> list:
    return [value_change(world, sku, "price", price), value_change(world, sku, "special_price", special),
            value_change(world, sku, "special_from_date", opens.strftime("%Y-%m-%d %H:%M:%S")),
            value_change(world, sku, "special_to_date", last_day.strftime("%Y-%m-%d 00:00:00"))]


def promotions(world, sku: str) -> list:
    item = world.seller.promotions.get(sku)
    return [] if item is None else item.live(world.walmart.wall_now())


def move_clocks(world, worker, to: datetime) -> None:
    """Walmart's clock and the worker's both at ``to``."""
    world.walmart.clock_offset += (to.timestamp() - world.walmart.wall_now()) / world.walmart.time_scale
    worker.utc_now = lambda: to


def test_a_change_in_the_4_hours_before_a_promotion_starts_waits_for_the_start(world) -> None:
    worker = world.handler("price")
    opens = (datetime.now(STORE) + timedelta(days=3)).replace(hour=9, minute=0, second=0, microsecond=0,
                                                              tzinfo=None)
    assert deliver(worker, world.changes.changes(window(world, "WS-000003", "40.00", "30.00", opens,
                                                        opens + timedelta(days=2)))) == []
    [sent] = promotions(world, "WS-000003")
    starts = opens.replace(tzinfo=STORE).astimezone(UTC)
    assert sent.starts == starts.timestamp() and sent.amount == 30.0 and sent.comparison == 40.0

    move_clocks(world, worker, starts - timedelta(hours=2))  # the merchant lowers it 2 h before the start
    assert deliver(worker, world.changes.changes([value_change(world, "WS-000003", "special_price", "27.00")])) == []
    [still] = promotions(world, "WS-000003")
    assert still.amount == 30.0  # not sent: Walmart would refuse it (and the record is not dead-lettered)
    with world.state_conn.cursor() as cur:
        cur.execute("SELECT reason, until_at FROM walmart_values_waiting WHERE kind = 'price' AND sku = 'WS-000003'")
        reason, until = cur.fetchone()
    assert reason == PROMOTION_FROZEN
    assert until == (starts + timedelta(minutes=1)).astimezone().replace(tzinfo=None, microsecond=0)

    move_clocks(world, worker, starts + timedelta(minutes=2))  # the due check, once the promotion is active
    assert worker.sync({"WS-000003"}) == {}
    [changed] = promotions(world, "WS-000003")
    assert (changed.amount, changed.starts, changed.comparison) == (27.0, starts.timestamp(), 40.0)
    with world.state_conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM walmart_values_waiting WHERE kind = 'price' AND sku = 'WS-000003'")
        assert cur.fetchone() == (0,)


def test_a_burst_goes_as_one_price_feed_of_promotions(world) -> None:
    settings = world.with_settings(price={"promotions": "promotions"}, workers={"feed_threshold": 1})
    worker = world.handler("price", settings)
    # Walmart's clock may be ahead (the test before moved it; a bucket's clock never goes back): the
    # window opens days after both clocks
    ahead = max(datetime.now(UTC), datetime.fromtimestamp(world.walmart.wall_now(), UTC))
    opens = (ahead.astimezone(STORE) + timedelta(days=5)).replace(hour=0, minute=0, second=0, microsecond=0,
                                                                 tzinfo=None)
    skus = ["WS-000006", "WS-000007", "WS-000008"]
    changes = [c for n, sku in enumerate(skus)
               for c in window(world, sku, f"{20 + n}.00", f"{15 + n}.00", opens, opens + timedelta(days=6))]
    before = world.seller.calls.get("feed_submit", 0)
    assert deliver(worker, world.changes.changes(changes)) == []
    assert world.seller.calls.get("feed_submit", 0) == before + 1 and worker.pushed_feeds == 1

    def landed() -> bool:
        worker.tick()
        return all(promotions(world, sku) for sku in skus)

    wait_for(landed, 30, "the feed's promotions on Walmart")
    for n, sku in enumerate(skus):
        [promo] = promotions(world, sku)
        assert (promo.amount, promo.comparison) == (15.0 + n, 20.0 + n)
        assert promo.starts == opens.replace(tzinfo=STORE).timestamp()
        assert world.seller.prices[sku]["currentPrice"]["amount"] == 20.0 + n
    wait_for(lambda: (worker.tick(), worker.state.confirmed(skus))[1].keys() == set(skus), 30, "confirmed")


def test_switching_back_to_base_only_cancels_the_promotions_sent_with_no_commerce_change(world) -> None:
    worker = world.handler("price")
    worker.tick()  # the promotions mode's digest is what the price values were computed under
    ahead = max(datetime.now(UTC), datetime.fromtimestamp(world.walmart.wall_now(), UTC))
    opens = (ahead.astimezone(STORE) + timedelta(days=9)).replace(hour=0, minute=0, second=0, microsecond=0,
                                                                 tzinfo=None)
    assert deliver(worker, world.changes.changes(window(world, "WS-000010", "70.00", "55.00", opens,
                                                        opens + timedelta(days=3)))) == []
    assert promotions(world, "WS-000010")
    base_only = world.handler("price", world.with_settings(price={"promotions": "base_only"}))

    def cancelled() -> bool:
        base_only.tick()  # its start sees the switch: every pushed SKU is compared again
        return not promotions(world, "WS-000010")

    wait_for(cancelled, 30, "the promotion cancelled on Walmart")
    assert world.seller.prices["WS-000010"]["currentPrice"]["amount"] == 70.0  # the window is not open yet
    assert base_only.state.confirmed(["WS-000010"]) == {"WS-000010": "70.00"}
