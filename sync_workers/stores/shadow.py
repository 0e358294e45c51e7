"""Shadow mode's record: what the sidecar would have sent Walmart, per SKU and per purchase order.

One row per kind and key (a SKU's quantity, a SKU's price, a PO's acknowledgement, a PO the
importer would have made a Commerce order of): a later attempt for the same key replaces the value
and counts once more, so the table says what the sidecar would send *now*, and how long after the
Commerce change (or the Walmart order) it would have gone out. ``released_at`` is set when live mode
takes an entry over (the value workers push what shadow held back; the importer imports the POs
nobody else took), so the report can tell what is still held back from what went live.

Written by the Walmart client's sink from the workers' push threads: one connection, one lock.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from domain.shadow import WouldSend
from plumbing.db import DbConnection, transaction

DDL = """CREATE TABLE IF NOT EXISTS walmart_shadow_writes (
  kind VARCHAR(16) NOT NULL,
  item_key VARCHAR(64) NOT NULL,
  api VARCHAR(32) NOT NULL,
  value VARCHAR(64) NULL,
  payload VARCHAR(512) NOT NULL,
  changed_epoch DOUBLE NULL,
  would_send_epoch DOUBLE NOT NULL,
  latency_ms BIGINT NULL,
  attempts INT NOT NULL DEFAULT 1,
  first_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
  released_epoch DOUBLE NULL,
  PRIMARY KEY (kind, item_key),
  KEY walmart_shadow_writes_pending (kind, released_epoch),
  KEY walmart_shadow_writes_latency (kind, latency_ms)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"""

COLUMNS = "kind, item_key, api, value, payload, changed_epoch, would_send_epoch, latency_ms, attempts, released_epoch"


@dataclass(frozen=True)
class ShadowEntry:
    kind: str
    key: str
    api: str
    value: str | None
    payload: str
    changed_epoch: float | None
    would_send_epoch: float
    latency_ms: int | None
    attempts: int
    released_epoch: float | None

    @property
    def pending(self) -> bool:
        return self.released_epoch is None


class ShadowLedger:
    def __init__(self, conn: DbConnection):
        self.conn = conn
        self._lock = threading.Lock()
        with self._lock, conn.cursor() as cur:
            cur.execute(DDL)

    def record(self, entries: list[WouldSend]) -> None:
        if not entries:
            return
        rows = [(e.kind[:16], e.key[:64], e.api[:32], None if e.value is None else e.value[:64], e.payload[:500],
                 e.changed_at, e.would_send_at or 0.0,
                 None if e.latency_s is None else int(round(e.latency_s * 1000))) for e in entries]
        with self._lock, transaction(self.conn) as cur:
            cur.executemany(
                f"INSERT INTO walmart_shadow_writes ({COLUMNS.replace(', attempts, released_epoch', '')}) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE api = VALUES(api), "
                "value = VALUES(value), payload = VALUES(payload), "
                # a retry without a Commerce change of its own (a due check) keeps the change it serves
                "changed_epoch = COALESCE(VALUES(changed_epoch), changed_epoch), "
                "latency_ms = COALESCE(VALUES(latency_ms), latency_ms), "
                "would_send_epoch = VALUES(would_send_epoch), attempts = attempts + 1, released_epoch = NULL",
                rows)

    def entries(self, kind: str | None = None, pending_only: bool = False, limit: int = 1000) -> list[ShadowEntry]:
        where: list[str] = []
        args: list[str] = []
        if kind:
            where.append("kind = %s")
            args.append(kind)
        if pending_only:
            where.append("released_epoch IS NULL")
        with self._lock, self.conn.cursor() as cur:
            cur.execute(f"SELECT {COLUMNS} FROM walmart_shadow_writes" + (" WHERE " + " AND ".join(where) if where else "")
                        + " ORDER BY kind, item_key LIMIT %s", (*args, limit))
            return [ShadowEntry(*row) for row in cur.fetchall()]

    def of_key(self, key: str) -> list[ShadowEntry]:
        """Every kind held back for one SKU or PO (the SKU and order lookups)."""
        with self._lock, self.conn.cursor() as cur:
            cur.execute(f"SELECT {COLUMNS} FROM walmart_shadow_writes WHERE item_key = %s ORDER BY kind", (key[:64],))
            return [ShadowEntry(*row) for row in cur.fetchall()]

    def release(self, kind: str, now_epoch: float) -> list[str]:
        """Live mode takes over the held-back entries of a kind: their keys, marked released."""
        with self._lock, transaction(self.conn) as cur:
            cur.execute("SELECT item_key FROM walmart_shadow_writes WHERE kind = %s AND released_epoch IS NULL "
                        "FOR UPDATE", (kind,))
            keys = [row[0] for row in cur.fetchall()]
            if keys:
                cur.execute("UPDATE walmart_shadow_writes SET released_epoch = %s WHERE kind = %s "
                            "AND released_epoch IS NULL", (now_epoch, kind))
        return keys

    def release_one(self, kind: str, key: str, now_epoch: float) -> bool:
        with self._lock, self.conn.cursor() as cur:
            return bool(cur.execute("UPDATE walmart_shadow_writes SET released_epoch = %s WHERE kind = %s "
                                    "AND item_key = %s AND released_epoch IS NULL", (now_epoch, kind, key[:64])))

    def is_pending(self, kind: str, key: str) -> bool:
        with self._lock, self.conn.cursor() as cur:
            cur.execute("SELECT 1 FROM walmart_shadow_writes WHERE kind = %s AND item_key = %s "
                        "AND released_epoch IS NULL", (kind, key[:64]))
            return cur.fetchone() is not None
