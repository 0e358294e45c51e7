"""Differences between what Walmart shows and what Commerce says, found by the reconciler.

One row per SKU and kind (quantity, price, unpublished, missing) while the difference stands: the
reconciler writes what each side held, why (for an unpublished item Walmart's own reasons) and what
it did about it, and deletes the row once a later read shows the two agree. `lag`, the status page
and the SKU lookup read this table; the reconciler's progress through the catalogue is kept beside
it so a restart goes on where it stopped and `lag` can say how fresh the comparison is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from plumbing.db import DbConnection, transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS walmart_drift (
      kind VARCHAR(16) NOT NULL,
      sku VARCHAR(64) NOT NULL,
      commerce_value VARCHAR(64) NULL,
      walmart_value VARCHAR(64) NULL,
      reason VARCHAR(512) NOT NULL,
      action VARCHAR(64) NOT NULL,
      times_seen INT NOT NULL DEFAULT 1,
      first_seen_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      last_seen_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (kind, sku),
      KEY walmart_drift_sku (sku)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS walmart_reconcile_progress (
      name VARCHAR(32) NOT NULL PRIMARY KEY,
      cursor_value VARCHAR(255) NULL,
      cycle_started_at TIMESTAMP(3) NULL,
      last_slice_at TIMESTAMP(3) NULL,
      last_cycle_at TIMESTAMP(3) NULL,
      slice_skus INT NOT NULL DEFAULT 0,
      interval_s DOUBLE NOT NULL DEFAULT 0,
      last_error VARCHAR(512) NULL
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)

# what the reconciler did about a difference (shown as is on the page and in `lag`)
PUSHED_AGAIN = "pushed again"
FIX_OFF = "not fixed: reconcile.fix leaves it to you"
NEEDS_A_PERSON = "needs a person"
SHADOW_HELD = "shadow mode: sent once live"


@dataclass(frozen=True)
class Drift:
    kind: str
    sku: str
    commerce_value: str | None
    walmart_value: str | None
    reason: str
    action: str
    first_seen_at: datetime | None = None
    last_seen_at: datetime | None = None
    times_seen: int = 1


class DriftStore:
    def __init__(self, conn: DbConnection):
        self.conn = conn
        with conn.cursor() as cur:
            for statement in DDL:
                cur.execute(statement)

    def record(self, checked: dict[str, set[str]], found: list[Drift]) -> None:
        """``checked``: kind -> the SKUs compared for that kind in this slice. Their rows become
        exactly ``found``: a difference seen again counts once more, one gone is deleted."""
        with transaction(self.conn) as cur:
            for kind, skus in checked.items():
                stale = sorted(skus - {d.sku for d in found if d.kind == kind})
                for start in range(0, len(stale), 500):
                    part = stale[start:start + 500]
                    cur.execute(f"DELETE FROM walmart_drift WHERE kind = %s AND sku IN ({', '.join(['%s'] * len(part))})",
                                [kind, *part])
            if found:
                cur.executemany(
                    "INSERT INTO walmart_drift (kind, sku, commerce_value, walmart_value, reason, action) "
                    "VALUES (%s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE commerce_value = VALUES(commerce_value), "
                    "walmart_value = VALUES(walmart_value), reason = VALUES(reason), action = VALUES(action), "
                    "times_seen = times_seen + 1, last_seen_at = CURRENT_TIMESTAMP(3)",
                    [(d.kind, d.sku[:64], (d.commerce_value or None) and d.commerce_value[:64],
                      (d.walmart_value or None) and d.walmart_value[:64], d.reason[:500], d.action) for d in found])

    def open(self, sku: str | None = None, limit: int = 200) -> list[Drift]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT kind, sku, commerce_value, walmart_value, reason, action, first_seen_at, last_seen_at, "
                        "times_seen FROM walmart_drift" + (" WHERE sku = %s" if sku else "") +
                        " ORDER BY first_seen_at, kind, sku LIMIT %s", (sku, limit) if sku else (limit,))
            return [Drift(*row) for row in cur.fetchall()]

    def cursor(self, name: str) -> str | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT cursor_value FROM walmart_reconcile_progress WHERE name = %s", (name,))
            row = cur.fetchone()
        return row[0] if row else None

    def progress(self, name: str, cursor: str | None, slice_skus: int, interval_s: float, cycle_done: bool) -> None:
        """After a slice: where the next starts (None: the catalogue's beginning, a new cycle)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO walmart_reconcile_progress (name, cursor_value, cycle_started_at, last_slice_at, "
                "last_cycle_at, slice_skus, interval_s, last_error) VALUES (%s, %s, CURRENT_TIMESTAMP(3), "
                "CURRENT_TIMESTAMP(3), IF(%s, CURRENT_TIMESTAMP(3), NULL), %s, %s, NULL) ON DUPLICATE KEY UPDATE "
                "cycle_started_at = IF(cursor_value IS NULL, CURRENT_TIMESTAMP(3), cycle_started_at), "
                "cursor_value = VALUES(cursor_value), last_slice_at = CURRENT_TIMESTAMP(3), "
                "last_cycle_at = IF(%s, CURRENT_TIMESTAMP(3), last_cycle_at), slice_skus = VALUES(slice_skus), "
                "interval_s = VALUES(interval_s), last_error = NULL",
                (name, cursor, cycle_done, slice_skus, interval_s, cycle_done))

    def failed(self, name: str, error: str) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_reconcile_progress (name, last_error) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE last_error = VALUES(last_error)", (name, error[:500]))
