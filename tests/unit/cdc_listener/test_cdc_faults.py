"""The listener's guarantees under faults, with real processes, binlog and broker."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from collections import Counter

import pymysql
import pytest

from cdc_listener.position import ListenerError, PurgedBinlogError, parse_start
from devstack.environment import prepare_environment
from devstack.mariadb import free_port
from devstack.processes import child_pids, pid_alive
from tests.support.cdc_helpers import (
    ListenerThread,
    TopicReader,
    listen_process,
    mariadb_binlog_dump_ids,
    wait_for,
)
from tests.support.tcp_proxy import SilentableProxy

CHANGES = 20_000


@pytest.fixture
def env(stack, tmp_path):
    name = f"fault_{uuid.uuid4().hex[:8]}"
    return prepare_environment(stack.endpoints, tmp_path, "open_source", products=200, name=name)


def _checkpoint(env):
    with env.endpoints.mysql.connect(env.state_db) as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT log_file, log_pos, resync_due FROM cdc_checkpoint WHERE name = 'default'")
        except pymysql.err.ProgrammingError:  # the listener has not created it yet
            return None
        return cur.fetchone()


def _write_mixed_changes(env, count: int, done: threading.Event) -> None:
    """Reservations (unique increment id), source-item quantities and prices, small transactions."""
    price = env.seed.attribute_ids["price"]
    with env.admin_connection(autocommit=False) as conn, conn.cursor() as cur:
        n = 0
        while n < count:
            for _ in range(10):
                sku = f"WS-{(n % 200) + 1:06d}"
                kind = n % 3
                if kind == 0:
                    cur.execute("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) "
                                "VALUES (2, %s, -1, %s)", (sku, f'{{"event_type":"order_placed",'
                                f'"object_type":"order","object_id":"","object_increment_id":"{n}"}}'))
                elif kind == 1:
                    cur.execute("UPDATE inventory_source_item SET quantity = %s WHERE sku = %s AND "
                                "source_code = 'default'", (100_000 + n, sku))
                else:
                    cur.execute("UPDATE catalog_product_entity_decimal SET value = %s WHERE "
                                "entity_id = %s AND attribute_id = %s AND store_id = 0",
                                (f"{1000 + n / 100:.2f}", (n % 200) + 1, price))
                n += 1
            conn.commit()
    done.set()


def _identity(event: dict) -> tuple | None:
    if event["type"] == "reservation" and event["op"] == "insert":
        return ("r", event["reservation"]["object_increment_id"])
    if event["type"] == "source_item":
        return ("q", event["after"]["quantity"].split(".")[0])
    if event["type"] == "price" and event["entity"]["attribute"] == "price":
        return ("p", event["after"]["value"])
    return None


def test_kill_minus_nine_mid_stream_loses_nothing(env) -> None:
    settings = env.settings()
    proc = listen_process(env.config_path)
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    try:
        wait_for(lambda: _checkpoint(env) is not None, 30, "first checkpoint")
        done = threading.Event()
        writer = threading.Thread(target=_write_mixed_changes, args=(env, CHANGES, done))
        writer.start()
        reader.until(lambda ev: len(ev) >= CHANGES // 4, 120, "a quarter of the changes")
        publisher_pids = child_pids(proc.pid)
        assert publisher_pids, "the listener runs a publisher process (and spawn's resource tracker)"
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        wait_for(lambda: not any(pid_alive(p) for p in publisher_pids), 15,
                 "the listener's child processes to exit with it")
        killed_at = len(reader.events)
        proc = listen_process(env.config_path)
        writer.join(300)
        assert done.is_set()
        expected = {("r", str(n)) for n in range(0, CHANGES, 3)}
        expected |= {("q", str(100_000 + n)) for n in range(1, CHANGES, 3)}
        expected |= {("p", f"{1000 + n / 100:.2f}0000") for n in range(2, CHANGES, 3)}

        def complete(events):
            return expected <= {_identity(e) for e in events}

        events = reader.until(complete, 180, "every change after the restart")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        reader.close()
    ids = Counter(e["event_id"] for e in events)
    duplicates = sum(c - 1 for c in ids.values())
    print(f"{CHANGES} changes, killed after {killed_at} events, {duplicates} duplicates replayed")
    missing = expected - {_identity(e) for e in events}
    assert missing == set()
    # A replayed change carries the same event id as its first delivery.
    by_identity: dict[tuple, set[str]] = {}
    for event in events:
        identity = _identity(event)
        if identity:
            by_identity.setdefault(identity, set()).add(event["event_id"])
    assert all(len(v) == 1 for v in by_identity.values())


def test_standby_takes_over_when_active_dies(env) -> None:
    settings = env.settings()
    first = listen_process(env.config_path)
    wait_for(lambda: _checkpoint(env) is not None, 30, "first listener active")
    second = listen_process(env.config_path, overrides=(f"ops.port={free_port()}",))
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    try:
        time.sleep(2)
        assert second.poll() is None, second.stderr.read() if second.poll() is not None else ""
        # Same ops port as the active one: refused with a clear message, not a traceback.
        third = listen_process(env.config_path)
        _out, err = third.communicate(timeout=30)
        assert third.returncode == 2 and "set ops.port to a free port" in err
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        killed = time.monotonic()
        with env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("UPDATE inventory_source_item SET quantity = 4242 WHERE sku = 'WS-000009' "
                        "AND source_code = 'default'")
        reader.until(lambda ev: any(e["type"] == "source_item" and e["after"]["quantity"] == "4242.0000"
                                    for e in ev), 30, "the change through the standby")
        print(f"standby delivered a change made after the kill in {time.monotonic() - killed:.1f}s")
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        reader.close()


def test_purged_binlog_is_a_clear_error(env) -> None:
    settings = env.settings()
    with ListenerThread(settings):
        pass  # leaves a checkpoint
    log_file = _checkpoint(env)[0]
    with env.endpoints.mysql.connect() as conn, conn.cursor() as cur:
        def purged() -> bool:
            # MariaDB keeps a binlog until InnoDB's binlog checkpoint has passed it: retry.
            cur.execute("FLUSH BINARY LOGS")
            cur.execute("SHOW MASTER STATUS")
            purged.newest = cur.fetchone()[0]
            cur.execute(f"PURGE BINARY LOGS TO '{purged.newest}'")
            cur.execute("SHOW BINARY LOGS")
            purged.remaining = [row[0] for row in cur.fetchall()]
            return log_file not in purged.remaining

        wait_for(purged, 30, f"{log_file} purged")
        newest, oldest = purged.newest, purged.remaining[0]
    proc = listen_process(env.config_path)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert f"points into binlog file {log_file}, which the server no longer has" in err
    assert f"oldest available: {oldest}" in err and "--from current" in err
    # The documented recovery works and records that a full resync is due.
    with ListenerThread(settings, parse_start("current")):
        pass
    assert _checkpoint(env)[0] == newest and _checkpoint(env)[2] == 1
    # shipments, cancellations and refunds made in between are gaps for the order workers to repair
    with env.endpoints.mysql.connect(env.state_db) as conn, conn.cursor() as cur:
        cur.execute("SELECT family, detected_by, reason FROM kafka_gaps WHERE repaired_at IS NULL ORDER BY family")
        gaps = cur.fetchall()
    assert [(family, by) for family, by, _ in gaps] == [("cancellation", "listener"), ("refund", "listener"),
                                                         ("shipment", "listener")]
    assert all("--from current" in reason for _, _, reason in gaps)
    # After the recovery, a plain start resumes from the new checkpoint.
    with ListenerThread(settings) as resumed:
        assert resumed.error is None
    assert not isinstance(resumed.error, PurgedBinlogError)


def test_preflight_refuses_a_bad_server(env) -> None:
    with env.endpoints.mysql.connect() as conn, conn.cursor() as cur:
        cur.execute("SET GLOBAL binlog_row_image = 'MINIMAL'")
        try:
            with pytest.raises(ListenerError) as caught:
                ListenerThread(env.settings(commerce_db={"server_id": 1})).listener.run()
        finally:
            cur.execute("SET GLOBAL binlog_row_image = 'FULL'")
    text = str(caught.value)
    assert "binlog_row_image: is MINIMAL; set binlog_row_image=FULL" in text
    assert "server_id: commerce_db.server_id 1 is the source server's own id" in text


def test_add_column_and_big_transaction_and_killed_connection(env) -> None:
    settings = env.settings(cdc={"checkpoint_interval_ms": 100})
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    with ListenerThread(settings) as running, env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE inventory_source_item ADD COLUMN note VARCHAR(32) NULL")
        cur.execute("UPDATE inventory_source_item SET quantity = 5151, note = 'x' WHERE sku = 'WS-000010' "
                    "AND source_code = 'default'")
        reader.until(lambda ev: any(e["type"] == "source_item" and e["after"]["quantity"] == "5151.0000"
                                    for e in ev), 30, "an update after ADD COLUMN")
        # One transaction of 50,000 rows.
        cur.execute("BEGIN")
        rows = [(2, f"WS-{(i % 200) + 1:06d}", -1, f'{{"event_type":"bulk","object_increment_id":"b{i}"}}')
                for i in range(50_000)]
        cur.executemany("INSERT INTO inventory_reservation (stock_id, sku, quantity, metadata) "
                        "VALUES (%s, %s, %s, %s)", rows)
        cur.execute("COMMIT")
        reader.until(lambda ev: len([e for e in ev if e["type"] == "reservation"]) >= 50_000, 120,
                     "the 50,000-row transaction")
        # The server drops the binlog connection: the listener reconnects and loses nothing.
        for thread_id in mariadb_binlog_dump_ids(cur):
            cur.execute(f"KILL CONNECTION {thread_id}")
        cur.execute("UPDATE inventory_source_item SET quantity = 6161 WHERE sku = 'WS-000011' "
                    "AND source_code = 'default'")
        reader.until(lambda ev: any(e["type"] == "source_item" and e["after"]["quantity"] == "6161.0000"
                                    for e in ev), 60, "a change after the connection was killed")
        assert running.listener.metrics.reconnects._value.get() >= 1
    reader.close()
    bulk = [e for e in reader.events if e["type"] == "reservation"]
    assert len({e["reservation"]["object_increment_id"] for e in bulk}) == 50_000


def test_state_store_cut_is_ridden_out_without_ending_the_listener(env) -> None:
    """Every state-store connection KILLed again and again for 8 s (a network cut, a MariaDB
    restart) while changes keep coming, past the 3 s leader lease: a checkpoint write failed and
    ended the listener, and so did a statement after it took the lease again between two kills
    (the fault run's state-store round found these; only a supervisor's restart brought it back). Now the
    connections are revived, the listener stands by while it holds no lease, takes it again, and
    every change reaches Kafka, the position saved once the store answers."""
    settings = env.settings(cdc={"checkpoint_interval_ms": 100, "lease_s": 3, "lease_renew_s": 1})
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    try:
        with ListenerThread(settings) as running, env.admin_connection() as conn, conn.cursor() as cur:
            before = wait_for(lambda: _checkpoint(env), 30, "a first checkpoint")
            killed = quantity = 0
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline:
                quantity += 1
                cur.execute("UPDATE inventory_source_item SET quantity = %s WHERE sku = 'WS-000013' "
                            "AND source_code = 'default'", (8000 + quantity,))
                cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE DB = %s AND ID <> CONNECTION_ID()",
                            (env.state_db,))
                for (thread_id,) in cur.fetchall():
                    try:
                        cur.execute(f"KILL CONNECTION {int(thread_id)}")
                        killed += 1
                    except pymysql.MySQLError:  # ended meanwhile
                        pass
                time.sleep(0.05)
            assert killed > 0
            reader.until(lambda ev: any(e["type"] == "source_item" and e["after"]["quantity"] ==
                                        f"{8000 + quantity}.0000" for e in ev), 60, "the last change of the cut")
            wait_for(lambda: (now := _checkpoint(env)) is not None and now[:2] != before[:2], 30,
                     "the checkpoint saved again after the cut")
            assert running.thread.is_alive() and running.error is None, running.error
            assert running.listener.state == "active"
    finally:
        reader.close()


def test_watchdog_reconnects_a_silent_stream(env) -> None:
    proxy = SilentableProxy(env.sidecar.host, env.sidecar.port)
    settings = env.settings(commerce_db={"port": proxy.port},
                            cdc={"heartbeat_s": 0.5, "watchdog_s": 2, "checkpoint_interval_ms": 100})
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    try:
        with ListenerThread(settings) as running, env.admin_connection() as conn, conn.cursor() as cur:
            proxy.silence_existing()
            cur.execute("UPDATE inventory_source_item SET quantity = 7373 WHERE sku = 'WS-000012' "
                        "AND source_code = 'default'")
            reader.until(lambda ev: any(e["type"] == "source_item" and e["after"]["quantity"] == "7373.0000"
                                        for e in ev), 30, "a change made while the stream was silent")
            assert running.listener.metrics.reconnects._value.get() >= 1
    finally:
        proxy.close()
        reader.close()


def test_resumes_by_gtid_after_the_source_server_changes(env) -> None:
    """A failover to another server: file positions differ, the MariaDB GTID position holds."""
    settings = env.settings(cdc={"checkpoint_interval_ms": 100})
    with ListenerThread(settings):
        pass  # a checkpoint on server_id 1
    with env.endpoints.mysql.connect(env.state_db) as state, state.cursor() as cur:
        # The new primary's binlog files have other names: the old file/offset cannot be used.
        cur.execute("UPDATE cdc_checkpoint SET log_file = 'old-primary-bin.000042' WHERE name = 'default'")
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    with env.endpoints.mysql.connect() as admin, admin.cursor() as cur:
        cur.execute("SET GLOBAL server_id = 2")
        try:
            with env.admin_connection() as conn, conn.cursor() as writer:
                writer.execute("UPDATE inventory_source_item SET quantity = 8282 WHERE sku = 'WS-000013' "
                               "AND source_code = 'default'")
            with ListenerThread(settings):
                reader.until(lambda ev: any(e["type"] == "source_item"
                                            and e["after"]["quantity"] == "8282.0000" for e in ev),
                             30, "the change made while no listener ran, after the server change")
        finally:
            cur.execute("SET GLOBAL server_id = 1")
    reader.close()
    [event] = [e for e in reader.events if e["type"] == "source_item"]
    assert event["source"]["server_id"] == 2 and event["source"]["gtid"].startswith("0-2-")


def _publisher_restarts(running: ListenerThread) -> float:
    counter = getattr(running.listener.metrics, "publisher_restarts", None)
    return counter._value.get() if counter is not None else 0


def test_kafka_away_past_the_delivery_timeout_is_ridden_out_from_the_checkpoint(stack, env) -> None:
    """The broker frozen longer than the producer's delivery timeout: events in flight are not
    acknowledged, so the listener publishes again from its checkpoint with a fresh publisher (the
    process keeps the leader lock and runs on) and every change made before, during and after
    arrives. More changes before the outage than after it: the fresh publisher's acknowledgement
    count starts at 0, which once made the listener's counter go negative and crash it."""
    settings = env.settings(cdc={"checkpoint_interval_ms": 100},
                            kafka={"producer": {"delivery_timeout_ms": 3000, "request_timeout_ms": 2000,
                                                "linger_ms": 0}})
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)

    def quantities(events: list[dict]) -> set[int]:
        return {int(e["after"]["quantity"].split(".")[0]) for e in events if e["type"] == "source_item"}

    try:
        with ListenerThread(settings) as running, env.admin_connection() as conn, conn.cursor() as cur:
            def change(quantity: int) -> None:
                cur.execute("UPDATE inventory_source_item SET quantity = %s WHERE sku = %s AND source_code = "
                            "'default'", (quantity, f"WS-{quantity % 200 + 1:06d}"))

            for quantity in range(8000, 8020):
                change(quantity)
            reader.until(lambda ev: set(range(8000, 8020)) <= quantities(ev), 30, "the changes before the outage")
            wait_for(lambda: running.listener.metrics.acked.labels("stock")._value.get() >= 20, 30,
                     "their acknowledgements counted")
            stack.broker.pause()
            try:
                for quantity in range(8020, 8022):
                    change(quantity)
                wait_for(lambda: running.error or _publisher_restarts(running) >= 1, 30,
                         "the listener to give up on the frozen broker")
            finally:
                stack.broker.resume()
            assert running.error is None, f"the listener stopped: {running.error!r}"
            change(8022)
            reader.until(lambda ev: set(range(8000, 8023)) <= quantities(ev), 90,
                         "every change, the ones made while Kafka was away included")
            assert running.error is None and running.thread.is_alive() and running.listener.state == "active"
    finally:
        stack.broker.resume()
        reader.close()
