"""ListingWorker.handle()/tick() called directly with catalog events: products created in Commerce
are put on the Walmart channel (handle) and matched to Walmart's catalogue by UPC (tick), against
the Commerce database, the state schema and the Walmart emulator's catalogue and match feeds."""

from __future__ import annotations

from datetime import datetime

import pytest

from devstack.walmart_catalogue import catalogue_entries
from mappings.identifiers import with_check_digit
from sync_workers.runtime.errors import classify
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import ValueState
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import handler_world, walmart_down
from tests.support.records import deliver, raw_record


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("listings"), listed=[], push_skus="matched",
                       listings={"auto_add": "all", "match_interval_s": 0.05}) as running:
        running.walmart.seed_catalog(catalogue_entries(20))  # every 7th seeded product is not in it
        yield running


@pytest.fixture(scope="module")
def worker(world):
    return world.handler("listings")


def upc_of(index: int) -> str:
    return with_check_digit(f"81{index:09d}")


def create_product(world, index: int, attribute_set: str = "Default", price: float = 19.99) -> list:
    """A product the merchant creates (with UPC, price and weight); the catalog event of its row."""
    ids = world.env.seed.attribute_ids
    sku = f"WS-{index:06d}"
    change = world.changes.insert("catalog_product_entity", "INSERT INTO catalog_product_entity "
                                  "(attribute_set_id, type_id, sku) VALUES (%s, 'simple', %s)",
                                  (world.env.seed.attribute_set_ids[attribute_set], sku))
    entity = change[3]["entity_id"]
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO catalog_product_entity_varchar (attribute_id, store_id, entity_id, value) "
                    "VALUES (%s, 0, %s, %s)", (ids["upc"], entity, upc_of(index)))
        cur.executemany("INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, entity_id, value) "
                        "VALUES (%s, 0, %s, %s)", [(ids["price"], entity, price), (ids["weight"], entity, 2.5)])
    return world.changes.changes([change])


def seeded_product_event(world, sku: str, op: str = "insert") -> list:
    """The catalog event of a seeded product's row (as if it had just been created, or changed)."""
    row = world.changes.row("catalog_product_entity", sku=sku)
    if op == "insert":
        return world.changes.changes([("catalog_product_entity", "insert", None, row)])
    return world.changes.changes([("catalog_product_entity", "update", {**row, "type_id": "virtual"}, row)])


def listings(world) -> dict:
    return {row.sku: row for row in ListingStore(world.state_conn).listing_rows(limit=10_000)}


def match_round(worker) -> None:
    """tick() until no listing is a draft or in an open match feed."""
    store = worker.matcher.store
    wait_for(lambda: worker.tick() or not (store.with_status("draft", "candidate", "submitted")), 10,
             "the match round to end")
    worker.wait_round()


def test_new_products_are_added_then_matched_by_tick(world, worker) -> None:
    index = 901
    world.walmart.seed_catalog([{"itemId": "777000901", "title": "A new product", "gtin": upc_of(index).zfill(14)}])
    records = create_product(world, index) + seeded_product_event(world, "WS-000007")  # WS-000007: not at Walmart
    assert [r.key for r in records] == [b"WS-000901", b"WS-000007"]

    submitted = world.calls("feed_submit")["feed_submit"]

    assert deliver(worker, records) == []

    found = listings(world)
    assert {sku: (found[sku].status, found[sku].id_type, found[sku].product_code)
            for sku in ("WS-000901", "WS-000007")} == \
        {"WS-000901": ("draft", "upc", upc_of(901)), "WS-000007": ("draft", "upc", upc_of(7))}
    assert world.calls("feed_submit")["feed_submit"] == submitted  # handle() only adds; tick() matches

    match_round(worker)

    found = listings(world)
    new = found["WS-000901"]
    assert (new.status, new.walmart_item_id, new.wpid) == ("matched", "777000901", "W777000901")
    assert (found["WS-000007"].status, found["WS-000007"].error_code, found["WS-000007"].reason) == \
        ("unmatched", "NO_CATALOGUE_ITEM", f"no Walmart catalogue item has UPC {upc_of(7)}")
    assert "WS-000901" in world.seller.items and world.seller.items["WS-000901"]["price"]["amount"] == 19.99
    assert world.calls("feed_submit")["feed_submit"] == submitted + 1
    # the new match is due for its first inventory and price push
    state = world.state_conn
    assert "WS-000901" in ValueState(state, "inventory").due(datetime.now())
    assert "WS-000901" in ValueState(state, "price").due(datetime.now())


