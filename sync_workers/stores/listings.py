"""Listings in the sidecar's state schema: every product put on the channel, with the identifier it
uses, where it stands (draft, submitted, matched, unmatched, error), Walmart's ids once matched,
the feed that carried it, and the reason when it is not matched. A ``candidate`` was found in
Walmart's catalogue (its item id kept) and waits for a match feed: the search is not repeated
after a restart. Support staff read it through
``walmart-sync listings status`` and the status page; the push workers read which SKUs are matched.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from plumbing.db import DbConnection

DDL = (
    """CREATE TABLE IF NOT EXISTS walmart_listings (
      sku VARCHAR(64) NOT NULL PRIMARY KEY,
      product_id INT UNSIGNED NULL,
      id_type VARCHAR(8) NULL,
      product_code VARCHAR(20) NULL,
      gtin14 CHAR(14) NULL,
      status VARCHAR(16) NOT NULL,
      walmart_item_id VARCHAR(32) NULL,
      wpid VARCHAR(32) NULL,
      feed_id VARCHAR(128) NULL,
      error_code VARCHAR(64) NULL,
      reason VARCHAR(512) NULL,
      added_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      matched_at TIMESTAMP(3) NULL,
      KEY walmart_listings_status (status),
      KEY walmart_listings_feed (feed_id),
      KEY walmart_listings_gtin (gtin14)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)
CHUNK = 2000


LISTING_STATUSES = ("draft", "candidate", "submitted", "matched", "unmatched", "error")
# (status, reason, error code, Walmart item id, wpid, feed id); None keeps the ids as they are
ListingChange = tuple[str, str | None, str | None, str | None, str | None, str | None]


@dataclass(frozen=True)
class Listing:
    sku: str
    product_id: int | None
    id_type: str | None
    product_code: str | None
    gtin14: str | None
    status: str
    walmart_item_id: str | None
    wpid: str | None
    feed_id: str | None
    error_code: str | None
    reason: str | None
    updated_at: Any = None


COLUMNS = ("sku", "product_id", "id_type", "product_code", "gtin14", "status", "walmart_item_id", "wpid",
           "feed_id", "error_code", "reason", "updated_at")


@dataclass(frozen=True)
class Added:
    """A product put on the channel: with a usable identifier (draft) or not (error + reason)."""

    sku: str
    product_id: int
    id_type: str | None
    product_code: str | None
    gtin14: str | None
    reason: str | None = None


