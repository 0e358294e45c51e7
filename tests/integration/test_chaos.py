"""The quick fault suite: every component as its own process under a load in both directions,
with rounds of kill -9 (each time a random component, then a restart), the broker frozen, Walmart
failing (5xx, timeouts, dropped connections, a 429 storm) and Commerce's REST API failing. Nothing
may be lost and nothing applied twice: every SKU's quantity and price, every Walmart order (one
Commerce order each, acknowledged) and every shipped, cancelled and refunded line agree at the end.
The long version with 50 rounds is bench/chaos.py."""

from __future__ import annotations

import pytest

from devstack.chaos import run_chaos


@pytest.mark.chaos
def test_faults_lose_nothing_and_apply_nothing_twice(stack, tmp_path) -> None:
    report = run_chaos(stack, tmp_path, rounds=6, seed=11, broker_pause_s=6.0, converge_timeout_s=150.0,
                       round_s=(0.5, 1.5), say=lambda text: None)
    summary = report.as_json()
    assert sum(report.kills.values()) == 6 and report.broker_pauses == 1, summary
    assert report.walmart_fault_windows and report.storms_429 and report.commerce_fault_windows, summary
    assert report.orders >= 10 and report.merchant_actions["shipped"] >= 3, summary  # the load was real
    assert report.lost == 0 and report.duplicate_effects == 0, summary["checks"]
    # kills and a frozen broker lose no acknowledged record: a gap found here would be a false alarm
    assert report.gaps_detected == 0, summary
    assert report.converge_seconds is not None and report.converge_seconds < 150, summary
