"""Orders: the emulator's lifecycle and the client's calls, checked against Walmart's schemas."""

from __future__ import annotations

import pytest
import requests

from devstack.walmart_emulator.app import FaultConfig, WalmartEmulator
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.errors import WalmartClientError
from sync_workers.walmart.orders import CancelLine, RefundLine, ShipLine
from tests.support.walmart_contract import contract_client

SKUS = [f"WS-{n:06d}" for n in range(1, 11)]


@pytest.fixture
def emulator():
    app = WalmartEmulator({"local-client": "local-secret"})
    app.seed_items("local-client", SKUS)
    with EmulatorServer(app) as server:
        yield server


@pytest.fixture
def client(emulator) -> WalmartClient:
    client, session = contract_client(emulator, request_timeout_s=0.5)
    yield client
    session.assert_clean()


def simulate_order(emulator, client, lines, intent_to_cancel=()) -> str:
    """Walmart's dynamic sandbox way of creating an order: POST /v1/simulations/orders."""
    token = client.access_token()
    response = requests.post(f"{emulator.url}/v1/simulations/orders", timeout=5, headers={
        "WM_SEC.ACCESS_TOKEN": token, "WM_QOS.CORRELATION_ID": "sim", "WM_SVC.NAME": "sim",
        "WM_SANDBOX": "v2"}, json={"orderLines": lines, "intentToCancelLines": list(intent_to_cancel)})
    assert response.status_code == 201, response.text
    return response.json()["purchaseOrderId"]


def statuses(order, line="1") -> dict[str, int]:
    out: dict[str, int] = {}
    for entry in order.line(line).orderLineStatuses.orderLineStatus:
        out[entry.status] = out.get(entry.status, 0) + int(entry.statusQuantity.amount)
    return out


def test_listing_pages_through_the_cursor_and_filters(emulator, client) -> None:
    pos = [simulate_order(emulator, client, [{"sku": SKUS[n], "quantity": 1, "unitPrice": 5 + n}])
           for n in range(5)]
    listed = [o.purchaseOrderId for o in client.orders.list_orders(limit=2)]
    assert listed == pos  # three pages, oldest first, each exactly once
    assert [o.purchaseOrderId for o in client.orders.list_orders(sku=SKUS[3])] == [pos[3]]
    assert list(client.orders.list_orders(customerOrderId="nope")) == []  # 404 means none
    client.orders.acknowledge(pos[0])
    assert [o.purchaseOrderId for o in client.orders.list_released()] == pos[1:]
    assert [o.purchaseOrderId for o in client.orders.list_orders(status="Acknowledged")] == [pos[0]]
    assert client.orders.get(pos[2]).line("1").item.sku == SKUS[2]
    with pytest.raises(WalmartClientError) as too_many:
        list(client.orders.list_orders(limit=201))
    assert too_many.value.has_code("INVALID_REQUEST_PARAM") and too_many.value.details[0].field == "limit"
    with pytest.raises(WalmartClientError) as millis:
        list(client.orders.list_orders(createdStartDate="2026-01-01T00:00:00.396Z"))
    assert millis.value.has_code("INVALID_REQUEST")


