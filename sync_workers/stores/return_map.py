"""Walmart returns and what became of them in Commerce, in the sidecar's state schema.

Written by the return importer (one row per return, one per return line with the Commerce order
item it concerns and the RMA it became) and by the refund worker, which decides once per credit
memo item how much of it refunds a Walmart return (through the Returns API) rather than the order
(through the Orders API), and records how much of each return line Walmart has refunded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from plumbing.db import DbConnection, transaction

DDL = (
    """CREATE TABLE IF NOT EXISTS walmart_return_map (
      return_order_id VARCHAR(32) NOT NULL PRIMARY KEY,
      customer_order_id VARCHAR(32) NOT NULL,
      status VARCHAR(32) NOT NULL,
      walmart_status VARCHAR(16) NULL,
      rma_status VARCHAR(32) NULL,
      detail VARCHAR(512) NULL,
      return_date VARCHAR(32) NULL,
      created_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      updated_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
      KEY walmart_return_map_status (status)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    """CREATE TABLE IF NOT EXISTS walmart_return_line_map (
      return_order_id VARCHAR(32) NOT NULL,
      line_number INT NOT NULL,
      purchase_order_id VARCHAR(32) NOT NULL,
      po_line_number VARCHAR(8) NOT NULL,
      commerce_order_id INT UNSIGNED NULL,
      commerce_item_id INT UNSIGNED NULL,
      commerce_rma_id INT UNSIGNED NULL,
      sku VARCHAR(64) NULL,
      quantity INT NOT NULL,
      refunded_qty INT NOT NULL DEFAULT 0,
      reason VARCHAR(64) NULL,
      PRIMARY KEY (return_order_id, line_number),
      KEY walmart_return_line_map_order (commerce_order_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
    # How much of each credit memo item refunds a Walmart return; decided once, the rest of the
    # item (and every memo without a row here yet) is refunded through the order.
    """CREATE TABLE IF NOT EXISTS walmart_creditmemo_route (
      creditmemo_id INT UNSIGNED NOT NULL,
      order_item_id INT UNSIGNED NOT NULL,
      commerce_order_id INT UNSIGNED NOT NULL,
      return_qty INT NOT NULL,
      decided_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3),
      PRIMARY KEY (creditmemo_id, order_item_id),
      KEY walmart_creditmemo_route_order (commerce_order_id)
    ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4""",
)


@dataclass(frozen=True)
class ReturnLineRecord:
    return_order_id: str
    line_number: int
    purchase_order_id: str
    po_line_number: str
    commerce_order_id: int | None
    commerce_item_id: int | None
    sku: str | None
    quantity: int
    reason: str | None = None
    refunded_qty: int = 0
    commerce_rma_id: int | None = None


@dataclass(frozen=True)
class ReturnState:
    return_order_id: str
    customer_order_id: str
    status: str
    walmart_status: str | None
    rma_status: str | None
    detail: str | None


class ReturnMap:
    def __init__(self, conn: DbConnection):
        self.conn = conn
        with conn.cursor() as cur:
            for statement in DDL:
                cur.execute(statement)

    # returns ---------------------------------------------------------------------------------------
    def record(self, return_order_id: str, customer_order_id: str, walmart_status: str | None,
               return_date: str | None, lines: list[ReturnLineRecord]) -> None:
        """Upsert a polled return; what the sidecar learned later (RMA ids, refunds) is kept."""
        with transaction(self.conn) as cur:
            cur.execute("INSERT INTO walmart_return_map (return_order_id, customer_order_id, status, walmart_status, "
                        "return_date) VALUES (%s, %s, 'new', %s, %s) ON DUPLICATE KEY UPDATE "
                        "walmart_status = VALUES(walmart_status)",
                        (return_order_id, customer_order_id, walmart_status, return_date))
            cur.executemany(
                "INSERT INTO walmart_return_line_map (return_order_id, line_number, purchase_order_id, po_line_number, "
                "commerce_order_id, commerce_item_id, sku, quantity, reason) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE commerce_order_id = COALESCE(commerce_order_id, VALUES(commerce_order_id)), "
                "commerce_item_id = COALESCE(commerce_item_id, VALUES(commerce_item_id)), quantity = VALUES(quantity)",
                [(l.return_order_id, l.line_number, l.purchase_order_id, l.po_line_number, l.commerce_order_id,
                  l.commerce_item_id, l.sku, l.quantity, l.reason) for l in lines])

    def set_status(self, return_order_id: str, status: str, detail: str | None = None,
                   rma_status: str | None = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute("UPDATE walmart_return_map SET status = %s, detail = %s, "
                        "rma_status = COALESCE(%s, rma_status) WHERE return_order_id = %s",
                        (status, (detail or None) and detail[:500], rma_status, return_order_id))

    def state(self, return_order_id: str) -> ReturnState | None:
        with self.conn.cursor() as cur:
            cur.execute("SELECT return_order_id, customer_order_id, status, walmart_status, rma_status, detail "
                        "FROM walmart_return_map WHERE return_order_id = %s", (return_order_id,))
            row = cur.fetchone()
        return ReturnState(*row) if row else None

    def set_rma(self, return_order_id: str, commerce_order_id: int, rma_id: int) -> None:
        with self.conn.cursor() as cur:
            cur.execute("UPDATE walmart_return_line_map SET commerce_rma_id = %s WHERE return_order_id = %s "
                        "AND commerce_order_id = %s", (rma_id, return_order_id, commerce_order_id))

    def lines(self, return_order_id: str) -> list[ReturnLineRecord]:
        return self._lines("return_order_id = %s", return_order_id)

    def lines_of_order(self, commerce_order_id: int) -> list[ReturnLineRecord]:
        """Every Walmart return line of a Commerce order, oldest return first."""
        return self._lines("commerce_order_id = %s", commerce_order_id)

    def _lines(self, where: str, value: Any) -> list[ReturnLineRecord]:
        with self.conn.cursor() as cur:
            cur.execute("SELECT return_order_id, line_number, purchase_order_id, po_line_number, commerce_order_id, "
                        "commerce_item_id, sku, quantity, reason, refunded_qty, commerce_rma_id FROM "
                        f"walmart_return_line_map WHERE {where} ORDER BY return_order_id, line_number", (value,))
            return [ReturnLineRecord(*row) for row in cur.fetchall()]

    def set_refunded(self, return_order_id: str, refunded: dict[int, int]) -> None:
        """Walmart's refunded quantity per return line, as last confirmed."""
        with self.conn.cursor() as cur:
            cur.executemany("UPDATE walmart_return_line_map SET refunded_qty = %s WHERE return_order_id = %s "
                            "AND line_number = %s", [(qty, return_order_id, n) for n, qty in refunded.items()])

    # credit memo routing -----------------------------------------------------------------------------
    def routes(self, commerce_order_id: int) -> dict[tuple[int, int], int]:
        """(credit memo id, order item id) -> quantity refunding a Walmart return."""
        with self.conn.cursor() as cur:
            cur.execute("SELECT creditmemo_id, order_item_id, return_qty FROM walmart_creditmemo_route "
                        "WHERE commerce_order_id = %s", (commerce_order_id,))
            return {(int(m), int(i)): int(q) for m, i, q in cur.fetchall()}

    def add_routes(self, commerce_order_id: int, routes: dict[tuple[int, int], int]) -> None:
        if not routes:
            return
        with self.conn.cursor() as cur:
            cur.executemany("INSERT IGNORE INTO walmart_creditmemo_route (creditmemo_id, order_item_id, "
                            "commerce_order_id, return_qty) VALUES (%s, %s, %s, %s)",
                            [(m, i, commerce_order_id, q) for (m, i), q in routes.items()])
