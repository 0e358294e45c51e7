"""Hot standby when the active listener's host dies with its sockets half-open (issue 18, item 5).

A SIGSTOPped process is the half-open case: its TCP connections stay established, so the server
sees nothing wrong (a ``GET_LOCK`` held on such a connection outlived it by ``wait_timeout``, 8 h).
The standby must take over within the bound the lease settings state, and the old holder, thawed,
must publish nothing (its events would duplicate the new leader's).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

import pymysql
import pytest
import requests

from devstack.environment import prepare_environment
from devstack.mariadb import free_port
from devstack.processes import child_pids
from tests.support.cdc_helpers import REPO, TopicReader, parse_json_logs, wait_for

LEASE_S = 3.0
RENEW_S = 1.0
STANDBY_POLL_S = 0.5
# The new leader's first binlog connection stays silent while the frozen holder's dump thread (same
# server_id) is on the server, until the stream watchdog reconnects it: part of the bound.
WATCHDOG_S = 3.0
# The standby's UPDATE and this test's own query of the lease row, on a loaded two-core machine.
ROUND_TRIPS_S = 1.5
# What the standby spends between taking the lease and its first event on Kafka (catalog load,
# publisher process spawn, binlog connect): not a lease setting, so a generous allowance.
STARTUP_ALLOWANCE_S = 30.0


@pytest.fixture
def env(stack, tmp_path):
    return prepare_environment(stack.endpoints, tmp_path, "open_source", products=20,
                               name=f"lease_{uuid.uuid4().hex[:8]}")


def _listen(env, log: Path, port: int) -> subprocess.Popen[bytes]:
    """``walmart-sync listen`` with its JSON log in a file (read while it runs, unlike a pipe)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("WALMART_SYNC")}
    sets = [f"cdc.lease_s={LEASE_S}", f"cdc.lease_renew_s={RENEW_S}", f"cdc.standby_poll_s={STANDBY_POLL_S}",
            "cdc.checkpoint_interval_ms=100", f"cdc.watchdog_s={WATCHDOG_S}", f"ops.port={port}"]
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "--config", str(env.config_path),
                                 "--log-format", "json", *[a for s in sets for a in ("--set", s)], "listen"],
                                cwd=REPO, env=environ, stdout=subprocess.DEVNULL, stderr=out)


def _holder(env) -> str | None:
    with env.endpoints.mysql.connect(env.state_db) as conn, conn.cursor() as cur:
        try:
            cur.execute("SELECT holder FROM leader_lease WHERE name = 'cdc.default' AND expires_at > NOW(6)")
        except pymysql.err.ProgrammingError:
            return None
        row = cur.fetchone()
    return row[0] if row else None


def _held_by(env, proc: subprocess.Popen[bytes]) -> bool:
    holder = _holder(env)
    return holder is not None and f":{proc.pid}:" in holder


def _binlog_end(env) -> tuple[str, int]:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SHOW MASTER STATUS")
        end = cur.fetchone()
    return end[0], int(end[1])


def _checkpoint_past(env, position: tuple[str, int]) -> bool:
    """The checkpoint covers ``position`` (the binlog end moves on: lease renewals are writes too)."""
    with env.endpoints.mysql.connect(env.state_db) as state, state.cursor() as cur:
        cur.execute("SELECT log_file, log_pos FROM cdc_checkpoint WHERE name = 'default'")
        saved = cur.fetchone()
    return saved is not None and (saved[0], int(saved[1])) >= position


def _set_quantity(env, sku: str, quantity: int) -> None:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE inventory_source_item SET quantity = %s WHERE sku = %s AND source_code = 'default'",
                    (quantity, sku))


def _quantity_seen(quantity: int):
    return lambda events: any(e["type"] == "source_item" and e["after"]["quantity"] == f"{quantity}.0000"
                              for e in events)


def _ready(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).status_code == 200
    except requests.ConnectionError:
        return False


