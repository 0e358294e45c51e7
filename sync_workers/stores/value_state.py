"""The push workers' memory in the sidecar's state schema: what Walmart confirmed, pending feeds.

Kept in MySQL rather than in the process so a restarted worker neither re-pushes what Walmart
already has nor forgets a feed it submitted and must still check. Values are stored as the
exact strings sent (a quantity, a price with two decimals), so "equal" means equal on the wire.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from config import Settings
from plumbing.db import DbConnection, connect_state_store, transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS walmart_values (
      kind VARCHAR(16) NOT NULL,
      sku VARCHAR(64) NOT NULL,
      value VARCHAR(255) NOT NULL,
      via VARCHAR(16) NOT NULL,
      pending_feed_id VARCHAR(128) NULL,
      last_error VARCHAR(512) NULL,
      next_check_at DATETIME NULL,
      confirmed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (kind, sku),
      KEY walmart_values_next_check (kind, next_check_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS walmart_feeds (
      feed_id VARCHAR(128) NOT NULL PRIMARY KEY,
      worker VARCHAR(32) NOT NULL,
      feed_type VARCHAR(32) NOT NULL,
      items MEDIUMTEXT NOT NULL,
      status VARCHAR(16) NOT NULL DEFAULT 'SUBMITTED',
      submitted_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      completed_at TIMESTAMP(3) NULL,
      KEY walmart_feeds_open (worker, status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    # SKUs whose confirmed value may be wrong (a batch applied after a rebalance, racing the new
    # owner): from due_at on, whichever replica looks first pushes them again, whatever is confirmed
    """CREATE TABLE IF NOT EXISTS walmart_value_recheck (
      kind VARCHAR(16) NOT NULL,
      sku VARCHAR(64) NOT NULL,
      due_at DATETIME(3) NOT NULL,
      PRIMARY KEY (kind, sku),
      KEY walmart_value_recheck_due (kind, due_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    # values Walmart will not take yet (a price within 24 h of the item's setup): not failed, not
    # dead-lettered, pushed when due; here so lag and the status page can say what they wait for
    """CREATE TABLE IF NOT EXISTS walmart_values_waiting (
      kind VARCHAR(16) NOT NULL,
      sku VARCHAR(64) NOT NULL,
      reason VARCHAR(255) NOT NULL,
      until_at DATETIME NOT NULL,
      since TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (kind, sku),
      KEY walmart_values_waiting_until (kind, until_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)


# a value with several ship nodes names each node's quantity ("1000000001=5,1000000002=7"): the
# first release's VARCHAR(64) held one number or price, and is widened once, only where it is narrower
WIDENED = (("walmart_values", "value", 255, "VARCHAR(255) NOT NULL"),)


def connect_state(settings: Settings) -> Any:
    conn = connect_state_store(settings)
    with conn.cursor() as cur:
        for statement in DDL:
            cur.execute(statement)
        for table, column, length, definition in WIDENED:
            cur.execute("SELECT CHARACTER_MAXIMUM_LENGTH FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = "
                        "DATABASE() AND TABLE_NAME = %s AND COLUMN_NAME = %s", (table, column))
            row = cur.fetchone()
            if row is not None and row[0] is not None and int(row[0]) < length:
                cur.execute(f"ALTER TABLE {table} MODIFY COLUMN {column} {definition}")
    return conn


class ValueState:
    """Confirmed values of one kind (inventory, price) per SKU, and the worker's open feeds."""

    def __init__(self, conn: DbConnection, kind: str):
        self.conn = conn
        self.kind = kind

    def confirmed(self, skus: list[str]) -> dict[str, str]:
        if not skus:
            return {}
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT sku, value FROM walmart_values WHERE kind = %s AND sku IN "
                        f"({', '.join(['%s'] * len(skus))})", [self.kind, *skus])
            return dict(cur.fetchall())

    def confirm(self, values: dict[str, str], via: str, feed_id: str | None = None) -> None:
        if not values:
            return
        self.stop_waiting(list(values))
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO walmart_values (kind, sku, value, via, pending_feed_id, last_error) "
                "VALUES (%s, %s, %s, %s, %s, NULL) ON DUPLICATE KEY UPDATE value = VALUES(value), "
                "via = VALUES(via), pending_feed_id = VALUES(pending_feed_id), last_error = NULL",
                [(self.kind, sku, value, via, feed_id) for sku, value in values.items()])

    def doubt(self, skus: list[str], due_at: datetime) -> None:
        """What is confirmed for these SKUs may not be what Walmart holds; push them again from ``due_at``."""
        if not skus:
            return
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO walmart_value_recheck (kind, sku, due_at) VALUES (%s, %s, %s) "
                            "ON DUPLICATE KEY UPDATE due_at = GREATEST(due_at, VALUES(due_at))",
                            [(self.kind, sku, due_at) for sku in skus])

    def take_doubted(self, now: datetime) -> list[str]:
        """The doubted SKUs due by ``now``, their confirmed values forgotten (so the next look pushes
        them, whichever replica it is, even if this one stops) and their doubts cleared, in one
        transaction."""
        with transaction(self.conn) as cur:
            cur.execute("SELECT sku FROM walmart_value_recheck WHERE kind = %s AND due_at <= %s FOR UPDATE",
                        (self.kind, now))
            skus = [row[0] for row in cur.fetchall()]
            if skus:
                marks = ", ".join(["%s"] * len(skus))
                cur.execute(f"UPDATE walmart_values SET value = '', via = 'none' WHERE kind = %s AND sku IN ({marks})",
                            [self.kind, *skus])
                cur.execute(f"DELETE FROM walmart_value_recheck WHERE kind = %s AND sku IN ({marks})",
                            [self.kind, *skus])
        return skus

    def failed(self, sku: str, error: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_values (kind, sku, value, via, last_error) VALUES "
                        "(%s, %s, '', 'none', %s) ON DUPLICATE KEY UPDATE last_error = VALUES(last_error)",
                        (self.kind, sku, error[:500]))

    def schedule(self, checks: dict[str, datetime | None]) -> None:
        """When each SKU must be evaluated again without an event (a price window edge)."""
        if not checks:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO walmart_values (kind, sku, value, via, next_check_at) VALUES (%s, %s, '', 'none', %s) "
                "ON DUPLICATE KEY UPDATE next_check_at = VALUES(next_check_at)",
                [(self.kind, sku, at) for sku, at in checks.items()])

    def wait(self, skus: dict[str, datetime], reason: str) -> None:
        """These SKUs' values wait until their time (Walmart takes none before it): the SKU is due
        for a check then, and shows as waiting, with ``reason``, until a push lands."""
        if not skus:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO walmart_values_waiting (kind, sku, reason, until_at) VALUES (%s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE reason = VALUES(reason), until_at = VALUES(until_at)",
                [(self.kind, sku, reason[:250], until) for sku, until in skus.items()])
        self.schedule(dict(skus))

    def stop_waiting(self, skus: list[str]) -> None:
        if not skus:
            return
        with self.conn.cursor() as cur:
            cur.execute(f"DELETE FROM walmart_values_waiting WHERE kind = %s AND sku IN "
                        f"({', '.join(['%s'] * len(skus))})", [self.kind, *skus])

    def waiting(self) -> dict[str, tuple[str, datetime]]:
        """SKU -> (reason, until) of this kind's values Walmart will not take yet."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT sku, reason, until_at FROM walmart_values_waiting WHERE kind = %s", (self.kind,))
            return {sku: (reason, until) for sku, reason, until in cur.fetchall()}

    def due(self, now: datetime) -> list[str]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT sku FROM walmart_values WHERE kind = %s AND next_check_at <= %s",
                        (self.kind, now))
            return [row[0] for row in cur.fetchall()]

    def record_feed(self, feed_id: str, worker: str, feed_type: str, items: dict[str, Any]) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_feeds (feed_id, worker, feed_type, items) VALUES (%s, %s, %s, %s)",
                        (feed_id, worker, feed_type, json.dumps(items)))

    def open_feeds(self, worker: str) -> list[tuple[str, dict[str, Any]]]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT feed_id, items FROM walmart_feeds WHERE worker = %s AND status = 'SUBMITTED' "
                        "ORDER BY submitted_at", (worker,))
            return [(feed_id, json.loads(items)) for feed_id, items in cur.fetchall()]

    def feed_ages(self, worker: str) -> dict[str, float]:
        """Open feed -> seconds since its submission, by the state store's clock (which wrote it)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT feed_id, TIMESTAMPDIFF(MICROSECOND, submitted_at, NOW(3)) / 1e6 FROM walmart_feeds "
                        "WHERE worker = %s AND status = 'SUBMITTED'", (worker,))
            return {feed_id: float(age) for feed_id, age in cur.fetchall()}

    def close_feed(self, feed_id: str, status: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("UPDATE walmart_feeds SET status = %s, completed_at = CURRENT_TIMESTAMP(3) "
                        "WHERE feed_id = %s", (status, feed_id))
