"""The listener's fast path publishes what the full-parse path publishes (issue 19).

Both paths read the same store-shaped binlog (devstack/store_traffic.py: sessions, visitors, the
reports log, carts, cron, index rebuilds, and the orders, stock and price changes the sidecar
watches), each to topics of its own: the same events, in the same order per partition, with the
same source positions and ids. The traffic ends with a long stretch of transactions that touch
no watched table: the fast path never publishes for them, yet its checkpoint must still move to
their end. Every checkpoint either path writes is checked against the server's own answer for
that binlog offset (MariaDB's ``BINLOG_GTID_POS(file, pos)``): a transaction boundary, with the
GTID state the server has there.
"""

from __future__ import annotations

import uuid

import pytest

from cdc_listener.position import StartSpec
from cdc_listener.stream import current_position
from devstack.environment import prepare_environment
from devstack.store_traffic import StoreTraffic, create_runtime_tables, published
from tests.support.cdc_helpers import ListenerThread, wait_for

PRODUCTS = 200


@pytest.fixture(scope="module")
def binlog(stack, tmp_path_factory):
    env = prepare_environment(stack.endpoints, tmp_path_factory.mktemp("fastpath"), "open_source",
                              products=PRODUCTS, name=f"fastpath_{uuid.uuid4().hex[:8]}")
    with env.admin_connection(autocommit=False) as conn:
        create_runtime_tables(conn)
        start = current_position(conn)
        traffic = StoreTraffic(conn, PRODUCTS, env.seed.attribute_ids["price"])
        counts = traffic.run(12, rebuild_every=10)
        with conn.cursor() as cur:  # the long irrelevant stretch at the end
            for _ in range(400):
                traffic.page_view(cur)
        end = current_position(conn)
    assert 1 - counts.watched_rows / counts.total_rows >= 0.9  # the shape the fast path is for
    return env, start, end, counts


def _run(env, start, end, fast: bool) -> tuple[dict, list[tuple[str, int, str | None, str | None]]]:
    name = f"{'fast' if fast else 'full'}{uuid.uuid4().hex[:6]}"
    settings = env.settings(cdc={"name": name, "fast_path": fast, "checkpoint_interval_ms": 50},
                            kafka={"topic_prefix": f"fp-{name}"})
    seen: list[tuple[str, int, str | None, str | None]] = []
    with env.endpoints.mysql.connect(env.state_db) as state, ListenerThread(settings, StartSpec("position", start)):
        def reached_end() -> bool:
            with state.cursor() as cur:
                cur.execute("SELECT log_file, log_pos, gtid FROM cdc_checkpoint WHERE name = %s", (name,))
                row = cur.fetchone()
                server_gtid = None
                if row is not None:
                    cur.execute("SELECT BINLOG_GTID_POS(%s, %s)", (row[0], row[1]))
                    server_gtid = cur.fetchone()[0]
            state.commit()
            if row is None:
                return False
            if not seen or seen[-1][:2] != (row[0], row[1]):
                seen.append((row[0], int(row[1]), row[2], server_gtid))
            return (row[0], int(row[1])) >= (end.log_file, end.log_pos)

        wait_for(reached_end, 120, f"{name}'s checkpoint to reach {end}")
    return published(env.endpoints.bootstrap_servers, f"fp-{name}"), seen


def test_fast_path_publishes_what_the_full_parse_publishes(binlog) -> None:
    env, start, end, counts = binlog
    full, full_checkpoints = _run(env, start, end, fast=False)
    fast, fast_checkpoints = _run(env, start, end, fast=True)

    events = [e for part in full.values() for _k, e in part]
    # every stock and price row of the traffic became an event (the order rows translate to none)
    assert sum(1 for e in events if e["family"] in ("stock", "price")) == counts.stock_and_price_rows
    assert fast.keys() == full.keys()
    for part in full:
        assert fast[part] == full[part], f"{part}: the fast path published something else"

    # every checkpoint is a transaction boundary with the server's GTID state there
    for checkpoints in (full_checkpoints, fast_checkpoints):
        for log_file, log_pos, gtid, server_gtid in checkpoints:
            assert server_gtid is not None and gtid == server_gtid, (log_file, log_pos, gtid, server_gtid)
    # the irrelevant stretch at the end moved the fast path's checkpoint past it, through markers
    # (nothing was published for it), not only at the end
    assert fast_checkpoints[-1][:2] >= (end.log_file, end.log_pos)


def test_a_lone_change_is_published_and_checkpointed_without_waiting_for_a_heartbeat(binlog) -> None:
    """The fast path hands its batch to the publisher when the reader has read all the server sent
    (not at every transaction end): a single change on an idle store is still published at once.
    Once it is acknowledged and the stream is idle, the checkpoint covers it at once rather than at
    the next checkpoint interval (5 s here; heartbeats every 20 s), so a restart does not publish it
    again. Without that the first checkpoint came only at the interval."""
    env, _start, _end, _counts = binlog
    name = f"lone{uuid.uuid4().hex[:6]}"
    settings = env.settings(cdc={"name": name, "fast_path": True, "checkpoint_interval_ms": 5000,
                                 "heartbeat_s": 20, "watchdog_s": 45},
                            kafka={"topic_prefix": f"fp-{name}"})
    with env.admin_connection(autocommit=False) as conn:
        position = current_position(conn)
    with env.endpoints.mysql.connect(env.state_db) as state, \
            ListenerThread(settings, StartSpec("position", position)):
        with env.admin_connection(autocommit=False) as conn:
            traffic = StoreTraffic(conn, PRODUCTS, env.seed.attribute_ids["price"])
            with conn.cursor() as cur:
                traffic.page_view(cur)  # a skipped transaction first, then the one change, then another
                traffic.stock_import(cur, skus=1)
                traffic.page_view(cur)
            after = current_position(conn)

        def checkpointed() -> bool:
            with state.cursor() as cur:
                cur.execute("SELECT log_file, log_pos FROM cdc_checkpoint WHERE name = %s", (name,))
                row = cur.fetchone()
            state.commit()
            return row is not None and (row[0], int(row[1])) >= (after.log_file, after.log_pos)

        wait_for(checkpointed, 3, f"{name}'s checkpoint to pass the lone change ({after})")
        events = [e for part in published(env.endpoints.bootstrap_servers, f"fp-{name}").values()
                  for _k, e in part]
    assert [e["family"] for e in events] == ["stock"]
