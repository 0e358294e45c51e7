"""Build and run a push worker by name (`walmart-sync work <name>`)."""

from __future__ import annotations

from typing import Any

import pymysql

from config import Settings
from sync_workers.consumer import WorkerLoop
from sync_workers.state import ValueState, connect_state
from sync_workers.walmart.client import WalmartClient

WORKERS = ("inventory", "price", "shipment", "cancellation", "refund", "order_import", "return_import", "listings")
POLLERS = ("order_poller", "return_poller")
ORDER_WORKERS = ("shipment", "cancellation", "refund")


def worker_families() -> dict[str, tuple[str, ...]]:
    """Worker -> the event families (topics) its consumer group reads, from the handler classes."""
    from sync_workers.cancellation_worker import CancellationWorker
    from sync_workers.inventory.worker import InventoryWorker
    from sync_workers.listings.worker import ListingWorker
    from sync_workers.order_importer import OrderImporter
    from sync_workers.price.worker import PriceWorker
    from sync_workers.refund_worker import RefundWorker
    from sync_workers.return_importer import ReturnImporter
    from sync_workers.shipment_worker import ShipmentWorker

    classes = (InventoryWorker, PriceWorker, ShipmentWorker, CancellationWorker, RefundWorker, OrderImporter,
               ReturnImporter, ListingWorker)
    families = {cls.name: tuple(cls.families) for cls in classes}
    assert set(families) == set(WORKERS), "every worker has a consumer group"
    return {name: families[name] for name in WORKERS}


def commerce_connection(settings: Settings) -> Any:
    db = settings.commerce_db
    return pymysql.connect(host=db.host, port=db.port, user=db.user, password=db.password.get_secret_value(),
                           database=db.database, autocommit=True, connect_timeout=db.connect_timeout_s)


def build_worker(name: str, settings: Settings, client: WalmartClient | None = None) -> WorkerLoop:
    if name not in WORKERS:
        raise ValueError(f"unknown worker {name!r}; available: {', '.join(WORKERS)}")
    client = client or WalmartClient(settings.walmart)
    if name == "order_import":
        from sync_workers.commerce.client import CommerceClient
        from sync_workers.order_importer import OrderImporter
        from sync_workers.order_map import OrderMap

        return WorkerLoop(settings, OrderImporter(settings, client, CommerceClient(settings.commerce_api),
                                                  OrderMap(connect_state(settings))))
    if name == "return_import":
        from sync_workers.commerce.client import CommerceClient
        from sync_workers.order_map import OrderMap
        from sync_workers.return_importer import ReturnImporter
        from sync_workers.return_map import ReturnMap

        state = connect_state(settings)
        return WorkerLoop(settings, ReturnImporter(settings, CommerceClient(settings.commerce_api), OrderMap(state),
                                                   ReturnMap(state)))
    if name == "listings":
        from sync_workers.listings.worker import ListingWorker, build_matcher

        return WorkerLoop(settings, ListingWorker(settings, build_matcher(
            settings, client, commerce_connection(settings), connect_state(settings))))
    from sync_workers.inventory.worker import InventoryWorker
    from sync_workers.price.worker import PriceWorker

    if name in ORDER_WORKERS:
        from sync_workers.cancellation_worker import CancellationWorker
        from sync_workers.order_map import OrderMap
        from sync_workers.refund_worker import RefundWorker
        from sync_workers.shipment_worker import ShipmentWorker

        order_class = {"shipment": ShipmentWorker, "cancellation": CancellationWorker,
                       "refund": RefundWorker}[name]
        return WorkerLoop(settings, order_class(settings, client, commerce_connection(settings),
                                                OrderMap(connect_state(settings))))
    worker_class = {"inventory": InventoryWorker, "price": PriceWorker}[name]
    handler = worker_class(settings, client, commerce_connection(settings),
                           ValueState(connect_state(settings), name))
    return WorkerLoop(settings, handler)


def build_poller(name: str, settings: Settings, client: WalmartClient | None = None) -> Any:
    if name not in POLLERS:
        raise ValueError(f"unknown poller {name!r}; available: {', '.join(POLLERS)}")
    from sync_workers.order_map import OrderMap
    from sync_workers.pollers import POLLER_CLASSES

    return POLLER_CLASSES[name](settings, client or WalmartClient(settings.walmart), OrderMap(connect_state(settings)))
