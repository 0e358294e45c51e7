"""The listener against the real MariaDB binlog and broker: every change type, both editions."""

from __future__ import annotations

import uuid

import pytest

from devstack.environment import prepare_environment
from devstack.seed import ROW_ID_OFFSET
from tests.support.cdc_helpers import ListenerThread, TopicReader, create_order, of_type, wait_for


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def env(request, stack, tmp_path_factory):
    name = f"cdc_{request.param[:2]}_{uuid.uuid4().hex[:6]}"
    return prepare_environment(stack.endpoints, tmp_path_factory.mktemp(name), request.param,
                               products=60, name=name)


def settings_for(env, **cdc):
    return env.settings(cdc={"checkpoint_interval_ms": 100, **cdc})


def test_every_change_type_arrives_keyed_and_complete(env) -> None:
    staged = env.edition == "adobe_commerce"
    ids = env.seed.attribute_ids
    key_col = "row_id" if staged else "entity_id"
    row = (lambda e: ROW_ID_OFFSET + e) if staged else (lambda e: e)
    settings = settings_for(env)
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    with ListenerThread(settings), env.admin_connection() as conn, conn.cursor() as cur:
        # stock
        cur.execute("UPDATE inventory_source_item SET quantity = 41, status = 1 "
                    "WHERE sku = 'WS-000001' AND source_code = 'wh_east'")
        cur.execute("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) VALUES "
                    "(2, 'WS-000001', -2, '{\"event_type\":\"order_placed\",\"object_type\":\"order\","
                    "\"object_id\":\"\",\"object_increment_id\":\"2000000001\"}')")
        reservation_id = cur.lastrowid
        cur.execute("DELETE FROM inventory_reservation WHERE reservation_id = %s", (reservation_id,))
        cur.execute("UPDATE cataloginventory_stock_item SET qty = 77, is_in_stock = 1 WHERE product_id = 2")
        # price
        cur.execute(f"UPDATE catalog_product_entity_decimal SET value = 19.99 WHERE {key_col} = %s "
                    "AND attribute_id = %s", (row(3), ids["price"]))
        cur.execute(f"INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, {key_col}, value) "
                    "VALUES (%s, 0, %s, 14.50)", (ids["special_price"], row(4)))
        cur.execute(f"INSERT INTO catalog_product_entity_datetime (attribute_id, store_id, {key_col}, value) "
                    "VALUES (%s, 0, %s, '2026-01-01 00:00:00')", (ids["special_from_date"], row(4)))
        cur.execute(f"UPDATE catalog_product_entity_decimal SET value = 1 WHERE {key_col} = %s "
                    "AND attribute_id = %s", (row(5), ids["weight"]))  # not a price: no event
        # a new product, then its price, resolved through the stream-updated map
        if staged:
            cur.execute("INSERT INTO sequence_product () VALUES ()")
            new_entity = cur.lastrowid
            cur.execute("INSERT INTO catalog_product_entity (entity_id, attribute_set_id, sku) "
                        "VALUES (%s, 4, 'WS-NEW-1')", (new_entity,))
        else:
            cur.execute("INSERT INTO catalog_product_entity (attribute_set_id, sku) VALUES (4, 'WS-NEW-1')")
        new_key = cur.lastrowid
        cur.execute(f"INSERT INTO catalog_product_entity_decimal (attribute_id, store_id, {key_col}, value) "
                    "VALUES (%s, 0, %s, 33.00)", (ids["price"], new_key))
        if staged:  # a scheduled version's price is not live: no event; moving versions is
            cur.execute("UPDATE catalog_product_entity_decimal SET value = 1.11 WHERE row_id = %s "
                        "AND attribute_id = %s", (2 * ROW_ID_OFFSET + 50, ids["price"]))
            cur.execute("UPDATE catalog_product_entity SET updated_in = updated_in + 60 WHERE row_id = %s",
                        (ROW_ID_OFFSET + 50,))
        # orders: shipment with a track added later, cancellations, a credit memo
        order_id, items = create_order(cur, "2000000001", ["WS-000006", "WS-000007"])
        cur.execute("INSERT INTO sales_shipment (order_id, store_id, increment_id, total_qty) "
                    "VALUES (%s, 2, '2000000001', 2)", (order_id,))
        shipment_id = cur.lastrowid
        cur.execute("INSERT INTO sales_shipment_item (parent_id, order_item_id, sku, qty) "
                    "VALUES (%s, %s, 'WS-000006', 2)", (shipment_id, items[0]))
        cur.execute("INSERT INTO sales_shipment_track (parent_id, order_id, track_number, title, "
                    "carrier_code) VALUES (%s, %s, '1Z999', 'UPS', 'ups')", (shipment_id, order_id))
        cur.execute("INSERT INTO sales_shipment_track (parent_id, order_id, track_number, title, "
                    "carrier_code) VALUES (%s, %s, '9400111', 'USPS', 'usps')", (shipment_id, order_id))
        cur.execute("UPDATE sales_order_item SET qty_canceled = 1 WHERE item_id = %s", (items[1],))
        cur.execute("UPDATE sales_order SET status = 'processing', updated_at = NOW() WHERE entity_id = %s",
                    (order_id,))  # no state change: no event
        second_order, _ = create_order(cur, "2000000002", ["WS-000008"], state="new")
        cur.execute("UPDATE sales_order SET state = 'canceled', status = 'canceled' WHERE entity_id = %s",
                    (second_order,))
        cur.execute("INSERT INTO sales_creditmemo (order_id, store_id, increment_id, grand_total, state) "
                    "VALUES (%s, 2, '2000000001', 10, 2)", (order_id,))
        memo_id = cur.lastrowid
        cur.execute("INSERT INTO sales_creditmemo_item (parent_id, order_item_id, sku, qty, row_total) "
                    "VALUES (%s, %s, 'WS-000006', 1, 5)", (memo_id, items[0]))

        events = reader.until(lambda ev: len(of_type(ev, "refund", "creditmemo_item")) == 1,
                              what="the last change (credit memo item)")
    reader.close()

    [source_item] = of_type(events, "stock", "source_item")
    assert source_item["key"] == "WS-000001" and source_item["_topic"].endswith(".stock")
    assert source_item["after"]["quantity"] == "41.0000" and source_item["entity"]["source_code"] == "wh_east"
    reservations = of_type(events, "stock", "reservation")
    assert [r["op"] for r in reservations] == ["insert", "delete"]
    assert reservations[0]["reservation"] == {"event_type": "order_placed", "object_type": "order",
                                              "object_id": "", "object_increment_id": "2000000001"}
    [legacy] = of_type(events, "stock", "legacy_stock_item")
    assert legacy["key"] == "WS-000002" and legacy["after"]["qty"] == "77.0000"

    prices = of_type(events, "price", "price")
    by_key = {(p["key"], p["entity"]["attribute"]): p for p in prices}
    assert by_key[("WS-000003", "price")]["after"]["value"] == "19.990000"
    assert by_key[("WS-000004", "special_price")]["op"] == "insert"
    assert by_key[("WS-NEW-1", "price")]["after"]["value"] == "33.000000"
    assert ("WS-000050", "price") not in by_key  # the scheduled version's price
    assert {p["key"] for p in prices} == {"WS-000003", "WS-000004", "WS-NEW-1"}
    [window] = of_type(events, "price", "special_price_window")
    assert window["key"] == "WS-000004" and window["entity"]["attribute"] == "special_from_date"
    if staged:
        assert window["entity"]["row_id"] == ROW_ID_OFFSET + 4 and window["entity"]["entity_id"] == 4
        versions = of_type(events, "price", "staging_version")
        assert {v["key"] for v in versions} == {"WS-NEW-1", "WS-000050"}
    [product] = of_type(events, "catalog", "product")
    assert product["key"] == "WS-NEW-1" and product["op"] == "insert"

    assert [e["key"] for e in of_type(events, "shipment", "shipment")] == [str(order_id)]
    [ship_item] = of_type(events, "shipment", "shipment_item")
    assert ship_item["key"] == str(order_id) and ship_item["entity"]["order_item_id"] == items[0]
    tracks = of_type(events, "shipment", "shipment_track")
    assert [t["after"]["carrier_code"] for t in tracks] == ["ups", "usps"]
    assert all(t["key"] == str(order_id) for t in tracks)
    [item_cancel] = of_type(events, "cancellation", "order_item_canceled")
    assert item_cancel["key"] == str(order_id) and item_cancel["after"]["qty_canceled"] == "1.0000"
    [order_cancel] = of_type(events, "cancellation", "order_canceled")
    assert order_cancel["key"] == str(second_order) and order_cancel["before"]["state"] == "new"
    [memo] = of_type(events, "refund", "creditmemo")
    assert memo["key"] == str(order_id) and memo["after"]["grand_total"] == "10.0000"

    # Envelope: unique deterministic ids, source position, schema version.
    assert len({e["event_id"] for e in events}) == len(events)
    for event in events:
        assert event["schema_version"] == 1
        assert event["source"]["database"] == env.commerce_db
        assert event["source"]["gtid"] and event["source"]["txn"] == event["source"]["gtid"]


