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
from devstack.walmart_emulator.app import SellerState, WalmartEmulator, client_rate_limits
from devstack.walmart_emulator.server import EmulatorServer
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

    @property
    def seller(self) -> SellerState:
        return self.walmart.seller(CLIENT_ID)

    @property
    def prefix(self) -> str:
        return self.settings.kafka.topic_prefix

    def calls(self, *apis: str) -> dict[str, int]:
        """Walmart calls the emulator accepted so far, per API."""
        return {api: self.seller.calls.get(api, 0) for api in apis}

    def handler(self, name: str, settings: Settings | None = None) -> Any:
        chosen = settings or self.settings
        return build_worker(name, chosen, client=fast_client(chosen)).handler

    def with_settings(self, **sections: dict[str, Any]) -> Settings:
        """The world's settings with some sections changed (merged into what the world set)."""
        current = {name: dict(values) for name, values in self.overrides.items()}
        for name, values in sections.items():
            current[name] = {**current.get(name, {}), **values}
        return self.env.settings(**current)


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
                  push_skus: str = "all", **overrides: dict[str, Any]) -> Iterator[HandlerWorld]:
    """A seeded Commerce DB of ``products`` (WS-000001...), Walmart listing ``listed`` (all by default),
    and with ``commerce_api`` the Commerce REST emulator over the same database."""
    env = prepare_environment(stack.endpoints, workdir, edition, products=products,  # type: ignore[arg-type]
                              name=f"h{edition[:2]}_{uuid.uuid4().hex[:8]}", push_skus=push_skus)
    walmart = WalmartEmulator({CLIENT_ID: CLIENT_SECRET}, time_scale=TIME_SCALE, feed_delays_s=(0.1, 0.3))
    walmart.seed_items(CLIENT_ID, env.seed.skus if listed is None else listed)
    commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), COMMERCE_TOKEN,
                                rma_enabled=rma) if commerce_api else None
    with EmulatorServer(walmart) as walmart_server:
        commerce_server = EmulatorServer(commerce).start() if commerce is not None else None
        try:
            sections: dict[str, dict[str, Any]] = {
                "walmart": {"base_url": walmart_server.url, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
                            "rate_limits": client_rate_limits(TIME_SCALE), "request_timeout_s": 10},
                "workers": {"feed_poll_s": 0.01, "retry_base_s": 0.01},
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
        finally:
            if commerce_server is not None:
                commerce_server.stop()
