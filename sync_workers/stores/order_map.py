"""Walmart purchase orders <-> Commerce orders, in the sidecar's state schema.

Written by the order importer when it creates the Commerce order for a Walmart PO (one row per
PO, one per line with the Commerce order item it became); read by the shipment, cancellation and
refund workers to know which Commerce changes concern Walmart and which PO lines they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymysql

from plumbing.db import DbConnection, transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS walmart_order_map (
      purchase_order_id VARCHAR(32) NOT NULL PRIMARY KEY,
      customer_order_id VARCHAR(32) NOT NULL,
      commerce_order_id INT UNSIGNED NULL,
      commerce_increment_id VARCHAR(50) NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      UNIQUE KEY walmart_order_map_commerce (commerce_order_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS walmart_order_line_map (
      purchase_order_id VARCHAR(32) NOT NULL,
      line_number VARCHAR(8) NOT NULL,
      commerce_item_id INT UNSIGNED NULL,
      sku VARCHAR(64) NOT NULL,
      quantity INT NOT NULL,
      PRIMARY KEY (purchase_order_id, line_number),
      KEY walmart_order_line_map_item (commerce_item_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    # Where each Walmart order stands, for the importer's recovery and for support staff.
    """CREATE TABLE IF NOT EXISTS walmart_order_state (
      purchase_order_id VARCHAR(32) NOT NULL PRIMARY KEY,
      status VARCHAR(32) NOT NULL,
      cart_id INT UNSIGNED NULL,
      commerce_order_id INT UNSIGNED NULL,
      order_date BIGINT NULL,
      imported_at TIMESTAMP(3) NULL,
      last_error VARCHAR(512) NULL,
      attempts INT NOT NULL DEFAULT 0,
      walmart_followed VARCHAR(255) NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      KEY walmart_order_state_status (status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    # What each poller last published per document, so an unchanged document polled again in the
    # overlap window is not published (and dead-lettered, or retried) again.
    """CREATE TABLE IF NOT EXISTS walmart_poll_seen (
      name VARCHAR(32) NOT NULL,
      doc_id VARCHAR(32) NOT NULL,
      content_hash CHAR(40) NOT NULL,
      seen_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      PRIMARY KEY (name, doc_id),
      KEY walmart_poll_seen_age (name, seen_at)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS walmart_poll_watermarks (
      name VARCHAR(32) NOT NULL PRIMARY KEY,
      value_ms BIGINT NOT NULL,
      polled_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    # what the running poller was told, for `lag` (which runs with settings of its own)
    """CREATE TABLE IF NOT EXISTS walmart_poll_intervals (
      name VARCHAR(32) NOT NULL PRIMARY KEY,
      interval_s DOUBLE NOT NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)


@dataclass(frozen=True)
class OrderState:
    purchase_order_id: str
    status: str
    cart_id: int | None
    commerce_order_id: int | None
    last_error: str | None
    walmart_followed: str | None = None
    # seconds since the state last changed, by the state store's clock (the sidecar's may differ)
    age_s: float | None = None


@dataclass(frozen=True)
class WalmartOrderFacts:
    """What Walmart says about how a PO is to be fulfilled, kept with its mapping: the warehouse's
    and the deadline guard's input, and what keeps the order workers off WFS orders."""

    ship_method: str | None = None     # shippingInfo.methodCode
    ship_by: int | None = None         # estimatedShipDate, ms
    deliver_by: int | None = None      # estimatedDeliveryDate, ms
    fulfillment: str = "SellerFulfilled"  # shipNode.type; WFSFulfilled: Walmart ships it
    ship_node: str | None = None       # shipNode.id

    @property
    def walmart_fulfilled(self) -> bool:
        return self.fulfillment == "WFSFulfilled"


@dataclass(frozen=True)
class MappedOrder:
    purchase_order_id: str
    commerce_order_id: int
    commerce_increment_id: str | None
    lines: dict[int, str]  # Commerce order item id -> Walmart line number
    facts: WalmartOrderFacts = WalmartOrderFacts()


# What the tables hold (the DDL above): Walmart's ids are checked against these before anything is
# written, so an over-long id is a dead letter naming the field, not a MySQL error after the
# Commerce order already exists
COLUMN_SIZES = {"purchaseOrderId": 32, "customerOrderId": 32, "lineNumber": 8}


def oversized(fields: dict[str, str]) -> list[str]:
    """``field (N characters, at most M fit)`` for each value its column cannot hold."""
    return [f"{name} ({len(value)} characters, at most {COLUMN_SIZES[name]} fit)"
            for name, value in fields.items() if len(value) > COLUMN_SIZES[name]]


# Columns added to a table after its first release: (table, column, definition). Walmart's ship-by
# clock (shippingInfo.estimatedShipDate) and the units not yet shipped or cancelled on Walmart, from
# the newest document the importer saw, are the deadline guard's input.
ADDED_COLUMNS = (("walmart_order_state", "ship_by", "BIGINT NULL"),
                 ("walmart_order_state", "open_units", "INT NULL"),
                 # how Walmart wants the PO fulfilled (WalmartOrderFacts), recorded with its mapping
                 ("walmart_order_map", "ship_method", "VARCHAR(16) NULL"),
                 ("walmart_order_map", "ship_by", "BIGINT NULL"),
                 ("walmart_order_map", "deliver_by", "BIGINT NULL"),
                 ("walmart_order_map", "fulfillment", "VARCHAR(16) NULL"),
                 ("walmart_order_map", "ship_node", "VARCHAR(32) NULL"))


def add_missing_columns(cur: Any, added: tuple[tuple[str, str, str], ...]) -> None:
    """``ALTER TABLE ... ADD COLUMN`` only for a column the table lacks, found in
    information_schema: MySQL has no ``ADD COLUMN IF NOT EXISTS``, and a no-op ALTER every start
    still lands in the binlog, where a Debezium MySQL connector reading the same server stops at
    MariaDB-only DDL it cannot parse."""
    for table, column, definition in added:
        cur.execute("SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                    "AND TABLE_NAME = %s AND COLUMN_NAME = %s", (table, column))
        if not cur.fetchone()[0]:
            try:
                cur.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
            except pymysql.MySQLError as exc:
                if not exc.args or exc.args[0] != 1060:  # Duplicate column name: another process added it meanwhile
                    raise


class OrderMap:
    def __init__(self, conn: DbConnection):
        self.conn = conn
        with conn.cursor() as cur:
            for statement in DDL:
                cur.execute(statement)
            add_missing_columns(cur, ADDED_COLUMNS)

    def record(self, purchase_order_id: str, customer_order_id: str, commerce_order_id: int,
               increment_id: str | None, lines: list[tuple[str, int | None, str, int]],
               facts: WalmartOrderFacts | None = None) -> None:
        """``lines``: (line number, Commerce item id or None where Magento made no item for it, sku, quantity)."""
        f = facts or WalmartOrderFacts()
        with transaction(self.conn) as cur:
            cur.execute("INSERT INTO walmart_order_map (purchase_order_id, customer_order_id, commerce_order_id, "
                        "commerce_increment_id, ship_method, ship_by, deliver_by, fulfillment, ship_node) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                        "commerce_order_id = VALUES(commerce_order_id), "
                        "commerce_increment_id = VALUES(commerce_increment_id)",
                        (purchase_order_id, customer_order_id, commerce_order_id, increment_id,
                         (f.ship_method or "")[:16] or None, f.ship_by, f.deliver_by, f.fulfillment[:16],
                         (f.ship_node or "")[:32] or None))
            cur.executemany("INSERT INTO walmart_order_line_map (purchase_order_id, line_number, commerce_item_id, "
                            "sku, quantity) VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                            "commerce_item_id = VALUES(commerce_item_id)",
                            [(purchase_order_id, *line) for line in lines])

    def facts(self, purchase_order_id: str) -> WalmartOrderFacts | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT ship_method, ship_by, deliver_by, fulfillment, ship_node FROM walmart_order_map "
                        "WHERE purchase_order_id = %s", (purchase_order_id,))
            row = cur.fetchone()
        if row is None:
            return None
        return WalmartOrderFacts(row[0], row[1], row[2], row[3] or "SellerFulfilled", row[4])

    def commerce_order_of(self, purchase_order_id: str) -> int | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT commerce_order_id FROM walmart_order_map WHERE purchase_order_id = %s",
                        (purchase_order_id,))
            row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def standing(self, purchase_order_id: str) -> tuple[int | None, OrderState | None]:
        """(its Commerce order, its state) in one round trip: what the importer asks first of every
        PO it is given (two queries were two round trips per order in a burst)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT m.commerce_order_id, s.purchase_order_id, s.status, s.cart_id, s.commerce_order_id, "
                        "s.last_error, s.walmart_followed, "
                        "TIMESTAMPDIFF(MICROSECOND, s.updated_at, CURRENT_TIMESTAMP(3)) / 1000000 "
                        "FROM (SELECT %s AS po) k LEFT JOIN walmart_order_map m ON m.purchase_order_id = k.po "
                        "LEFT JOIN walmart_order_state s ON s.purchase_order_id = k.po", (purchase_order_id,))
            row = cur.fetchone()
        commerce_id = int(row[0]) if row and row[0] is not None else None
        return commerce_id, (OrderState(*row[1:]) if row and row[1] is not None else None)

    def state(self, purchase_order_id: str) -> OrderState | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT purchase_order_id, status, cart_id, commerce_order_id, last_error, walmart_followed, "
                        "TIMESTAMPDIFF(MICROSECOND, updated_at, CURRENT_TIMESTAMP(3)) / 1000000 "
                        "FROM walmart_order_state WHERE purchase_order_id = %s", (purchase_order_id,))
            row = cur.fetchone()
        return OrderState(*row) if row else None

    def set_state(self, purchase_order_id: str, status: str, *, cart_id: int | None = None,
                  commerce_order_id: int | None = None, error: str | None = None,
                  order_date: int | None = None) -> None:
        """Upsert; ``None`` keeps what is recorded (except the error, which is replaced)."""
        with self.conn.cursor() as cur:
            cur.execute(
                "INSERT INTO walmart_order_state (purchase_order_id, status, cart_id, commerce_order_id, order_date, "
                "last_error, attempts, imported_at) VALUES (%s, %s, %s, %s, %s, %s, 1, "
                "IF(%s IS NULL, NULL, CURRENT_TIMESTAMP(3))) ON DUPLICATE KEY UPDATE status = VALUES(status), "
                "cart_id = COALESCE(VALUES(cart_id), cart_id), "
                "commerce_order_id = COALESCE(VALUES(commerce_order_id), commerce_order_id), "
                "order_date = COALESCE(VALUES(order_date), order_date), last_error = VALUES(last_error), "
                "attempts = attempts + 1, imported_at = COALESCE(imported_at, VALUES(imported_at))",
                (purchase_order_id, status, cart_id, commerce_order_id, order_date, (error or None) and error[:500],
                 commerce_order_id))

    def set_walmart_progress(self, purchase_order_id: str, ship_by: int | None, open_units: int | None) -> None:
        """Where Walmart's clocks stand for a PO the importer saw (a row only once it has a state)."""
        with self.conn.cursor() as cur:
            cur.execute("UPDATE walmart_order_state SET ship_by = COALESCE(%s, ship_by), "
                        "open_units = COALESCE(%s, open_units), updated_at = updated_at WHERE purchase_order_id = %s",
                        (ship_by, open_units, purchase_order_id))

    def acknowledgements_due(self, limit: int, stale_s: float) -> list[str]:
        """POs whose acknowledgement is queued (or was claimed by a replica that never finished),
        oldest Walmart order first: the 4-hour clock runs from the order date."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT purchase_order_id FROM walmart_order_state WHERE status = 'ack_pending' "
                        "OR (status = 'acknowledging' AND updated_at < CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND) "
                        "ORDER BY order_date LIMIT %s", (float(stale_s), max(1, int(limit))))
            return [str(row[0]) for row in cur.fetchall()]

    def claim_acknowledgement(self, purchase_order_id: str, stale_s: float) -> bool:
        """Compare-and-set ack_pending (or a stale claim) -> acknowledging; True for the winner."""
        with self.conn.cursor() as cur:
            # updated_at set explicitly: taking over a stale claim changes no other column, and an
            # UPDATE that changes nothing reports no affected row
            cur.execute("UPDATE walmart_order_state SET status = 'acknowledging', updated_at = CURRENT_TIMESTAMP(3) "
                        "WHERE purchase_order_id = %s AND "
                        "(status = 'ack_pending' OR (status = 'acknowledging' AND "
                        "updated_at < CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND))",
                        (purchase_order_id, float(stale_s)))
            return bool(cur.rowcount == 1)

    def set_followed(self, purchase_order_id: str, signature: str) -> None:
        """The Walmart-side changes (cancellations, intents to cancel) already acted on."""
        with self.conn.cursor() as cur:
            cur.execute("UPDATE walmart_order_state SET walmart_followed = %s WHERE purchase_order_id = %s",
                        (signature[:255], purchase_order_id))

    def lines_of(self, purchase_order_ids: list[str]) -> dict[tuple[str, str], tuple[int, int | None, str | None]]:
        """(PO, line number) -> (Commerce order id, Commerce item id, Commerce increment id)."""
        if not purchase_order_ids:
            return {}
        marks = ", ".join(["%s"] * len(purchase_order_ids))
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT l.purchase_order_id, l.line_number, m.commerce_order_id, l.commerce_item_id, "
                        f"m.commerce_increment_id FROM walmart_order_line_map l JOIN walmart_order_map m "
                        f"ON m.purchase_order_id = l.purchase_order_id WHERE l.purchase_order_id IN ({marks}) "
                        f"AND m.commerce_order_id IS NOT NULL", purchase_order_ids)
            return {(po, str(line)): (int(order), None if item is None else int(item), increment)
                    for po, line, order, item, increment in cur.fetchall()}

    def watermark(self, name: str) -> int | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT value_ms FROM walmart_poll_watermarks WHERE name = %s", (name,))
            row = cur.fetchone()
        return int(row[0]) if row else None

    def set_interval(self, name: str, interval_s: float) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_poll_intervals (name, interval_s) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE interval_s = VALUES(interval_s)", (name, interval_s))

    def set_watermark(self, name: str, value_ms: int) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_poll_watermarks (name, value_ms) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE value_ms = VALUES(value_ms)", (name, value_ms))

    def published(self, name: str, doc_ids: list[str]) -> dict[str, str]:
        if not doc_ids:
            return {}
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT doc_id, content_hash FROM walmart_poll_seen WHERE name = %s AND doc_id IN "
                        f"({', '.join(['%s'] * len(doc_ids))})", [name, *doc_ids])
            return dict(cur.fetchall())

    def mark_published(self, name: str, hashes: dict[str, str]) -> None:
        if not hashes:
            return
        with self.conn.cursor() as cur:
            cur.executemany("INSERT INTO walmart_poll_seen (name, doc_id, content_hash) VALUES (%s, %s, %s) "
                            "ON DUPLICATE KEY UPDATE content_hash = VALUES(content_hash)",
                            [(name, doc_id, h) for doc_id, h in hashes.items()])

    def prune_published(self, name: str, older_than_s: float) -> int:
        with self.conn.cursor() as cur:
            return cur.execute("DELETE FROM walmart_poll_seen WHERE name = %s AND seen_at < "
                               "CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND", (name, int(older_than_s)))

    def recent_commerce_orders(self, days: int = 180) -> list[int]:
        """Commerce orders made from Walmart POs in the last ``days`` (Walmart keeps 180): what a
        repair after lost shipment, cancellation or refund events reconciles."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT commerce_order_id FROM walmart_order_map WHERE commerce_order_id IS NOT NULL AND "
                        "created_at > NOW() - INTERVAL %s DAY ORDER BY commerce_order_id", (days,))
            return [int(order_id) for (order_id,) in cur.fetchall()]

    def being_imported(self, purchase_order_ids: list[str]) -> set[str]:
        """Of these POs, those the importer has begun (a state row) but not recorded in the map:
        their Commerce order may exist already, placed in the moment before the map row."""
        if not purchase_order_ids:
            return set()
        marks = ", ".join(["%s"] * len(purchase_order_ids))
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT s.purchase_order_id FROM walmart_order_state s LEFT JOIN walmart_order_map m "
                        f"ON m.purchase_order_id = s.purchase_order_id WHERE s.purchase_order_id IN ({marks}) "
                        f"AND m.commerce_order_id IS NULL", purchase_order_ids)
            return {str(row[0]) for row in cur.fetchall()}

    def imports_in_flight(self, within_s: float) -> list[str]:
        """POs the importer is placing now (begun within ``within_s``, not recorded in the map):
        a repair that reconciles the map's orders cannot see them yet."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT s.purchase_order_id FROM walmart_order_state s LEFT JOIN walmart_order_map m "
                        "ON m.purchase_order_id = s.purchase_order_id WHERE s.status = 'placing' AND "
                        "m.commerce_order_id IS NULL AND s.updated_at > CURRENT_TIMESTAMP(3) - INTERVAL %s SECOND "
                        "ORDER BY s.purchase_order_id", (int(within_s),))
            return [str(row[0]) for row in cur.fetchall()]

    def for_commerce_orders(self, order_ids: list[int]) -> dict[int, MappedOrder]:
        if not order_ids:
            return {}
        marks = ", ".join(["%s"] * len(order_ids))
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT m.commerce_order_id, m.purchase_order_id, m.commerce_increment_id, l.commerce_item_id, "
                        f"l.line_number, m.ship_method, m.ship_by, m.deliver_by, m.fulfillment, m.ship_node "
                        f"FROM walmart_order_map m JOIN walmart_order_line_map l "
                        f"ON l.purchase_order_id = m.purchase_order_id WHERE m.commerce_order_id IN ({marks})",
                        order_ids)
            rows = cur.fetchall()
        found: dict[int, MappedOrder] = {}
        for order_id, po, increment, item_id, line, method, ship_by, deliver_by, fulfillment, node in rows:
            facts = WalmartOrderFacts(method, ship_by, deliver_by, fulfillment or "SellerFulfilled", node)
            mapped = found.setdefault(order_id, MappedOrder(po, order_id, increment, {}, facts))
            if item_id is not None:
                mapped.lines[int(item_id)] = str(line)
        return found
