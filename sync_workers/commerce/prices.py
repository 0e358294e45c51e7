"""Read price, special price and its window for many SKUs, in either Commerce edition (the EAV
details, editions and store scope, are sync_workers/commerce/eav.py's), and the store's clock the
window is judged on (sync_workers/commerce/store_config.py)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from mappings.price import PriceRecord, store_wall_clock
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader
from sync_workers.commerce.store_config import store_timezone

ATTRIBUTES = ("price", "special_price", "special_from_date", "special_to_date")


class PriceReader:
    def __init__(self, conn: DbConnection, store_id: int, timezone: str | None = None):
        self.conn = conn
        self.store_id = store_id
        self.timezone_override = timezone
        self.eav = EavReader(conn, store_id, ATTRIBUTES)

    def read(self, skus: Iterable[str]) -> dict[str, PriceRecord]:
        return {sku: PriceRecord(sku, f.get("price"), f.get("special_price"), f.get("special_from_date"),
                                 f.get("special_to_date")) for sku, f in self.eav.values(skus).items()}

    def timezone(self) -> ZoneInfo:
        """Read each time (one small query): a merchant may change the store's timezone at run time."""
        return store_timezone(self.conn, self.store_id, self.timezone_override)

    def wall_clock(self, at: datetime | None = None) -> datetime:
        """The store's wall clock at ``at`` (aware; now by default): the ``now`` of mappings/price.py."""
        return store_wall_clock(datetime.now(UTC) if at is None else at, self.timezone())
