"""Read price, special price and its window for many SKUs, in either Commerce edition (the EAV
details, editions and store scope, are sync_workers/commerce/eav.py's)."""

from __future__ import annotations

from collections.abc import Iterable

from mappings.price import PriceRecord
from plumbing.db import DbConnection
from sync_workers.commerce.eav import EavReader

ATTRIBUTES = ("price", "special_price", "special_from_date", "special_to_date")


class PriceReader:
    def __init__(self, conn: DbConnection, store_id: int):
        self.eav = EavReader(conn, store_id, ATTRIBUTES)

    def read(self, skus: Iterable[str]) -> dict[str, PriceRecord]:
        return {sku: PriceRecord(sku, f.get("price"), f.get("special_price"), f.get("special_from_date"),
                                 f.get("special_to_date")) for sku, f in self.eav.values(skus).items()}
