"""A failed fault run carries the components' log lines about what disagreed: CI keeps the
assertion of a failed run, not its logs."""

from __future__ import annotations

from pathlib import Path

from devstack.agreement import Check
from devstack.chaos import disagreeing_subjects, log_evidence


def test_the_lost_and_doubled_subjects_are_named_and_their_log_lines_collected(tmp_path: Path) -> None:
    lines = Check("order lines", lost=["PO 1885440084 line 1: shipped 0 on Walmart, 1 in Commerce",
                                      "PO 1885440084 line 1: refunded 0 on Walmart, 25.39 credited"])
    price = Check("price", duplicates=["WS-000002: Walmart 55.46, Commerce 39.54"])
    assert disagreeing_subjects([lines, price, Check("inventory")]) == ["1885440084", "WS-000002"]
    (tmp_path / "shipment.log").write_text('{"event": "shipping of PO 1885440084 refused"}\n{"event": "other"}\n')
    (tmp_path / "price-2.log").write_text('{"sku": "WS-000002", "event": "pushed"}\n')
    assert log_evidence(tmp_path, ["1885440084", "WS-000002"]) == [
        'price-2: {"sku": "WS-000002", "event": "pushed"}',
        'shipment: {"event": "shipping of PO 1885440084 refused"}']
    assert log_evidence(tmp_path, []) == []
