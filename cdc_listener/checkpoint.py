"""The listener's position in the sidecar's state schema, and the lock that makes one listener active.

Debezium keeps offsets outside the source; so do we: the ``cdc_checkpoint`` row is written only
with a position up to which every event was acknowledged by Kafka, so a crash replays (never
skips) what was in flight. The row also records that a full resync is due when the listener had
to start at the end of the binlog instead of a known position.

Hot standby uses a MySQL/MariaDB named lock on the state store connection: the active listener
holds it for as long as its connection lives; a standby blocks on ``GET_LOCK`` and takes over
within a poll interval of the active one dying. Before each checkpoint the holder checks it still
owns the lock, so a listener cut off from the state store stops instead of writing over the
new active one.
"""

from __future__ import annotations

from cdc_listener.position import BinlogPosition
from plumbing.db import DbConnection
from plumbing.locks import NamedLock

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
             resync_reason: str | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO cdc_checkpoint (name, source_server_id, log_file, log_pos, gtid, "
                "binlog_ts_ms, resync_due, resync_reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE source_server_id = VALUES(source_server_id), "
                "log_file = VALUES(log_file), log_pos = VALUES(log_pos), gtid = VALUES(gtid), "
                "binlog_ts_ms = VALUES(binlog_ts_ms), "
                "resync_due = resync_due OR VALUES(resync_due), "
                "resync_reason = COALESCE(VALUES(resync_reason), resync_reason)",
                (self.name, source_server_id, position.log_file, position.log_pos, position.gtid,
                 binlog_ts_ms, int(resync_reason is not None), resync_reason))
        self.conn.commit()


class LeaderLock(NamedLock):
    """The listener's lock, held on its own state-store connection for the listener's whole life."""

    def __init__(self, conn: DbConnection, name: str):
        super().__init__(conn, f"cdc.{name}")
