"""Walmart purchase orders <-> Commerce orders, in the sidecar's state schema.

Written by the order importer when it creates the Commerce order for a Walmart PO (one row per
PO, one per line with the Commerce order item it became); read by the shipment, cancellation and
refund workers to know which Commerce changes concern Walmart and which PO lines they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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
    # Walmart returns and what became of them in Commerce; a credit memo refunded through the
    # returns API is recorded here so the order refund path leaves it alone.
    """CREATE TABLE IF NOT EXISTS walmart_return_map (
      return_order_id VARCHAR(32) NOT NULL PRIMARY KEY,
      purchase_order_id VARCHAR(32) NOT NULL,
      customer_order_id VARCHAR(32) NOT NULL,
      commerce_order_id INT UNSIGNED NULL,
      commerce_rma_id INT UNSIGNED NULL,
      creditmemo_id INT UNSIGNED NULL,
      status VARCHAR(24) NOT NULL,
      detail VARCHAR(512) NULL,
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      KEY walmart_return_map_po (purchase_order_id),
      KEY walmart_return_map_memo (creditmemo_id)
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
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      KEY walmart_order_state_status (status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS walmart_poll_watermarks (
      name VARCHAR(32) NOT NULL PRIMARY KEY,
      value_ms BIGINT NOT NULL,
      polled_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)


@dataclass(frozen=True)
class OrderState:
    purchase_order_id: str
    status: str
    cart_id: int | None
    commerce_order_id: int | None
    last_error: str | None


@dataclass(frozen=True)
class MappedOrder:
    purchase_order_id: str
    commerce_order_id: int
    commerce_increment_id: str | None
    lines: dict[int, str]  # Commerce order item id -> Walmart line number


class OrderMap:
    def __init__(self, conn: Any):
        self.conn = conn
        with conn.cursor() as cur:
            for statement in DDL:
                cur.execute(statement)

    def record(self, purchase_order_id: str, customer_order_id: str, commerce_order_id: int,
               increment_id: str | None, lines: list[tuple[str, int, str, int]]) -> None:
        """``lines``: (line number, Commerce item id, sku, quantity)."""
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_order_map (purchase_order_id, customer_order_id, commerce_order_id, "
                        "commerce_increment_id) VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                        "commerce_order_id = VALUES(commerce_order_id), "
                        "commerce_increment_id = VALUES(commerce_increment_id)",
                        (purchase_order_id, customer_order_id, commerce_order_id, increment_id))
            cur.executemany("INSERT INTO walmart_order_line_map (purchase_order_id, line_number, commerce_item_id, "
                            "sku, quantity) VALUES (%s, %s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
                            "commerce_item_id = VALUES(commerce_item_id)",
                            [(purchase_order_id, *line) for line in lines])

    def commerce_order_of(self, purchase_order_id: str) -> int | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT commerce_order_id FROM walmart_order_map WHERE purchase_order_id = %s",
                        (purchase_order_id,))
            row = cur.fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def state(self, purchase_order_id: str) -> OrderState | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT purchase_order_id, status, cart_id, commerce_order_id, last_error "
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

    def watermark(self, name: str) -> int | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT value_ms FROM walmart_poll_watermarks WHERE name = %s", (name,))
            row = cur.fetchone()
        return int(row[0]) if row else None

    def set_watermark(self, name: str, value_ms: int) -> None:
        with self.conn.cursor() as cur:
            cur.execute("INSERT INTO walmart_poll_watermarks (name, value_ms) VALUES (%s, %s) "
                        "ON DUPLICATE KEY UPDATE value_ms = VALUES(value_ms)", (name, value_ms))

    def return_creditmemos(self, purchase_order_id: str) -> list[int]:
        """Credit memos of this PO that belong to Walmart returns (refunded via the returns API)."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT creditmemo_id FROM walmart_return_map WHERE purchase_order_id = %s "
                        "AND creditmemo_id IS NOT NULL", (purchase_order_id,))
            return [int(row[0]) for row in cur.fetchall()]

    def for_commerce_orders(self, order_ids: list[int]) -> dict[int, MappedOrder]:
        if not order_ids:
            return {}
        marks = ", ".join(["%s"] * len(order_ids))
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT m.commerce_order_id, m.purchase_order_id, m.commerce_increment_id, l.commerce_item_id, "
                        f"l.line_number FROM walmart_order_map m JOIN walmart_order_line_map l "
                        f"ON l.purchase_order_id = m.purchase_order_id WHERE m.commerce_order_id IN ({marks})",
                        order_ids)
            rows = cur.fetchall()
        found: dict[int, MappedOrder] = {}
        for order_id, po, increment, item_id, line in rows:
            mapped = found.setdefault(order_id, MappedOrder(po, order_id, increment, {}))
            if item_id is not None:
                mapped.lines[int(item_id)] = str(line)
        return found