def test_line_statuses_per_quantity(emulator, client) -> None:
    po = simulate_order(emulator, client, [{"sku": SKUS[0], "quantity": 3, "unitPrice": 10}])
    assert statuses(client.orders.acknowledge(po)) == {"Acknowledged": 3}
    client.orders.acknowledge(po)  # re-acknowledging is allowed
    order = client.orders.cancel(po, [CancelLine("1", 1, "SELLER_CANCEL_OUT_OF_STOCK")])
    assert statuses(order) == {"Acknowledged": 2, "Cancelled": 1}
    order = client.orders.ship(po, [ShipLine("1", 1, "100000123", "1Z999AA10123456784", carrier="UPS")])
    assert statuses(order) == {"Acknowledged": 1, "Cancelled": 1, "Shipped": 1}
    shipped = [s for s in order.line("1").orderLineStatuses.orderLineStatus if s.status == "Shipped"][0]
    assert shipped.trackingInfo["carrierName"] == {"carrier": "UPS"}
    with pytest.raises(WalmartClientError) as over:
        client.orders.ship(po, [ShipLine("1", 2, "100000123", "1Z2", carrier="UPS")])
    assert "Qty OverShipped" in over.value.details[0].description
    order = client.orders.ship(po, [ShipLine("1", 1, "100000123", "TRK-2", other_carrier="Acme Freight",
                                             tracking_url="https://acme.example/TRK-2")])
    assert statuses(order) == {"Cancelled": 1, "Shipped": 2}
    with pytest.raises(WalmartClientError) as again:
        client.orders.ship(po, [ShipLine("1", 1, "100000123", "TRK-3", carrier="UPS")])
    assert "is in SHIPPED status" in again.value.details[0].description
    with pytest.raises(WalmartClientError) as late_cancel:
        client.orders.cancel(po, [CancelLine("1", 1)])
    assert "cannot be cancelled" in late_cancel.value.details[0].description
    with pytest.raises(WalmartClientError):
        client.orders.acknowledge(po)  # nothing left below Shipped


@pytest.mark.parametrize("past", ["shipped", "cancelled"])
def test_an_acknowledge_is_refused_once_any_unit_is_shipped_or_cancelled(emulator, client, past) -> None:
    # Walmart's lifecycle: re-acknowledging is allowed, but not after a ship or a cancel, even of
    # another line of the PO ("Some or all qty in higher status")
    po = simulate_order(emulator, client, [{"sku": SKUS[4], "quantity": 2}, {"sku": SKUS[5], "quantity": 1}])
    if past == "shipped":
        client.orders.ship(po, [ShipLine("1", 1, "S1", "1Z999AA10123456784", carrier="UPS")])
    else:
        client.orders.cancel(po, [CancelLine("1", 1, "SELLER_CANCEL_OUT_OF_STOCK")])
    with pytest.raises(WalmartClientError) as refused:
        client.orders.acknowledge(po)
    assert "Some or all qty in higher status" in refused.value.details[0].description
    order = client.orders.get(po)
    assert statuses(order, "2") == {"Created": 1}  # nothing of the PO was acknowledged
    assert not order.awaits_acknowledgement() and order.past_acknowledgement()


def test_ship_and_cancel_validation(emulator, client) -> None:
    po = simulate_order(emulator, client, [{"sku": SKUS[1], "quantity": 1}, {"sku": SKUS[2], "quantity": 1}],
                        intent_to_cancel=["2"])
    with pytest.raises(WalmartClientError) as no_url:
        client.orders.ship(po, [ShipLine("1", 1, "S1", "T1", other_carrier="Acme")])
    assert no_url.value.details[0].field == "trackingInfo.trackingURL"
    with pytest.raises(WalmartClientError) as bad_reason:
        client.orders.cancel(po, [CancelLine("1", 1, "CUSTOMER_REQUESTED_SELLER_TO_CANCEL")])
    assert bad_reason.value.details[0].field == "cancellationReason"
    with pytest.raises(WalmartClientError) as intent:
        client.orders.ship(po, [ShipLine("2", 1, "S1", "T1", carrier="FedEx")])
    assert intent.value.details[0].field == "intentToCancelOverride"
    order = client.orders.cancel(po, [CancelLine("2", 1, "CUSTOMER_REQUESTED_SELLER_TO_CANCEL")])
    assert statuses(order, "2") == {"Cancelled": 1}


def test_refunds_only_for_shipped_lines_and_within_the_charge(emulator, client) -> None:
    po = simulate_order(emulator, client, [{"sku": SKUS[3], "quantity": 2, "unitPrice": 10}])
    with pytest.raises(WalmartClientError) as unshipped:
        client.orders.refund(po, [RefundLine("1", 5.0)])
    assert "not shipped" in unshipped.value.details[0].description
    client.orders.ship(po, [ShipLine("1", 2, "S9", "T9", carrier="USPS")])
    token = client.access_token()
    delivered = requests.post(f"{emulator.url}/v1/simulations/{po}/deliver", timeout=5, headers={
        "WM_SEC.ACCESS_TOKEN": token, "WM_QOS.CORRELATION_ID": "sim", "WM_SVC.NAME": "sim"})
    assert delivered.status_code == 200
    order = client.orders.refund(po, [RefundLine("1", 7.5, "DamagedItem", tax=0.6)])
    charges = order.line("1").refund["refundCharges"]["refundCharge"]
    assert charges[0]["charge"]["chargeAmount"]["amount"] == -7.5
    assert statuses(order) == {"Delivered": 2}
    with pytest.raises(WalmartClientError) as too_much:
        client.orders.refund(po, [RefundLine("1", 50.0)])
    assert "exceeds" in too_much.value.details[0].description