def test_the_same_records_twice_change_nothing_for_a_matched_product(world, worker) -> None:
    index = 902
    world.walmart.seed_catalog([{"itemId": "777000902", "title": "Another product", "gtin": upc_of(index).zfill(14)}])
    records = create_product(world, index)
    assert deliver(worker, records) == []
    match_round(worker)
    assert listings(world)["WS-000902"].status == "matched"
    calls = dict(world.seller.calls)

    assert deliver(worker, records) == []
    assert deliver(worker, records + records) == []
    worker.tick()
    worker.wait_round()
    assert dict(world.seller.calls) == calls
    row = listings(world)["WS-000902"]
    assert (row.status, row.walmart_item_id) == ("matched", "777000902")


def test_only_product_inserts_of_the_chosen_attribute_sets_are_added(world) -> None:
    settings = world.with_settings(listings={"auto_add": "attribute_sets", "attribute_sets": ["Walmart Apparel"]})
    worker = world.handler("listings", settings)
    # WS-000003 is in Default, WS-000012 in Walmart Apparel; an update of WS-000016 (Apparel) is no creation
    records = (seeded_product_event(world, "WS-000003") + seeded_product_event(world, "WS-000012")
               + seeded_product_event(world, "WS-000016", op="update"))
    assert deliver(worker, records) == []
    found = listings(world)
    assert "WS-000003" not in found and "WS-000016" not in found
    assert found["WS-000012"].status == "draft"
    match_round(worker)
    assert listings(world)["WS-000012"].status == "matched"


def test_products_not_in_commerce_and_other_catalog_events_add_nothing(world, worker) -> None:
    topic = f"{world.prefix}.catalog"
    records = [raw_record(topic, {"schema_version": 1, "family": "catalog", "type": "product", "op": "insert",
                                  "key": "NOT-IN-COMMERCE", "sku": "NOT-IN-COMMERCE"}),
               raw_record(topic, {"schema_version": 1, "family": "catalog", "type": "product", "op": "insert",
                                  "key": "product:5"}),                     # no SKU
               *seeded_product_event(world, "WS-000005", op="update")]  # not a creation
    before = listings(world)
    calls = dict(world.seller.calls)
    assert deliver(worker, records, envelope=False) == []
    worker.tick()
    worker.wait_round()
    assert listings(world).keys() == before.keys()
    assert dict(world.seller.calls) == calls


def test_a_malformed_catalog_event_is_dead_lettered_not_fatal(world) -> None:
    settings = world.with_settings(listings={"auto_add": "attribute_sets", "attribute_sets": ["Walmart Apparel"]})
    worker = world.handler("listings", settings)
    junk = raw_record(f"{world.prefix}.catalog", {"schema_version": 1, "family": "catalog", "type": "product",
                                                  "op": "insert", "key": "WS-000011", "sku": "WS-000011",
                                                  "after": {"attribute_set_id": "Apparel"}})
    try:
        dead = deliver(worker, [junk], envelope=False)
    except Exception as exc:  # what the loop would make of it is the question
        assert classify(exc) == "dead_letter", f"{type(exc).__name__}: {exc} is {classify(exc)}"
    else:
        assert [letter.record for letter in dead] == [junk]
        assert dead[0].reason


def test_a_closed_state_store_connection_fails_the_batch_for_a_retry(world) -> None:
    worker = world.handler("listings")
    records = seeded_product_event(world, "WS-000009")
    worker.matcher.store.conn.close()
    with pytest.raises(Exception) as failure:
        deliver(worker, records)
    assert classify(failure.value) == "retry"
    assert "WS-000009" not in listings(world)


def test_walmart_unavailable_during_tick_leaves_drafts_for_the_next_round(world) -> None:
    worker = world.handler("listings")
    assert deliver(worker, seeded_product_event(world, "WS-000010")) == []
    assert listings(world)["WS-000010"].status == "draft"
    faults = world.seller.faults_injected["error"]
    with walmart_down(world):
        worker.tick()  # the round (on its own thread) fails: logged by the next tick, not raised
        worker.wait_round()
        worker.tick()
        assert world.seller.faults_injected["error"] > faults
        assert listings(world)["WS-000010"].status == "draft"
    match_round(worker)
    row = listings(world)["WS-000010"]
    assert (row.status, row.walmart_item_id) == ("matched", "500000010")
