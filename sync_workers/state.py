"""The push workers' memory in the sidecar's state schema: what Walmart confirmed, pending feeds.

Kept in MySQL rather than in the process so a restarted worker neither re-pushes what Walmart
already has nor forgets a feed it submitted and must still check.
"""

from __future__ import annotations

import json
from typing import Any

import pymysql

from config import Settings

DDL = (
    """CREATE TABLE IF NOT EXISTS walmart_inventory (
      sku VARCHAR(64) NOT NULL PRIMARY KEY,
      quantity INT NOT NULL,
      via VARCHAR(16) NOT NULL,
      pending_feed_id VARCHAR(128) NULL,
      last_error VARCHAR(512) NULL,
      confirmed_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
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
)


def connect_state(settings: Settings) -> Any:
    dsn = settings.state_store.parsed
    conn = pymysql.connect(host=dsn.host, port=dsn.port, user=dsn.user,
                           password=dsn.password.get_secret_value(), database=dsn.database,
                           autocommit=True, connect_timeout=10)
    with conn.cursor() as cur:
        for statement in DDL:
            cur.execute(statement)
    return conn


class InventoryState:
    def __init__(self, conn: Any):
        self.conn = conn

    def confirmed(self, skus: list[str]) -> dict[str, int]:
        if not skus:
            return {}
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT sku, quantity FROM walmart_inventory WHERE sku IN "
                        f"({', '.join(['%s'] * len(skus))})", skus)
            return dict(cur.fetchall())

    def confirm(self, quantities: dict[str, int], via: str, feed_id: str | None = None) -> None:
        if not quantities:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO walmart_inventory (sku, quantity, via, pending_feed_id, last_error) "
                "VALUES (%s, %s, %s, %s, NULL) ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), "
                "via = VALUES(via), pending_feed_id = VALUES(pending_feed_id), last_error = NULL",
                [(sku, qty, via, feed_id) for sku, qty in quantities.items()])

    def failed(self, sku: str, error: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_inventory (sku, quantity, via, last_error) VALUES "
                        "(%s, -1, 'none', %s) ON DUPLICATE KEY UPDATE last_error = VALUES(last_error)",
                        (sku, error[:500]))

    def record_feed(self, feed_id: str, worker: str, feed_type: str, items: dict[str, Any]) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_feeds (feed_id, worker, feed_type, items) VALUES (%s, %s, %s, %s)",
                        (feed_id, worker, feed_type, json.dumps(items)))

    def open_feeds(self, worker: str) -> list[tuple[str, dict[str, Any]]]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT feed_id, items FROM walmart_feeds WHERE worker = %s AND status = 'SUBMITTED' "
                        "ORDER BY submitted_at", (worker,))
            return [(feed_id, json.loads(items)) for feed_id, items in cur.fetchall()]

    def close_feed(self, feed_id: str, status: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("UPDATE walmart_feeds SET status = %s, completed_at = CURRENT_TIMESTAMP(3) "
                        "WHERE feed_id = %s", (status, feed_id))