def test_published_messages_validate_against_the_event_model(env) -> None:
    """The listener serialises dicts for speed; the pydantic model is the contract they meet."""
    from domain.events import ChangeEvent

    settings = settings_for(env)
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    reader.until(lambda ev: len(ev) > 10, 30, "events from the first test")
    reader.close()
    for raw in reader.events:
        raw = {k: v for k, v in raw.items() if not k.startswith("_")}
        event = ChangeEvent.model_validate(raw)
        assert event.model_dump(mode="json") == raw


def test_the_listener_reports_itself_to_the_server_as_a_replica(env) -> None:
    """A DBA sees who reads the binlog: SHOW SLAVE HOSTS names the sidecar by its server_id."""
    settings = settings_for(env)
    with ListenerThread(settings), env.admin_connection() as conn, conn.cursor() as cur:
        def registered() -> list[tuple]:
            cur.execute("SHOW SLAVE HOSTS")
            return [row for row in cur.fetchall() if int(row[0]) == settings.commerce_db.server_id]
        rows = wait_for(registered, 30, "the listener in SHOW SLAVE HOSTS")
        assert rows[0][1] == f"walmart-sync-{settings.cdc.name}"


def test_a_second_replica_with_the_same_server_id_is_refused_before_it_streams(env) -> None:
    """Two replicas with one server_id kick each other off about once a second; the listener's
    preflight sees the one already streaming (it reports itself) and refuses to start."""
    from cdc_listener.preflight import check_server_id
    from plumbing.db import connect_commerce

    settings = settings_for(env)
    with env.admin_connection() as admin, admin.cursor() as cur:  # the grant that lets it read the list
        cur.execute("GRANT REPLICATION MASTER ADMIN ON *.* TO %s@'%%'", (settings.commerce_db.user,))
    with ListenerThread(settings):
        conn = connect_commerce(settings)  # the sidecar's own account
        try:
            def clash() -> list:
                return [f for f in check_server_id(conn, settings.commerce_db.server_id) if not f.ok]
            [finding] = wait_for(clash, 30, "the clash to show")
            assert "used by a connected replica" in finding.detail
            other_id = check_server_id(conn, settings.commerce_db.server_id + 1)
            assert all(f.ok for f in other_id)
            # without the list, the other binlog reader of this account is still pointed out
            [reader] = [f for f in other_id if f.warning]
            assert "Binlog Dump" not in reader.detail and "with this account" in reader.detail
        finally:
            conn.close()
        with env.admin_connection() as admin, admin.cursor() as cur:
            cur.execute("REVOKE REPLICATION MASTER ADMIN ON *.* FROM %s@'%%'", (settings.commerce_db.user,))
        conn = connect_commerce(settings)
        try:
            findings = check_server_id(conn, settings.commerce_db.server_id)
            assert all(f.ok for f in findings) and any(f.warning for f in findings)
            assert "REPLICATION MASTER ADMIN" in findings[0].detail
        finally:
            conn.close()