def _standby(port: int) -> bool:
    try:
        return "standby" in requests.get(f"http://127.0.0.1:{port}/readyz", timeout=2).text
    except requests.ConnectionError:
        return False


def _signal_tree(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    """The whole host "dies": the listener and its publisher process alike."""
    for pid in [proc.pid, *child_pids(proc.pid)]:
        os.kill(pid, sig)


def test_standby_takes_over_from_a_frozen_active_listener_and_the_thawed_one_publishes_nothing(env, tmp_path):
    settings = env.settings()
    first_log, second_log = tmp_path / "first.log", tmp_path / "second.log"
    first_port, second_port = free_port(), free_port()
    first = _listen(env, first_log, first_port)
    second: subprocess.Popen[bytes] | None = None
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    frozen = False
    try:
        wait_for(lambda: _held_by(env, first), 60, "the first listener holding the lease")
        wait_for(lambda: _ready(first_port), 60, "the first listener streaming")
        second = _listen(env, second_log, second_port)
        wait_for(lambda: _standby(second_port), 60, "the second listener standing by")
        assert _held_by(env, first)

        _set_quantity(env, "WS-000001", 1001)
        after_change = _binlog_end(env)
        reader.until(_quantity_seen(1001), 30, "a change through the first listener")
        # Nothing left for a new leader to replay: every event below is published exactly once.
        wait_for(lambda: _checkpoint_past(env, after_change), 30, "the checkpoint past that change")

        _signal_tree(first, signal.SIGSTOP)
        frozen, frozen_at = True, time.monotonic()
        _set_quantity(env, "WS-000002", 2002)  # reaches the frozen listener's socket buffer too

        # The lease runs out lease_s after the last renewal (at most renew_s before the freeze),
        # and the standby tries every standby_poll_s.
        takeover_bound_s = LEASE_S + STANDBY_POLL_S + ROUND_TRIPS_S
        wait_for(lambda: _held_by(env, second), takeover_bound_s, "the standby taking the lease")
        took_lease_s = time.monotonic() - frozen_at
        reader.until(_quantity_seen(2002), takeover_bound_s + WATCHDOG_S + STARTUP_ALLOWANCE_S,
                     "the change made after the freeze, through the new active listener")
        delivered_s = time.monotonic() - frozen_at
        print(f"standby took the lease {took_lease_s:.1f}s after the freeze (bound {takeover_bound_s:.1f}s), "
              f"its first change reached Kafka after {delivered_s:.1f}s")

        _signal_tree(first, signal.SIGCONT)
        frozen = False

        def first_fenced() -> bool:
            return any(line.get("event") == "lost the leader lease; stopped publishing, standing by"
                       for line in parse_json_logs(first_log.read_text()))

        # It wakes to buffered binlog events and a lease past its deadline: the first batch (or the
        # next checkpoint tick, a heartbeat away) stops it.
        wait_for(first_fenced, 10 + RENEW_S, "the thawed listener noticing it lost the lease")
        assert first.poll() is None, "it stands by again instead of exiting"
        wait_for(lambda: _standby(first_port), 10, "the thawed listener standing by")
        assert _held_by(env, second)

        _set_quantity(env, "WS-000003", 3003)
        events = reader.until(_quantity_seen(3003), 30, "a change after the thaw, through the new listener")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\nfirst:\n{first_log.read_text()[-4000:]}\n"
                             f"second:\n{second_log.read_text()[-4000:]}") from None
    finally:
        if frozen:
            _signal_tree(first, signal.SIGCONT)
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                proc.wait(30)
        reader.close()
    duplicates = {eid: n for eid, n in Counter(e["event_id"] for e in events).items() if n > 1}
    assert duplicates == {}, "two leaders published the same events"
    quantities = Counter(e["after"]["quantity"] for e in events if e["type"] == "source_item")
    assert quantities["2002.0000"] == 1 and quantities["3003.0000"] == 1
