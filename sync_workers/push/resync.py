"""A full comparison with Walmart, on request: every SKU the workers push is made due now, and the
running inventory and price workers read its value, compare it with what Walmart confirmed and push
the differences (singles or a feed, within the limits), as for any due check. For after a purged
binlog (changes the listener never saw), a restored database, or rows changed with the binlog off.
"""

from __future__ import annotations

from datetime import datetime

import pymysql

from config import Settings
from config.components import RESYNC_STREAMS
from plumbing.db import DbConnection, connect_commerce, transaction
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



def take_initial_load(settings: Settings, state: DbConnection, commerce: DbConnection) -> tuple[int, list[str]]:
    """The full comparison the listener asks for (``cdc_checkpoint.resync_due``: a first start at
    the binlog's end, or a start past changes it never saw), done once: every pushable SKU is made
    due for both streams and the flag cleared in one transaction, so two workers cannot both take
    it and a crash between the two leaves it due. Returns (SKUs made due, the listener's reasons).

    The running value workers then compare those SKUs with Walmart within the budget (singles or a
    feed); `walmart-sync lag` counts what is still due per stream."""
    try:
        with transaction(state) as cur:
            cur.execute("SELECT name, resync_reason FROM cdc_checkpoint WHERE resync_due = 1 FOR UPDATE")
            rows = cur.fetchall()
            if not rows:
                return 0, []
            skus = pushable_skus(settings, ListingStore(state), commerce)
            now = datetime.now()
            for stream in RESYNC_STREAMS:
                ValueState(state, stream).schedule({sku: now for sku in skus})
            cur.execute("UPDATE cdc_checkpoint SET resync_due = 0 WHERE resync_due = 1")
    except pymysql.err.ProgrammingError as exc:
        if exc.args and exc.args[0] == 1146:  # no listener ever ran against this state store
            return 0, []
        raise
    return len(skus), [str(reason or name) for name, reason in rows]
