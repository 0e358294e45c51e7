"""The order map: a PO is recorded with all its lines or not at all."""

from __future__ import annotations

import pymysql
import pytest

from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state


def test_a_po_is_mapped_with_its_lines_or_not_at_all(commerce_env) -> None:
    """The map and its lines were two autocommit statements: a failure (or a crash) between them left a
    PO mapped without lines, and the order workers' inner join then silently dropped its shipments
    and refunds. A line that cannot be written (a line number longer than its column) now leaves
    nothing recorded, and the import is retried or dead-lettered whole."""
    orders = OrderMap(connect_state(commerce_env.settings()))
    with pytest.raises(pymysql.MySQLError):
        orders.record("PO-TXN-1", "C-1", 7001, "000007001", [("1", 11, "WS-000001", 1), ("9" * 300, 12, "WS-000002", 1)])
    assert orders.commerce_order_of("PO-TXN-1") is None
    assert orders.for_commerce_orders([7001]) == {}

    orders.record("PO-TXN-1", "C-1", 7001, "000007001", [("1", 11, "WS-000001", 1), ("2", 12, "WS-000002", 1)])
    assert orders.commerce_order_of("PO-TXN-1") == 7001
    assert sorted(orders.lines_of(["PO-TXN-1"])) == [("PO-TXN-1", "1"), ("PO-TXN-1", "2")]
