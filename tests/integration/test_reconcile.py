"""Reconciliation against what Walmart shows, on the real stack: Commerce (MariaDB, binlog), the
listener, Kafka, the inventory worker and the Walmart emulator, with the reconciler reading back.

Walmart is changed behind the sidecar's back in the emulator's own state (a quantity set as Seller
Center would, an item unpublished with Walmart's reason): the sidecar's record of what Walmart
confirmed still says all is well, so only a read-back can find it. The expected quantity is worked
out by hand from MSI's rule (stock 2 = wh_east + wh_west, in-stock quantities at enabled sources).
"""

from __future__ import annotations

import threading

import pytest

from sync_workers.stores.drift import FIX_OFF, NEEDS_A_PERSON, PUSHED_AGAIN, DriftStore
from sync_workers.stores.value_state import connect_state
from tests.integration.test_inventory_worker import set_source, until_walmart_shows, walmart_quantity
from tests.support.cdc_helpers import wait_for, worker_pipeline

LISTED = [f"WS-{n:06d}" for n in range(1, 12)]  # WS-000012 is pushed (push_skus = all) but not on Walmart
CHANGED, UNPUBLISHED, NOT_LISTED = "WS-000003", "WS-000007", "WS-000012"
REASON = "Reasonable Price Not Satisfied"


@pytest.fixture(scope="module")
def pipeline(stack, tmp_path_factory):
    with worker_pipeline(stack, tmp_path_factory.mktemp("rec"), "open_source", "inventory", 12, LISTED,
                         reconcile={"interval_s": 1.0, "fix": ["quantity"]}) as (env, settings, emulator, app, loop):
        yield env, settings, emulator, app, loop


def test_walmart_changed_behind_the_sidecars_back_is_found_listed_and_fixed(pipeline) -> None:
    from walmart_sync.components import build_checker

    env, settings, emulator, app, _loop = pipeline
    with env.admin_connection() as conn, conn.cursor() as cur:
        set_source(cur, CHANGED, "wh_east", 5, 1)
        set_source(cur, CHANGED, "wh_west", 3, 0)  # out of stock there: does not count
    until_walmart_shows(emulator, {CHANGED: 5})

    # Seller Center (or another tool) sets 42; Walmart takes an item down for its price
    with app._lock:
        app.seller("local-client").inventory[(CHANGED, "default")] = 42
    app.unpublish("local-client", UNPUBLISHED, [REASON])
    assert walmart_quantity(emulator, CHANGED) == 42

    reconciler = build_checker("reconciler", settings)
    drift = DriftStore(connect_state(settings))
    detected_at_slice: list[int] = []

    def quantity_drift_seen() -> bool:
        rows = {(d.kind, d.sku): d for d in drift.open(CHANGED)}
        if ("quantity", CHANGED) in rows and not detected_at_slice:
            detected_at_slice.append(reconciler.slices)
            return True
        return bool(detected_at_slice)

    thread = threading.Thread(target=reconciler.run, daemon=True)
    thread.start()
    try:
        wait_for(quantity_drift_seen, 30, "the reconciler to find the quantity Walmart shows")
        found = {(d.kind, d.sku): d for d in drift.open(limit=1000)}
        # fixed (PUSHED_AGAIN) or already pushed back by the time we look: either way it was detected as 42 vs 5
        quantity = found.get(("quantity", CHANGED))
        if quantity is not None:
            assert (quantity.walmart_value, quantity.commerce_value, quantity.action) == ("42", "5", PUSHED_AGAIN)
        unpublished = found[("unpublished", UNPUBLISHED)]
        assert REASON in unpublished.reason and unpublished.action == NEEDS_A_PERSON
        assert unpublished.walmart_value == "UNPUBLISHED"
        # no price worker runs: no price was ever confirmed, so none is judged (the worker owes them all)
        assert not [d for d in found.values() if d.kind == "price"]

        # the inventory worker pushes Commerce's value again, before the reconciler's next slice is done
        until_walmart_shows(emulator, {CHANGED: 5})
        assert reconciler.slices <= detected_at_slice[0] + 1, (reconciler.slices, detected_at_slice)
        # and once read back equal, the difference is gone from the list; the item Walmart unpublished stays
        wait_for(lambda: not [d for d in drift.open(CHANGED) if d.kind == "quantity"], 30,
                 "the fixed quantity to leave the drift list")
        wait_for(lambda: ("missing", NOT_LISTED) in {(d.kind, d.sku) for d in drift.open(limit=1000)}, 30,
                 "a full pass to find the SKU Walmart does not list")
        assert ("unpublished", UNPUBLISHED) in {(d.kind, d.sku) for d in drift.open(limit=1000)}
        assert reconciler.cycles >= 1 and reconciler.last_error is None
    finally:
        reconciler.stop()
        thread.join(30)


def test_a_kind_the_merchant_turned_off_is_listed_and_not_pushed(pipeline) -> None:
    """reconcile.fix without quantity: the difference is listed as left to the merchant, and nothing is
    doubted in the inventory stream (walmart_value_recheck), so no worker pushes it."""
    from walmart_sync.components import build_checker

    _env, settings, emulator, app, _loop = pipeline
    until_walmart_shows(emulator, {CHANGED: 5})  # where the first test left it
    with app._lock:
        app.seller("local-client").inventory[(CHANGED, "default")] = 7
    off = settings.model_copy(update={"reconcile": settings.reconcile.model_copy(update={"fix": []})})
    reconciler = build_checker("reconciler", off)
    state = connect_state(settings)
    with state.cursor() as cur:
        cur.execute("DELETE FROM walmart_reconcile_progress")  # a slice from the catalogue's start
    found = {(d.kind, d.sku): d for d in reconciler.reconcile_slice()}
    quantity = found[("quantity", CHANGED)]
    assert (quantity.walmart_value, quantity.commerce_value, quantity.action) == ("7", "5", FIX_OFF)
    with state.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM walmart_value_recheck WHERE kind = 'inventory' AND sku = %s", (CHANGED,))
        assert cur.fetchone() == (0,)
    assert DriftStore(state).open(CHANGED)[0].action == FIX_OFF
    assert walmart_quantity(emulator, CHANGED) == 7
