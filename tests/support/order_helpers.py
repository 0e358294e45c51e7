"""Helpers for tests of the Walmart -> Commerce direction: both emulators over a seeded Commerce
database, the pollers and workers asked for, optionally the listener, and the merchant's actions
through the Commerce REST emulator."""

from __future__ import annotations

import threading
import uuid
from contextlib import contextmanager, nullcontext
from typing import Any

import requests

from devstack.commerce_emulator.app import CommerceEmulator
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import ListenerThread
from walmart_sync.components import build_poller, build_worker

TOKEN = "commerce-integration-token"
LISTED = [f"WS-{n:06d}" for n in range(1, 21)]


@contextmanager
def order_pipeline(stack, workdir, edition: str = "open_source", workers: tuple[str, ...] = ("order_import",),
                   listener: bool = False, pollers: tuple[str, ...] = ("order_poller",), rma: bool = True,
                   worker_settings: dict[str, Any] | None = None, **overrides: dict[str, Any]):
    """Yields (env, settings, Walmart emulator, the merchant, runners: pollers then workers).
    ``worker_settings``: the [workers] section (``workers`` names the workers to run)."""
    from devstack.environment import prepare_environment

    env = prepare_environment(stack.endpoints, workdir, edition, products=20, name=f"oi_{uuid.uuid4().hex[:6]}")
    walmart = WalmartEmulator({"local-client": "local-secret"})
    walmart.seed_items("local-client", LISTED + ["WS-999999"])  # the last one is not in Commerce
    commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), TOKEN, rma_enabled=rma)
    with EmulatorServer(walmart) as walmart_server, EmulatorServer(commerce) as commerce_server:
        sections: dict[str, dict[str, Any]] = {
            "workers": {"coalesce_ms": 50, "order_poll_s": 0.3, "return_poll_s": 0.3, **(worker_settings or {})},
            "cdc": {"checkpoint_interval_ms": 100}}
        for section, values in overrides.items():
            sections[section] = {**sections.get(section, {}), **values}
        settings = env.settings(
            walmart={"base_url": walmart_server.url, "client_id": "local-client", "client_secret": "local-secret",
                     **sections.pop("walmart", {})},
            commerce_api={"base_url": commerce_server.url, "token": TOKEN, "store_code": "walmart_us",
                          **sections.pop("commerce_api", {})},
            **sections)
        runners = [build_poller(p, settings) for p in pollers] + [build_worker(w, settings) for w in workers]
        threads = [threading.Thread(target=r.run, daemon=True) for r in runners]
        with (ListenerThread(settings) if listener else nullcontext()):
            for thread in threads:
                thread.start()
            try:
                yield env, settings, walmart, Merchant(commerce_server), runners
            finally:
                for runner in runners:
                    runner.stop()
                for thread in threads:
                    thread.join(30)


def state_of(settings, po: str):
    return OrderMap(connect_state(settings)).state(po)


class Merchant:
    """What a merchant does in the Commerce admin, through the REST emulator."""

    def __init__(self, commerce_server: Any):
        self.emulator = commerce_server.app  # its faults, for the tests that slow Commerce down
        self.base = f"{commerce_server.url}/rest/walmart_us/V1"
        self.headers = {"Authorization": f"Bearer {TOKEN}"}

    def _post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        response = requests.post(self.base + path, json=body or {}, headers=self.headers, timeout=10)
        assert response.status_code == 200, response.text
        return response.json()

    def invoice(self, order_id: int) -> int:
        return int(self._post(f"/order/{order_id}/invoice", {"capture": True}))

    def ship(self, order_id: int, items: dict[int, int] | None = None,
             track: tuple[str, str, str] = ("1Z999AA10123456784", "UPS", "ups"), source: str | None = None) -> int:
        """``source``: the MSI source the merchant ships from (InventoryShipping's source_code argument)."""
        body: dict[str, Any] = {"tracks": [{"track_number": track[0], "title": track[1], "carrier_code": track[2]}]}
        if source:
            body["arguments"] = {"extension_attributes": {"source_code": source}}
        if items:
            body["items"] = [{"order_item_id": i, "qty": q} for i, q in items.items()]
        return int(self._post(f"/order/{order_id}/ship", body))

    def refund(self, order_id: int, items: dict[int, int], return_to_stock: bool = True,
               shipping: float = 0.0) -> int:
        return int(self._post(f"/order/{order_id}/refund", {
            "items": [{"order_item_id": i, "qty": q} for i, q in items.items()],
            "arguments": {"shipping_amount": shipping,
                          "extension_attributes": {"return_to_stock_items": list(items) if return_to_stock else []}}}))

    def cancel(self, order_id: int) -> bool:
        return bool(self._post(f"/orders/{order_id}/cancel"))
