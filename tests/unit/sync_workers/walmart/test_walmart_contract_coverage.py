"""Every endpoint the emulator serves, driven once through the client, conforms to Walmart's spec;
and a 429 storm is waited out."""

from __future__ import annotations

import time

import requests

from config.settings import WalmartSettings
from devstack.walmart_emulator.app import WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from devstack.walmart_emulator.spec_validation import operations
from mappings.identifiers import to_gtin14, with_check_digit
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.orders import CancelLine, RefundLine, ShipLine
from tests.support.walmart_contract import ContractSession


def _is_feed_upload(operation_id: str) -> bool:
    """POST /v3/feeds is declared by three specs (same response); it is checked as one."""
    op = operations()[operation_id]
    return op["method"] == "POST" and op["path"] == "/v3/feeds"


def test_each_emulated_operation_is_exercised_and_conforms() -> None:
    gtin = to_gtin14(with_check_digit("81000000777"))
    app = WalmartEmulator({"local-client": "local-secret"}, feed_delays_s=(0.05, 0.1))
    app.seed_items("local-client", ["A-1", "A-2"], gtin=gtin)
    app.seed_catalog([{"itemId": "999", "title": "Thing", "gtin": gtin}])
    session = ContractSession()
    with EmulatorServer(app) as server:
        client = WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                               client_secret="local-secret"), session=session)
        client.update_inventory("A-1", 3)
        client.get_inventory("A-1")
        client.update_inventories("A-1", {"default": 4})
        client.get_inventories("A-1")
        client.update_price("A-1", 9.99)
        client.get_lag_time("A-1")
        feed = client.feeds.submit("inventory", {"InventoryHeader": {"version": "1.4"},
                                                 "Inventory": [{"sku": "A-2", "quantity": {"unit": "EACH", "amount": 1}}]})
        client.feeds.wait(feed, poll_s=0.05, timeout_s=5)
        client._send("feeds_status", "GET", "/v3/feeds")
        list(client.items.list_items())
        client.items.get_item("A-1")
        client.items.search_walmart(gtin=gtin)
        list(client.items.search_catalog("sku", "A-2"))
        order = app.create_order("local-client", [{"sku": "A-1", "quantity": 3, "unitPrice": 5}])
        po = order.purchase_order_id
        list(client.orders.list_released())
        client.orders.acknowledge(po)
        list(client.orders.list_orders())
        client.orders.cancel(po, [CancelLine("1", 1)])
        client.orders.ship(po, [ShipLine("1", 2, "S1", "T1", carrier="UPS")])
        client.orders.refund(po, [RefundLine("1", 2.5)])
        client.orders.get(po)
        created = app.create_return("local-client", po, [{"lineNumber": "1", "quantity": 1}])
        list(client.returns.list_returns())
        client.returns.refund(created.return_order_id, created.customer_order_id, [(1, 1)])
    session.assert_clean()
    checked = set(session.checked)
    assert any(_is_feed_upload(op) for op in checked)
    assert {op for op in checked if not _is_feed_upload(op)} == {
        op for op in operations() if not _is_feed_upload(op)}


def test_a_429_storm_is_waited_out_not_failed() -> None:
    app = WalmartEmulator({"local-client": "local-secret"})
    app.seed_items("local-client", ["A-1"])
    with EmulatorServer(app) as server:
        client = WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                               client_secret="local-secret"))
        client.access_token()
        requests.post(f"{server.url}/_emulator/faults", json={"storm_429_s": 1.0}, timeout=5)
        started = time.monotonic()
        client.update_inventory("A-1", 5)
        waited = time.monotonic() - started
        seen = requests.get(f"{server.url}/_emulator/state", timeout=5).json()
    assert seen["inventory"] == {"A-1@default": 5}
    assert seen["throttled"]["inventory_put"] >= 1 and client.stats["throttled"] >= 1
    assert waited >= 0.9  # it paused until the announced replenish time instead of hammering