class ListingStore:
    def __init__(self, conn: DbConnection):
        self.conn = conn
        with conn.cursor() as cur:
            for statement in DDL:
                cur.execute(statement)

    def add(self, products: list[Added]) -> dict[str, int]:
        """Put products on the channel. A matched or submitted listing whose identifier is unchanged
        stays as it is; anything else starts again as a draft (or an error)."""
        current = self.get([p.sku for p in products])
        counts = {"draft": 0, "error": 0, "unchanged": 0}
        rows = []
        for product in products:
            known = current.get(product.sku)
            if known is not None and known.status in ("matched", "submitted", "candidate") and \
                    known.gtin14 == product.gtin14 and product.reason is None:
                counts["unchanged"] += 1
                continue
            status = "error" if product.reason else "draft"
            counts[status] += 1
            rows.append((product.sku, product.product_id, product.id_type, product.product_code, product.gtin14,
                         status, "IDENTIFIER" if product.reason else None, product.reason))
        with self.conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO walmart_listings (sku, product_id, id_type, product_code, gtin14, status, error_code, "
                "reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                "product_id = VALUES(product_id), id_type = VALUES(id_type), product_code = VALUES(product_code), "
                "gtin14 = VALUES(gtin14), status = VALUES(status), error_code = VALUES(error_code), "
                "reason = VALUES(reason), walmart_item_id = NULL, wpid = NULL, feed_id = NULL, matched_at = NULL",
                rows)
        return counts

    def get(self, skus: Iterable[str]) -> dict[str, Listing]:
        wanted = sorted(set(skus))
        found: dict[str, Listing] = {}
        with self.conn.cursor() as cur:
            for start in range(0, len(wanted), CHUNK):
                part = wanted[start:start + CHUNK]
                cur.execute(f"SELECT {', '.join(COLUMNS)} FROM walmart_listings WHERE sku IN "
                            f"({', '.join(['%s'] * len(part))})", part)
                found.update((row[0], Listing(*row)) for row in cur.fetchall())
        return found

    def with_status(self, *statuses: str, limit: int | None = None) -> list[Listing]:
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT {', '.join(COLUMNS)} FROM walmart_listings WHERE status IN "
                        f"({', '.join(['%s'] * len(statuses))}) ORDER BY sku" + (f" LIMIT {int(limit)}" if limit else ""),
                        statuses)
            return [Listing(*row) for row in cur.fetchall()]

    def count(self, status: str) -> int:
        with self.conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM walmart_listings WHERE status = %s", (status,))
            row = cur.fetchone()
            return int(row[0]) if row else 0

    def last_update(self) -> Any:
        """When an outcome was last written (a matcher at work moves this every few seconds)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT MAX(updated_at) FROM walmart_listings")
            row = cur.fetchone()
            return row[0] if row else None

    def set_status(self, sku: str, status: str, *, reason: str | None = None, error_code: str | None = None,
                   walmart_item_id: str | None = None, wpid: str | None = None, feed_id: str | None = None) -> None:
        self.set_many({sku: (status, reason, error_code, walmart_item_id, wpid, feed_id)})

    def set_many(self, changes: dict[str, ListingChange]) -> None:
        """sku -> (status, reason, error code, Walmart item id, wpid, feed id); None keeps ids."""
        if not changes:
            return
        with self.conn.cursor() as cur:
            cur.executemany(
                "UPDATE walmart_listings SET status = %s, reason = %s, error_code = %s, "
                "walmart_item_id = COALESCE(%s, walmart_item_id), wpid = COALESCE(%s, wpid), "
                "feed_id = COALESCE(%s, feed_id), matched_at = IF(%s = 'matched', CURRENT_TIMESTAMP(3), matched_at) "
                "WHERE sku = %s",
                [(status, (reason or None) and reason[:500], code, item_id, wpid, feed_id, status, sku)
                 for sku, (status, reason, code, item_id, wpid, feed_id) in changes.items()])

    def submitted_feeds(self) -> dict[str, list[str]]:
        """Open match feeds -> their SKUs."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT feed_id, sku FROM walmart_listings WHERE status = 'submitted' AND feed_id IS NOT NULL "
                        "ORDER BY feed_id, sku")
            feeds: dict[str, list[str]] = {}
            for feed_id, sku in cur.fetchall():
                feeds.setdefault(feed_id, []).append(sku)
            return feeds

    def matched(self, skus: Iterable[str] | None = None) -> set[str]:
        """Matched SKUs among ``skus``, or all of them."""
        with self.conn.cursor() as cur:
            if skus is None:
                cur.execute("SELECT sku FROM walmart_listings WHERE status = 'matched'")
                return {row[0] for row in cur.fetchall()}
            wanted = sorted(set(skus))
            found: set[str] = set()
            for start in range(0, len(wanted), CHUNK):
                part = wanted[start:start + CHUNK]
                cur.execute(f"SELECT sku FROM walmart_listings WHERE status = 'matched' AND sku IN "
                            f"({', '.join(['%s'] * len(part))})", part)
                found |= {row[0] for row in cur.fetchall()}
            return found

    def matched_within(self, skus: Iterable[str], seconds: float) -> dict[str, Any]:
        """SKUs among ``skus`` matched (set up on Walmart) less than ``seconds`` ago -> when."""
        wanted = sorted(set(skus))
        found: dict[str, Any] = {}
        with self.conn.cursor() as cur:
            for start in range(0, len(wanted), CHUNK):
                part = wanted[start:start + CHUNK]
                cur.execute("SELECT sku, matched_at FROM walmart_listings WHERE status = 'matched' AND matched_at > "
                            f"NOW(3) - INTERVAL %s MICROSECOND AND sku IN ({', '.join(['%s'] * len(part))})",
                            [int(seconds * 1_000_000), *part])
                found.update(cur.fetchall())
        return found

    def counts(self) -> dict[str, int]:
        """Every status, 0 where no listing has it (a gauge must fall to 0, not keep its last value)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT status, COUNT(*) FROM walmart_listings GROUP BY status")
            found = {status: int(n) for status, n in cur.fetchall()}
        return {status: found.get(status, 0) for status in LISTING_STATUSES}

    def listing_rows(self, status: str | None = None, limit: int = 1000) -> list[Listing]:
        with self.conn.cursor() as cur:
            where = "WHERE status = %s" if status else ""
            cur.execute(f"SELECT {', '.join(COLUMNS)} FROM walmart_listings {where} ORDER BY "
                        f"FIELD(status, 'error', 'unmatched', 'submitted', 'candidate', 'draft', 'matched'), sku LIMIT %s",
                        ([status] if status else []) + [int(limit)])
            return [Listing(*row) for row in cur.fetchall()]
