"""A world for calling one handler's ``handle()`` / ``tick()`` directly: a seeded Commerce database
on the session's MariaDB, the Walmart emulator (time-scaled, so its rate limits and feed delays
do not slow tests) and, for the importers, the Commerce REST emulator, each on a loopback port.
Handlers are built by ``walmart_sync.components.build_worker``, as every process builds them,
with a Walmart client whose retry backoff is short. No Kafka broker is involved.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from config import Settings
from devstack.commerce_emulator.app import CommerceEmulator
from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.walmart_emulator.app import PRICE_AFTER_SETUP_S, SellerState, WalmartEmulator, client_rate_limits
from devstack.walmart_emulator.orders import LineStatus, Order
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from sync_workers.walmart.client import WalmartClient
from tests.support.records import ChangeRecords
from walmart_sync.components import build_worker

CLIENT_ID, CLIENT_SECRET = "local-client", "local-secret"
COMMERCE_TOKEN = "handler-tests-token"
TIME_SCALE = 60.0  # Walmart's buckets refill, and its feeds complete, 60 times faster


def fast_client(settings: Settings) -> WalmartClient:
    """The sidecar's Walmart client, retrying 5xx as it does in production but with short pauses."""
    return WalmartClient(settings.walmart, sleep=lambda s: time.sleep(min(s, 0.05)), backoff_base_s=0.005,
                         backoff_cap_s=0.02)


@dataclass
class HandlerWorld:
    env: CommerceEnvironment
    settings: Settings
    walmart: WalmartEmulator
    commerce: CommerceEmulator | None
    changes: ChangeRecords
    overrides: dict[str, dict[str, Any]] = field(default_factory=dict)  # the sections the world set
    _state_conn: Any = None

    @property
    def seller(self) -> SellerState:
        return self.walmart.seller(CLIENT_ID)

    @property
    def prefix(self) -> str:
        return self.settings.kafka.topic_prefix

    def walmart_lines(self, po: str) -> dict[str, dict[str, int]]:
        """Walmart's quantity per status of each line of a PO (entries of one status added up)."""
        return {line.number: {status: line.quantity_in(status)
                              for status in dict.fromkeys(entry.status for entry in line.statuses)}
                for line in self.seller.orders[po].lines}

    def walmart_ship(self, po: str, line_number: str, qty: int) -> None:
        """Walmart shows ``qty`` more units of a line Shipped (as after the shipment worker's report)."""
        self.seller.orders[po].line(line_number).move(("Created", "Acknowledged"), qty, LineStatus("Shipped", qty))

    def calls(self, *apis: str) -> dict[str, int]:
        """Walmart calls the emulator accepted so far, per API."""
        return {api: self.seller.calls.get(api, 0) for api in apis}

    @property
    def state_conn(self) -> Any:
        """The test's own connection to the state schema (the handlers have theirs)."""
        if self._state_conn is None:
            self._state_conn = connect_state(self.settings)
        self._state_conn.ping()
        return self._state_conn

    def order_map(self) -> OrderMap:
        return OrderMap(self.state_conn)

    def handler(self, name: str, settings: Settings | None = None) -> Any:
        chosen = settings or self.settings
        return build_worker(name, chosen, client=fast_client(chosen)).handler

    def with_settings(self, **sections: dict[str, Any]) -> Settings:
        """The world's settings with some sections changed (merged into what the world set)."""
        current = {name: dict(values) for name, values in self.overrides.items()}
        for name, values in sections.items():
            current[name] = {**current.get(name, {}), **values}
        return self.env.settings(**current)


@dataclass
class MappedPo:
    """A Walmart PO that became a Commerce order (as the order importer leaves it)."""

    walmart: Order
    order_id: int
    items: list[int]  # Commerce order item ids, in PO line order (line 1 first)
    increment_id: str

    @property
    def po(self) -> str:
        return self.walmart.purchase_order_id