def test_each_order_update_lands_exactly_once_under_faults(emulator, client) -> None:
    pos = [simulate_order(emulator, client, [{"sku": SKUS[n], "quantity": 3, "unitPrice": 9}])
           for n in range(8)]
    emulator.app.faults = FaultConfig(error_rate=0.1, timeout_rate=0.05, drop_rate=0.05, timeout_s=1.0)
    emulator.app._rng.seed(11)
    client.backoff_base_s = 0.01
    client.max_attempts = 12
    for po in pos:
        client.orders.acknowledge(po)
        client.orders.ship(po, [ShipLine("1", 2, f"S-{po}", f"T-{po}", carrier="FedEx")])
        client.orders.cancel(po, [CancelLine("1", 1, "SELLER_CANCEL_OUT_OF_STOCK")])
        client.orders.refund(po, [RefundLine("1", 4.5)])
    emulator.app.faults = FaultConfig()
    for po in pos:
        order = client.orders.get(po)
        assert statuses(order) == {"Shipped": 2, "Cancelled": 1}
        assert len(order.line("1").refund["refundCharges"]["refundCharge"]) == 1  # refunded once
    injected = requests.get(f"{emulator.url}/_emulator/state", timeout=5).json()["faults_injected"]
    assert sum(injected.values()) >= 5, injected


def _sim(emulator, client, path, body):
    response = requests.post(f"{emulator.url}{path}", json=body, timeout=5, headers={
        "WM_SEC.ACCESS_TOKEN": client.access_token(), "WM_QOS.CORRELATION_ID": "sim", "WM_SVC.NAME": "sim"})
    assert response.status_code in (200, 201), response.text
    return response.json()


def test_returns_lifecycle_listing_and_refunds(emulator, client) -> None:
    po = simulate_order(emulator, client, [{"sku": SKUS[4], "quantity": 3, "unitPrice": 12}])
    client.orders.ship(po, [ShipLine("1", 3, "S5", "T5", carrier="UPS")])
    with pytest.raises(AssertionError):  # only shipped quantity can be returned
        _sim(emulator, client, "/v1/simulations/returns",
             {"purchaseOrderId": po, "lines": [{"lineNumber": "1", "quantity": 4}]})
    created = [_sim(emulator, client, "/v1/simulations/returns",
                    {"purchaseOrderId": po, "lines": [{"lineNumber": "1", "quantity": 1,
                                                       "returnReason": "DAMAGED"}]})
               for _ in range(3)]
    listed = list(client.returns.list_returns(limit=2))  # two pages through meta.nextCursor
    assert [r.returnOrderId for r in listed] == [c["returnOrderId"] for c in created]
    first = created[0]["returnOrderId"]
    assert client.returns.get(first).returnOrderLines[0].status == "INITIATED"
    _sim(emulator, client, f"/v1/simulations/returns/{first}/deliver", {})
    assert [r.returnOrderId for r in client.returns.list_returns(status="DELIVERED")] == [first]
    client.returns.refund(first, created[0]["customerOrderId"], [(1, 1)])
    done = client.returns.get(first)
    assert done.returnOrderLines[0].status == "COMPLETED" and done.returnOrderLines[0].refundedQty == 1
    assert [r.returnOrderId for r in client.returns.list_returns(status="COMPLETED")] == [first]
    with pytest.raises(WalmartClientError) as twice:
        client.returns.refund(first, created[0]["customerOrderId"], [(1, 1)])
    assert "exceeds the returned quantity" in twice.value.details[0].description
