"""The component registry: every listener, worker and poller built from its name.

The only module that knows how each component is assembled from the settings (its handler, its
clients, its stores). `walmart-sync work`, `run`, the demo and the tests build components here,
so a process started by hand and one started by the supervisor are the same objects. Names come
from ``config.components``; flows are imported only when their component is built, so a command
that needs none of them (``--help``, ``healthcheck``) loads none of them.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from config import Settings
from config.components import CHECKERS, ORDER_WORKERS, POLLERS, WORKERS
from plumbing.db import connect_commerce
from walmart_sync.supervisor import Component, listener_ready, worker_ready

if TYPE_CHECKING:
    from cdc_listener.position import StartSpec
    from sync_workers.pull.pollers import WalmartPoller
    from sync_workers.push.reconcile import Reconciler
    from sync_workers.runtime.loop import WorkerLoop
    from sync_workers.walmart.client import WalmartClient


def recording_shadow(client: WalmartClient, settings: Settings) -> WalmartClient:
    """In shadow mode, the client's withheld writes go to the state store's walmart_shadow_writes
    (the client refuses them either way; this is where the report finds them)."""
    if client.shadow and client.shadow_sink is None:
        from sync_workers.stores.shadow import ShadowLedger
        from sync_workers.stores.value_state import connect_state

        client.shadow_sink = ShadowLedger(connect_state(settings)).record
    return client


def build_worker(name: str, settings: Settings, client: WalmartClient | None = None) -> WorkerLoop:
    from sync_workers.runtime.loop import WorkerLoop
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import ValueState, connect_state
    from sync_workers.walmart.client import WalmartClient

    if name not in WORKERS:
        raise ValueError(f"unknown worker {name!r}; available: {', '.join(WORKERS)}")
    client = recording_shadow(client or WalmartClient(settings.walmart), settings)
    if name == "order_import":
        from sync_workers.commerce.client import CommerceClient
        from sync_workers.pull.order_importer import OrderImporter

        return WorkerLoop(settings, OrderImporter(settings, client, CommerceClient(settings.commerce_api),
                                                  OrderMap(connect_state(settings)),
                                                  connect=lambda: connect_state(settings)))
    if name == "return_import":
        from sync_workers.commerce.client import CommerceClient
        from sync_workers.pull.return_importer import ReturnImporter
        from sync_workers.stores.return_map import ReturnMap

        state = connect_state(settings)
        return WorkerLoop(settings, ReturnImporter(settings, CommerceClient(settings.commerce_api), OrderMap(state),
                                                   ReturnMap(state)))
    if name == "listings":
        from sync_workers.push.listings.worker import ListingWorker, build_matcher

        return WorkerLoop(settings, ListingWorker(
            settings, build_matcher(settings, client, connect_commerce(settings), connect_state(settings)),
            build_matcher(settings, client, connect_commerce(settings), connect_state(settings))))
    if name in ORDER_WORKERS:
        from sync_workers.push.cancellation import CancellationWorker
        from sync_workers.push.refund import RefundWorker
        from sync_workers.push.shipment import ShipmentWorker

        order_class = {"shipment": ShipmentWorker, "cancellation": CancellationWorker,
                       "refund": RefundWorker}[name]
        return WorkerLoop(settings, order_class(settings, client, connect_commerce(settings),
                                                OrderMap(connect_state(settings))))
    from sync_workers.push.inventory import InventoryWorker
    from sync_workers.push.price import PriceWorker

    worker_class = {"inventory": InventoryWorker, "price": PriceWorker}[name]
    handler = worker_class(settings, client, connect_commerce(settings), ValueState(connect_state(settings), name))
    return WorkerLoop(settings, handler)


def build_poller(name: str, settings: Settings, client: WalmartClient | None = None) -> WalmartPoller:
    from sync_workers.pull.pollers import POLLER_CLASSES
    from sync_workers.stores.order_map import OrderMap
    from sync_workers.stores.value_state import connect_state
    from sync_workers.walmart.client import WalmartClient

    if name not in POLLERS:
        raise ValueError(f"unknown poller {name!r}; available: {', '.join(POLLERS)}")
    return POLLER_CLASSES[name](settings, recording_shadow(client or WalmartClient(settings.walmart), settings),
                                OrderMap(connect_state(settings)))


def build_checker(name: str, settings: Settings, client: WalmartClient | None = None) -> Reconciler:
    from sync_workers.push.reconcile import Reconciler
    from sync_workers.stores.value_state import connect_state
    from sync_workers.walmart.client import WalmartClient

    if name not in CHECKERS:
        raise ValueError(f"unknown checker {name!r}; available: {', '.join(CHECKERS)}")
    return Reconciler(settings, recording_shadow(client or WalmartClient(settings.walmart), settings),
                      connect_commerce(settings), connect_state(settings))


def build_components(settings: Settings, chosen: list[str], start: StartSpec | None = None) -> list[Component]:
    """The listener, workers and pollers named in ``chosen``, as supervised components."""
    components = []
    if "listener" in chosen:
        from cdc_listener.listener import Listener
        from cdc_listener.metrics import ListenerMetrics
        from plumbing.metrics import REGISTRY

        if settings.cdc.source == "debezium":  # an existing Debezium's topics, translated
            from cdc_debezium.stage import DebeziumTranslator

            translator = DebeziumTranslator(settings)
            components.append(Component("listener", translator.run, translator.stop,
                                        lambda: listener_ready(translator)))
        else:
            listener = Listener(settings, start, ListenerMetrics(REGISTRY))
            components.append(Component("listener", listener.run, listener.stop, lambda: listener_ready(listener)))
    for name in WORKERS:
        if name in chosen:
            loop = build_worker(name, settings)
            components.append(Component(name, loop.run, loop.stop, partial(worker_ready, loop)))
    for name in POLLERS:
        if name in chosen:
            poller = build_poller(name, settings)
            components.append(Component(name, poller.run, poller.stop, poller.ready))
    for name in CHECKERS:
        if name in chosen and settings.reconcile.enabled:
            checker = build_checker(name, settings)
            components.append(Component(name, checker.run, checker.stop, checker.ready))
    return components
