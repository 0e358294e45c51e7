"""Shadow mode's write switch in the Walmart client, against the Walmart emulator: every write the
client can make is withheld (the emulator counts, on arrival, every request to an endpoint that
changes the account: none comes), each is recorded with what it would have sent, and reads still
go out. The emulator's own list of write endpoints is the oracle for "what is a write"."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from config.settings import WalmartSettings
from devstack.walmart_emulator.app import WRITE_ENDPOINTS, WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from domain.shadow import WouldSend
from mappings.inventory import inventory_feed
from mappings.price import price_feed
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartWritesOff
from sync_workers.walmart.limits import PUBLISHED_LIMITS
from sync_workers.walmart.orders import CancelLine, RefundLine, ShipLine
from sync_workers.walmart.shadow import ChangeTimes, describe_write, is_write


@pytest.fixture()
def emulator() -> Iterator[tuple[WalmartEmulator, EmulatorServer]]:
    app = WalmartEmulator({"local-client": "local-secret"})
    app.seed_items("local-client", ["SH-1", "SH-2"])
    with EmulatorServer(app) as server:
        yield app, server


def client_for(server: EmulatorServer, mode: str) -> tuple[WalmartClient, list[WouldSend]]:
    client = WalmartClient(WalmartSettings(base_url=server.url, client_id="local-client",
                                           client_secret="local-secret", mode=mode))
    recorded: list[WouldSend] = []
    client.shadow_sink = recorded.extend
    return client, recorded


def test_every_write_is_withheld_and_recorded_and_reads_still_go_out(emulator) -> None:
    app, server = emulator
    order = app.create_order("local-client", [{"sku": "SH-1", "quantity": 2}])
    po = order.purchase_order_id
    client, recorded = client_for(server, "shadow")
    client.change_times.note("quantity", {"SH-1": 1_000.0})

    writes = [
        lambda: client.update_inventory("SH-1", 7),
        lambda: client.update_inventories("SH-2", {"east": 3, "west": 4}),
        lambda: client.update_price("SH-2", 19.99),
        lambda: client.feeds.submit("inventory", inventory_feed({"SH-1": 5, "SH-2": 6})),
        lambda: client.feeds.submit("price", price_feed({"SH-1": "9.50"})),
        lambda: client.orders.acknowledge(po),
        lambda: client.orders.ship(po, [ShipLine("1", 1, "100000001", "1Z999", carrier="UPS")]),
        lambda: client.orders.cancel(po, [CancelLine("1", 1)]),
        lambda: client.orders.refund(po, [RefundLine("1", 5.0)]),
        lambda: client.returns.refund("77000001", "c-1", [(1, 1)], before=None),
    ]
    refused = 0
    for write in writes:
        try:
            write()
        except WalmartWritesOff:
            refused += 1
        except KeyError:  # the return does not exist: its read before the refund says so, nothing was written
            pass
    assert refused == len(writes) - 1
    assert sum(app.writes_received.values()) == 0, app.writes_received
    assert not app.seller("local-client").inventory  # nothing changed on the account
    assert app.seller("local-client").orders[po].lines[0].statuses[0].status == "Created"

    by_kind = {(e.kind, e.key): e for e in recorded}
    assert by_kind[("quantity", "SH-1")].value in ("7", "5")  # the single, then the feed, replaced it
    assert by_kind[("quantity", "SH-2")].value in ("7", "6")
    assert by_kind[("price", "SH-2")].value == "19.99" and by_kind[("price", "SH-1")].value == "9.50"
    assert {("acknowledge", po), ("ship", po), ("cancel", po), ("refund", po)} <= set(by_kind)
    single = next(e for e in recorded if e.kind == "quantity" and e.key == "SH-1" and e.api == "inventory_put")
    assert single.changed_at == 1_000.0 and single.latency_s is not None and single.latency_s > 0
    assert all(e.would_send_at for e in recorded)

    # reads are not withheld: they reach the emulator as live ones do
    assert client.get_inventory("SH-1").sku == "SH-1"
    assert client.orders.get(po).purchaseOrderId == po
    assert client.stats["writes_withheld"] == len(writes) - 1


def test_live_sends_them(emulator) -> None:
    app, server = emulator
    client, recorded = client_for(server, "live")
    client.update_inventory("SH-1", 7)
    client.update_price("SH-2", 19.99)
    assert app.writes_received["inventory_put"] == 1 and app.writes_received["price_put"] == 1
    assert app.seller("local-client").inventory[("SH-1", "default")] == 7
    assert not recorded


def test_every_write_endpoint_of_the_emulator_is_a_write_for_the_switch() -> None:
    """Judged by the emulator's own list: each endpoint that changes the account, under the client's
    bucket name, is a write; only the two reading POSTs (token, catalogue search) are not."""
    bucket_of = {"feed_submit": ["feeds_price", "feeds_inventory", "feeds_mp_inventory", "feeds_item_match"]}
    app = WalmartEmulator({"c": "s"})
    methods = {rule.endpoint: next(m for m in rule.methods or () if m not in ("HEAD", "OPTIONS"))
               for rule in app.url_map.iter_rules()}
    for endpoint in WRITE_ENDPOINTS:
        for bucket in bucket_of.get(endpoint, [endpoint]):
            assert bucket in PUBLISHED_LIMITS, bucket
            assert is_write(bucket, methods[endpoint]), endpoint
    for endpoint, method in methods.items():
        if endpoint not in WRITE_ENDPOINTS and endpoint in PUBLISHED_LIMITS:
            assert not is_write(endpoint, method), endpoint


def test_a_feed_is_described_per_sku_and_the_oldest_change_time_wins() -> None:
    files = {"file": ("inventory.json", json.dumps(inventory_feed({"A": 1, "B": 0})).encode(), "application/json")}
    entries = describe_write("feeds_inventory", "POST", "/v3/feeds", params={"feedType": "inventory"}, files=files)
    assert [(e.kind, e.key, e.value) for e in entries] == [("quantity", "A", "1"), ("quantity", "B", "0")]
    times = ChangeTimes()
    times.note("quantity", {"A": 20.0})
    times.note("quantity", {"A": 10.0, "B": 30.0})
    stamped = times.take(entries[0])
    assert stamped.changed_at == 10.0
    assert times.take(entries[0]).changed_at is None  # taken once: the next write serves a later change