def mapped_order(world: HandlerWorld, lines: list[dict[str, Any]], map_it: bool = True,
                 intent_to_cancel: tuple[str, ...] = ()) -> MappedPo:
    """A Walmart order of ``lines`` ({sku, quantity, unitPrice, shippingPrice}) on the emulator, the
    Commerce order rows it was imported as, and (``map_it``) the PO <-> order mapping;
    ``intent_to_cancel`` names lines the customer asked to cancel."""
    walmart = world.walmart.create_order(CLIENT_ID, lines, intent_to_cancel=intent_to_cancel)
    increment_id = f"2{int(walmart.purchase_order_id) % 10**8:09d}"
    total = sum(line.charged() + line.shipping + line.tax for line in walmart.lines)
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO sales_order (state, status, increment_id, store_id, ext_order_id, base_grand_total, "
                    "grand_total, total_qty_ordered, customer_email) VALUES ('processing', 'processing', %s, 2, %s, "
                    "%s, %s, %s, %s)", (increment_id, walmart.purchase_order_id, total, total,
                                        sum(line.quantity for line in walmart.lines),
                                        f"{walmart.customer_order_id}@relay.walmart.com"))
        order_id = int(cur.lastrowid)
        items = []
        for line in walmart.lines:
            cur.execute("INSERT INTO sales_order_item (order_id, store_id, sku, product_type, qty_ordered, price, "
                        "row_total, tax_amount) VALUES (%s, 2, %s, 'simple', %s, %s, %s, %s)",
                        (order_id, line.sku, line.quantity, line.unit_price, line.charged(), line.tax))
            items.append(int(cur.lastrowid))
    if map_it:
        world.order_map().record(walmart.purchase_order_id, walmart.customer_order_id, order_id, increment_id,
                                 [(line.number, item, line.sku, line.quantity)
                                  for line, item in zip(walmart.lines, items, strict=True)])
    return MappedPo(walmart, order_id, items, increment_id)


@contextmanager
def walmart_down(world: HandlerWorld) -> Iterator[None]:
    """Every Walmart call answers 5xx (the client's retries included) until the block ends."""
    world.walmart.set_faults(error_rate=1.0)
    try:
        yield
    finally:
        world.walmart.set_faults(error_rate=0.0)


@contextmanager
def handler_world(stack: Any, workdir: Path, edition: str = "open_source", *, products: int = 20,
                  listed: list[str] | None = None, commerce_api: bool = False, rma: bool = True,
                  push_skus: str = "all", feed_delays_s: tuple[float, float] = (0.1, 0.3),
                  **overrides: dict[str, Any]) -> Iterator[HandlerWorld]:
    """A seeded Commerce DB of ``products`` (WS-000001...), Walmart listing ``listed`` (all by default),
    and with ``commerce_api`` the Commerce REST emulator over the same database."""
    env = prepare_environment(stack.endpoints, workdir, edition, products=products,  # type: ignore[arg-type]
                              name=f"h{edition[:2]}_{uuid.uuid4().hex[:8]}", push_skus=push_skus)
    walmart = WalmartEmulator({CLIENT_ID: CLIENT_SECRET}, time_scale=TIME_SCALE, feed_delays_s=feed_delays_s)
    walmart.seed_items(CLIENT_ID, env.seed.skus if listed is None else listed)
    commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), COMMERCE_TOKEN,
                                rma_enabled=rma) if commerce_api else None
    with EmulatorServer(walmart) as walmart_server:
        commerce_server = EmulatorServer(commerce).start() if commerce is not None else None
        try:
            sections: dict[str, dict[str, Any]] = {
                "walmart": {"base_url": walmart_server.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                            "rate_limits": client_rate_limits(TIME_SCALE), "request_timeout_s": 10},
                # the sidecar told Walmart's 24 h price window at the emulator's time scale, as its
                # rate limits are
                "workers": {"feed_poll_s": 0.01, "retry_base_s": 0.01,
                            "price_after_setup_s": PRICE_AFTER_SETUP_S / TIME_SCALE},
            }
            if commerce_server is not None:
                sections["commerce_api"] = {"base_url": commerce_server.url, "token": COMMERCE_TOKEN,
                                            "store_code": "walmart_us", "request_timeout_s": 10}
            for section, values in overrides.items():
                sections[section] = {**sections.get(section, {}), **values}
            settings = env.settings(**sections)
            changes = ChangeRecords(env.admin_connection, settings.kafka.topic_prefix, env.commerce_db)
            world = HandlerWorld(env, settings, walmart, commerce, changes, sections)
            try:
                yield world
            finally:
                changes.close()
                if world._state_conn is not None:
                    world._state_conn.close()
        finally:
            if commerce_server is not None:
                commerce_server.stop()
