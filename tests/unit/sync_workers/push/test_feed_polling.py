"""How the inventory and price workers poll their feeds (ValueWorker.tick()), against the Walmart
emulator: at the times Walmart advises, without item details until the feed is done, and with the
item pages read beside the consumer loop rather than inside it."""

from __future__ import annotations

import math
import threading

import pytest

from sync_workers.walmart.feeds import DETAIL_PAGE, poll_slot
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import handler_world
from tests.support.records import deliver
from tests.unit.sync_workers.push.test_inventory_handler import on_walmart, source_changes

PRODUCTS = 70  # a feed of 60 SKUs has two pages of item details
FIRST_POLL_S = 0.2


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    # feeds take a few advised polling slots to process: 30 s and 90 s of Walmart's time at x60
    with handler_world(stack, tmp_path_factory.mktemp("feed_polling"), products=PRODUCTS,
                       feed_delays_s=(30.0, 90.0), workers={"feed_poll_s": FIRST_POLL_S, "feed_threshold": 3}
                       ) as running:
        yield running


def test_walmarts_advised_polling_times_15_min_1_h_2_h_then_every_4_h() -> None:
    minute, hour = 60.0, 3600.0
    assert poll_slot(14 * minute, 15 * minute) is None  # nothing before the first
    assert poll_slot(15 * minute, 15 * minute) == 15 * minute
    assert poll_slot(59 * minute, 15 * minute) == 15 * minute  # one poll however often the worker looks
    assert poll_slot(1 * hour, 15 * minute) == 1 * hour
    assert poll_slot(2 * hour, 15 * minute) == 2 * hour
    assert poll_slot(5.9 * hour, 15 * minute) == 2 * hour
    assert poll_slot(6 * hour, 15 * minute) == 6 * hour
    assert poll_slot(10.5 * hour, 15 * minute) == 10 * hour


def stock_records(world, skus: list[str], qty: int) -> list:
    """Each SKU's only linked source holds ``qty`` (Walmart should show ``qty``), as records."""
    return world.changes.changes([change for sku in skus
                                  for change in source_changes(world, sku, wh_east=(qty, 1), wh_west=(0, 0))])


def test_a_feed_is_polled_per_advised_slot_and_its_items_read_once_done_beside_the_loop(world) -> None:
    worker = world.handler("inventory")
    skus = [f"WS-{n:06d}" for n in range(1, 61)]
    gate = threading.Event()
    world.walmart.set_faults(feed_items_gate=gate)  # the item pages wait until the test opens it
    try:
        assert deliver(worker, stock_records(world, skus, 41)) == []
        [(feed_id, _items)] = worker.state.open_feeds("inventory")

        # polled until Walmart is done, then its items are being read (held at the gate)
        wait_for(lambda: worker.tick() or any(d for f, d, _s in world.seller.feed_reads if f == feed_id), 30,
                 "the read of the done feed's items")
        worker.tick()
        assert worker.state.open_feeds("inventory")  # the read is not over: tick() did not wait for it

        # meanwhile the worker handles events as usual
        assert deliver(worker, stock_records(world, ["WS-000065"], 7)) == []
        assert on_walmart(world, "WS-000065") == 7
    finally:
        gate.set()
        world.walmart.set_faults(feed_items_gate=None)
    wait_for(lambda: worker.tick() or not worker.state.open_feeds("inventory"), 30, "the feed to be confirmed")
    assert worker.state.confirmed(skus) == {sku: "41" for sku in skus}

    reads = [(details, status) for f, details, status in world.seller.feed_reads if f == feed_id]
    summaries = [status for details, status in reads if not details]
    pages = [status for details, status in reads if details]
    assert set(pages) == {"PROCESSED"} and len(pages) == math.ceil(len(skus) / DETAIL_PAGE)  # once, when done
    assert summaries[-1] == "PROCESSED" and "PROCESSED" not in summaries[:-1]
    assert len(summaries) == worker.feed_status_polls
    # one status poll per advised slot the feed reached (0.2, 0.8, 1.6, then every 3.2 s)
    with worker.state.conn.cursor() as cur:  # the feed is closed: its age since submission, by the same clock
        cur.execute("SELECT TIMESTAMPDIFF(MICROSECOND, submitted_at, NOW(3)) / 1e6 FROM walmart_feeds "
                    "WHERE feed_id = %s", (feed_id,))
        elapsed = float(cur.fetchone()[0])
    slots = {poll_slot(t / 100, FIRST_POLL_S) for t in range(int(elapsed * 100) + 1)} - {None}
    assert len(summaries) <= len(slots)
