"""A full comparison with Walmart, on request: every SKU the workers push is made due now, and the
running inventory and price workers read its value, compare it with what Walmart confirmed and push
the differences (singles or a feed, within the limits), as for any due check. For after a purged
binlog (changes the listener never saw), a restored database, or rows changed with the binlog off.
"""

from __future__ import annotations

from datetime import datetime

from config import Settings
from plumbing.db import connect_commerce
from sync_workers.push.pushable import pushable_skus
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import ValueState, connect_state


def schedule_resync(settings: Settings, streams: list[str]) -> dict[str, int]:
    state = connect_state(settings)
    commerce = connect_commerce(settings)
    try:
        skus = pushable_skus(settings, ListingStore(state), commerce)
        now = datetime.now()
        for stream in streams:
            ValueState(state, stream).schedule({sku: now for sku in skus})
        return {stream: len(skus) for stream in streams}
    finally:
        commerce.close()
        state.close()
