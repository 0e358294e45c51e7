"""The leader lease against the real MariaDB: expiry, takeover, and a stale holder's checkpoint refused."""

from __future__ import annotations

import time

import pytest

from cdc_listener.checkpoint import CheckpointStore, LeaderLock
from cdc_listener.position import BinlogPosition
from plumbing.locks import Lease, LeaseLost, lease_clock, lease_holder
from tests.support.cdc_helpers import wait_for

LEASE_S = 1.5
RENEW_S = 0.5


@pytest.fixture
def schema(endpoints, unique_name):
    with endpoints.mysql.connect() as conn, conn.cursor() as cur:
        cur.execute(f"CREATE DATABASE `{unique_name}`")
    yield unique_name
    with endpoints.mysql.connect() as conn, conn.cursor() as cur:
        cur.execute(f"DROP DATABASE `{unique_name}`")


def test_a_lease_not_renewed_expires_and_the_stale_holder_cannot_checkpoint(endpoints, schema) -> None:
    with endpoints.mysql.connect(schema) as a_conn, endpoints.mysql.connect(schema) as b_conn, \
            endpoints.mysql.connect(schema) as state:
        first = Lease(a_conn, "cdc.default", LEASE_S, RENEW_S, holder="first")
        second = Lease(b_conn, "cdc.default", LEASE_S, RENEW_S, holder="second")
        checkpoints = CheckpointStore(state, "default")
        acquired_at = lease_clock()
        assert first.try_acquire() and not second.try_acquire()
        # The holder trusts its lease renew_s less than the server keeps it.
        assert first.valid_until <= acquired_at + LEASE_S - RENEW_S + 0.01
        checkpoints.save(BinlogPosition(log_file="binlog.000001", log_pos=100), 1, lease=first)

        # The holder "freezes" (no renewal): the standby gets the lease once the server's expiry passed,
        # not before, and the old holder stopped trusting it before that.
        wait_for(second.try_acquire, LEASE_S + 1, "the standby taking the expired lease")
        assert lease_clock() >= first.valid_until and not first.valid()
        assert lease_holder(state, "cdc.default") == "second"
        assert second.epoch == first.epoch + 1

        # Thawed: its renewal and its checkpoint are refused; the new holder's go through.
        first.valid_until = lease_clock() + 60  # even a holder whose clock lied is refused by the row
        with pytest.raises(LeaseLost):
            checkpoints.save(BinlogPosition(log_file="binlog.000001", log_pos=999), 1, lease=first)
        assert checkpoints.load()[0].log_pos == 100
        assert not first.renew() and not first.valid()
        checkpoints.save(BinlogPosition(log_file="binlog.000001", log_pos=200), 1, lease=second)
        checkpoints.save(BinlogPosition(log_file="binlog.000001", log_pos=200), 1, lease=second)  # unchanged: still ours
        assert checkpoints.load()[0].log_pos == 200

        # A clean stop hands over at once.
        second.release()
        assert lease_holder(state, "cdc.default") is None
        assert first.try_acquire()


def test_the_renewal_thread_keeps_the_lease_past_its_length(endpoints, schema) -> None:
    with endpoints.mysql.connect(schema) as a_conn, endpoints.mysql.connect(schema) as b_conn:
        lock = LeaderLock(a_conn, "default", LEASE_S, RENEW_S)
        standby = Lease(b_conn, "cdc.default", LEASE_S, RENEW_S, holder="standby")
        seen: list[float] = []
        assert lock.try_acquire()
        lock.watch(seen.append)
        try:
            until = time.monotonic() + 3 * LEASE_S
            while time.monotonic() < until:  # three lease lengths, each checked against the standby
                assert lock.valid() and not standby.try_acquire()
                time.sleep(RENEW_S / 2)
            assert len(seen) >= 4 and seen == sorted(seen)  # each renewal moved the publisher's deadline on
        finally:
            lock.release()
        assert standby.try_acquire()
