"""The listener's position in the sidecar's state schema, and the lock that makes one listener active.

Debezium keeps offsets outside the source; so do we: the ``cdc_checkpoint`` row is written only
with a position up to which every event was acknowledged by Kafka, so a crash replays (never
skips) what was in flight. The row also records that a full resync is due when the listener had
to start at the end of the binlog instead of a known position.

Hot standby uses a lease row in the state store (``plumbing.locks.Lease``): the active listener
renews it every ``cdc.lease_renew_s`` from a thread with its own connection; a standby takes it once
it expired, ``cdc.lease_s`` after the last renewal, whatever became of the old holder's sockets
(a ``GET_LOCK`` outlived a dead host by the server's ``wait_timeout``, 8 hours). The holder stops
publishing ``lease_renew_s`` before its lease can expire (by its own clock), and every checkpoint
is written in a transaction that first locks the lease row and checks it is still ours, so a
listener frozen and thawed, or cut off from the state store, never writes over the new one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from cdc_listener.position import BinlogPosition
from plumbing.db import DbConnection, revive
from plumbing.locks import Lease, LeaseLost, lease_holder

CHECKPOINT_DDL = """
CREATE TABLE IF NOT EXISTS cdc_checkpoint (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  source_server_id INT UNSIGNED NOT NULL,
  log_file VARCHAR(255) NOT NULL,
  log_pos BIGINT UNSIGNED NOT NULL,
  gtid VARCHAR(1024) NULL,
  binlog_ts_ms BIGINT NULL,
  resync_due TINYINT(1) NOT NULL DEFAULT 0,
  resync_reason VARCHAR(255) NULL,
  updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


class CheckpointStore:
    def __init__(self, conn: DbConnection, name: str):
        self.conn = conn
        self.name = name
        with conn.cursor() as cur:
            cur.execute(CHECKPOINT_DDL)

    def load(self) -> tuple[BinlogPosition, int, bool] | None:
        """(position, source server id, resync due) or None on a first start."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT log_file, log_pos, gtid, source_server_id, resync_due "
                        "FROM cdc_checkpoint WHERE name = %s", (self.name,))
            row = cur.fetchone()
        if row is None:
            return None
        return BinlogPosition(log_file=row[0], log_pos=int(row[1]), gtid=row[2]), int(row[3]), bool(row[4])

    def save(self, position: BinlogPosition, source_server_id: int, binlog_ts_ms: int | None = None,
             resync_reason: str | None = None, lease: Lease | None = None) -> None:
        """Write the position; with ``lease``, only while the lease row is still ours (``LeaseLost``
        otherwise), checked by the write statement itself."""
        values = (self.name, source_server_id, position.log_file, position.log_pos, position.gtid,
                  binlog_ts_ms, int(resync_reason is not None), resync_reason)
        guard, guard_args = ("TRUE", ())
        if lease is not None:
            if not lease.valid():
                raise LeaseLost(f"the {lease.name} lease ran out on this host's clock")
            guard, guard_args = lease.guard_sql()
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO cdc_checkpoint (name, source_server_id, log_file, log_pos, gtid, "
                "binlog_ts_ms, resync_due, resync_reason) "
                f"SELECT %s, %s, %s, %s, %s, %s, %s, %s FROM DUAL WHERE {guard} "
                "ON DUPLICATE KEY UPDATE source_server_id = VALUES(source_server_id), "
                "log_file = VALUES(log_file), log_pos = VALUES(log_pos), gtid = VALUES(gtid), "
                "binlog_ts_ms = VALUES(binlog_ts_ms), "
                "resync_due = resync_due OR VALUES(resync_due), "
                "resync_reason = COALESCE(VALUES(resync_reason), resync_reason), updated_at = NOW(3)",
                values + guard_args)
            written = cur.rowcount > 0
        self.conn.commit()
        if not written and lease is not None:
            with self.conn.cursor() as cur:
                lease.check(cur)  # raises unless the row was merely unchanged


def leader_lease_name(name: str) -> str:
    return f"cdc.{name}"


class LeaderLock:
    """The listener's lease, renewed by a thread of its own on its own state-store connection.

    The renewal thread never decides anything but the lease's validity: the listener's decoder
    checks ``valid()`` (a clock comparison) before each batch it hands to the publisher and at each
    checkpoint tick, and the publisher process checks the deadline carried with every batch."""

    def __init__(self, conn: DbConnection, name: str, lease_s: float, renew_s: float):
        self.lease = Lease(conn, leader_lease_name(name), lease_s, margin_s=renew_s)
        self.conn = conn
        self.renew_s = renew_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._watcher: Callable[[float], None] | None = None
        self.renew_failures = 0

    @property
    def holder(self) -> str:
        return self.lease.holder

    def try_acquire(self) -> bool:
        try:
            acquired = self.lease.try_acquire()
        except Exception:
            revive([self.conn])  # the state store is away: try again at the next poll
            return False
        if acquired:
            self._stop.clear()
            self._thread = threading.Thread(target=self._renew_loop, name="leader-lease", daemon=True)
            self._thread.start()
        return acquired

    def _renew_loop(self) -> None:
        while not self._stop.wait(self.renew_s):
            try:
                renewed = self.lease.renew()
                watcher = self._watcher
                if watcher is not None:
                    watcher(self.lease.valid_until)
                if not renewed:
                    return  # taken over: valid() is False from now on
                self.renew_failures = 0
            except Exception:  # unreachable or timed out: valid() runs out on its own
                self.renew_failures += 1
                revive([self.conn])

    def valid(self) -> bool:
        return self.lease.valid()

    def watch(self, callback: Callable[[float], None] | None) -> None:
        """The publisher's shared deadline follows every renewal through this."""
        self._watcher = callback

    @property
    def valid_until(self) -> float:
        return self.lease.valid_until

    def check(self) -> None:
        if not self.lease.valid():
            raise LeaseLost("the leader lease could not be renewed in time (or another listener took it): "
                            "stopping publishing so the new active listener alone owns the stream")

    def holder_now(self) -> str | None:
        try:
            return lease_holder(self.conn, self.lease.name)
        except Exception:
            return None

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.renew_s + 5)
            self._thread = None
        self.lease.release()
