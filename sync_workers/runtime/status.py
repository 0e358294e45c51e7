"""Each component's last success, recent errors and heartbeat, in the state store, for
`walmart-sync lag` and the status page: support staff see why a stream is stale even when the
component runs in another process or container, and a consumer that died (kill -9, OOM) shows as
stopped even on brokers slow to expire its group membership. Writes are throttled and never fail
the component: status is a view, not part of the data path.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import pymysql

from config import Settings
from plumbing.db import DbConnection, connect_state_store
from plumbing.logs import get_logger, redact

DDL = (
    """CREATE TABLE IF NOT EXISTS component_status (
      component VARCHAR(32) NOT NULL PRIMARY KEY,
      last_success_at TIMESTAMP(3) NULL,
      last_error_at TIMESTAMP(3) NULL,
      last_error VARCHAR(512) NULL,
      errors_total INT NOT NULL DEFAULT 0,
      alive_at TIMESTAMP(3) NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS component_errors (
      id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
      component VARCHAR(32) NOT NULL,
      at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      error VARCHAR(512) NOT NULL,
      KEY component_errors_recent (component, id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)
KEEP_ERRORS = 20


class ComponentStatus:
    def __init__(self, settings: Settings, component: str, success_every_s: float = 5.0):
        self.settings = settings
        self.component = component
        self.success_every_s = success_every_s
        self.log = get_logger(f"component_status.{component}")
        self._conn: DbConnection | None = None
        self._last_success_write = float("-inf")
        self._lock = threading.Lock()
        self._beating = threading.Event()

    def _connection(self) -> Any:
        if self._conn is None or not self._conn.open:
            self._conn = connect_state_store(self.settings, connect_timeout_s=5)
            with self._conn.cursor() as cur:
                for statement in DDL:
                    cur.execute(statement)
        return self._conn

    def _write(self, sql: str, args: tuple[Any, ...], also: tuple[str, tuple[Any, ...]] | None = None) -> None:
        with self._lock:
            try:
                with self._connection().cursor() as cur:
                    cur.execute(sql, args)
                    if also:
                        cur.execute(*also)
            except pymysql.MySQLError as exc:
                self._conn = None
                self.log.debug("component status not recorded", error=str(exc))

    def succeeded(self) -> None:
        now = time.monotonic()
        if now - self._last_success_write < self.success_every_s:
            return
        self._last_success_write = now
        self._write("INSERT INTO component_status (component, last_success_at) VALUES (%s, CURRENT_TIMESTAMP(3)) "
                    "ON DUPLICATE KEY UPDATE last_success_at = CURRENT_TIMESTAMP(3)", (self.component,))

    def failed(self, error: str) -> None:
        text = redact(error)[:500]
        self._write("INSERT INTO component_status (component, last_error_at, last_error, errors_total) VALUES "
                    "(%s, CURRENT_TIMESTAMP(3), %s, 1) ON DUPLICATE KEY UPDATE last_error_at = CURRENT_TIMESTAMP(3), "
                    "last_error = VALUES(last_error), errors_total = errors_total + 1", (self.component, text),
                    ("INSERT INTO component_errors (component, error) VALUES (%s, %s)", (self.component, text)))
        self._write("DELETE FROM component_errors WHERE component = %s AND id <= (SELECT id FROM (SELECT id FROM "
                    "component_errors WHERE component = %s ORDER BY id DESC LIMIT 1 OFFSET %s) AS old)",
                    (self.component, self.component, KEEP_ERRORS))

    def start_heartbeat(self, every_s: float = 5.0) -> None:
        """Record ``alive_at`` every ``every_s`` from a thread of its own until ``close``."""
        self._beating.set()

        def beat() -> None:
            while self._beating.is_set():
                self._write("INSERT INTO component_status (component, alive_at) VALUES (%s, CURRENT_TIMESTAMP(3)) "
                            "ON DUPLICATE KEY UPDATE alive_at = CURRENT_TIMESTAMP(3)", (self.component,))
                for _ in range(int(every_s * 10)):
                    if not self._beating.is_set():
                        return
                    time.sleep(0.1)

        threading.Thread(target=beat, name=f"{self.component}-heartbeat", daemon=True).start()

    def close(self) -> None:
        self._beating.clear()
        with self._lock:
            if self._conn is not None:
                try:
                    self._conn.close()
                except Exception:
                    pass
                self._conn = None
