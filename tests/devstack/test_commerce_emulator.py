"""The Commerce REST emulator writes what Magento writes: orders, reservations, shipments."""

from __future__ import annotations

import json
import uuid

import pytest
import requests

from devstack.commerce_emulator.app import CommerceEmulator
from devstack.walmart_emulator.server import EmulatorServer

TOKEN = "integration-token"


@pytest.fixture(scope="module")
def commerce(stack, tmp_path_factory):
    from devstack.environment import prepare_environment

    env = prepare_environment(stack.endpoints, tmp_path_factory.mktemp("ce"), "adobe_commerce", products=20,
                              name=f"ce_{uuid.uuid4().hex[:6]}")
    app = CommerceEmulator(lambda: env.admin_connection(autocommit=False), TOKEN)
    with EmulatorServer(app) as server:
        yield env, app, f"{server.url}/rest/walmart_us/V1"


def call(method: str, url: str, body=None, token: str = TOKEN):
    return requests.request(method, url, json=body, headers={"Authorization": f"Bearer {token}"}, timeout=10)


ADDRESS = {"firstname": "Jane", "lastname": "Doe", "street": ["702 SW 8th St"], "city": "Bentonville",
           "region": "AR", "postcode": "72716", "country_id": "US", "telephone": "2025550123",
           "email": "jane@relay.walmart.com"}


def place(base: str, lines: list[tuple[str, int, float]], shipping: float = 0.0) -> int:
    cart = call("POST", f"{base}/carts/").json()
    for sku, qty, price in lines:
        added = call("POST", f"{base}/carts/{cart}/items", {"cartItem": {"sku": sku, "qty": qty, "quote_id": cart,
                                                                         "price": price}})
        assert added.status_code == 200, added.text
    info = call("POST", f"{base}/carts/{cart}/shipping-information", {"addressInformation": {
        "shipping_address": ADDRESS, "billing_address": ADDRESS, "shipping_carrier_code": "flatrate",
        "shipping_method_code": "flatrate", "extension_attributes": {"shipping_amount": shipping}}})
    assert info.status_code == 200, info.text
    placed = call("PUT", f"{base}/carts/{cart}/order", {"paymentMethod": {"method": "checkmo"}})
    assert placed.status_code == 200, placed.text
    return placed.json()


def test_auth_and_error_shape(commerce) -> None:
    _, _, base = commerce
    refused = call("GET", f"{base}/orders/1", token="wrong")
    assert refused.status_code == 401 and "message" in refused.json()
    missing = call("GET", f"{base}/orders/999999")
    assert missing.status_code == 404 and missing.json()["message"].startswith("The entity that was requested")


def test_placing_an_order_writes_magentos_rows_and_reservations(commerce) -> None:
    env, _, base = commerce
    order_id = place(base, [("WS-000002", 2, 12.5), ("WS-000003", 1, 7.0)], shipping=4.0)
    order = call("GET", f"{base}/orders/{order_id}").json()
    assert order["increment_id"].startswith("2") and len(order["increment_id"]) == 10
    assert (order["state"], order["grand_total"], order["shipping_amount"]) == ("new", 36.0, 4.0)
    assert [(i["sku"], i["qty_ordered"], i["price"]) for i in order["items"]] == \
        [("WS-000002", 2.0, 12.5), ("WS-000003", 1.0, 7.0)]
    assert order["extension_attributes"]["shipping_assignments"][0]["shipping"]["address"]["city"] == "Bentonville"
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT sku, quantity, metadata FROM inventory_reservation WHERE metadata LIKE %s ORDER BY sku",
                    (f'%"object_id":"{order_id}"%',))
        rows = cur.fetchall()
    assert [(sku, float(q)) for sku, q, _ in rows] == [("WS-000002", -2.0), ("WS-000003", -1.0)]
    assert json.loads(rows[0][2]) == {"event_type": "order_placed", "object_type": "order",
                                      "object_id": str(order_id), "object_increment_id": order["increment_id"]}
    saved = call("POST", f"{base}/orders", {"entity": {"entity_id": order_id, "ext_order_id": "PO-77"}})
    assert saved.json()["ext_order_id"] == "PO-77"
    search = requests.get(f"{base}/orders", params={
        "searchCriteria[filter_groups][0][filters][0][field]": "ext_order_id",
        "searchCriteria[filter_groups][0][filters][0][value]": "PO-77"},
        headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10).json()
    assert [o["entity_id"] for o in search["items"]] == [order_id]


def test_stock_check_and_unknown_sku(commerce) -> None:
    env, _, base = commerce
    cart = call("POST", f"{base}/carts/").json()
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT SUM(quantity) FROM inventory_source_item WHERE sku = 'WS-000009' AND status = 1 "
                    "AND source_code IN ('wh_east', 'wh_west')")
        available = int(cur.fetchone()[0] or 0)
    short = call("POST", f"{base}/carts/{cart}/items", {"cartItem": {"sku": "WS-000009", "qty": available + 1}})
    assert short.status_code == 400 and short.json()["message"] == "The requested qty is not available"
    unknown = call("POST", f"{base}/carts/{cart}/items", {"cartItem": {"sku": "NOPE-1", "qty": 1}})
    assert unknown.status_code == 404 and "doesn't exist" in unknown.json()["message"]


def test_ship_deducts_sources_and_compensates_the_reservation(commerce) -> None:
    env, _, base = commerce
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_code, quantity FROM inventory_source_item WHERE sku = 'WS-000004'")
        before = {code: float(q) for code, q in cur.fetchall()}
    order_id = place(base, [("WS-000004", 1, 9.0)])
    order = call("GET", f"{base}/orders/{order_id}").json()
    shipped = call("POST", f"{base}/order/{order_id}/ship", {
        "items": [{"order_item_id": order["items"][0]["item_id"], "qty": 1}],
        "tracks": [{"track_number": "1Z999", "title": "UPS", "carrier_code": "ups"}]})
    assert shipped.status_code == 200, shipped.text
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT source_code, quantity FROM inventory_source_item WHERE sku = 'WS-000004'")
        after = {code: float(q) for code, q in cur.fetchall()}
        cur.execute("SELECT SUM(quantity) FROM inventory_reservation WHERE sku = 'WS-000004' AND metadata LIKE %s",
                    (f'%"object_id":"{order_id}"%',))
        reserved = float(cur.fetchone()[0])
    assert sum(before.values()) - sum(after.values()) == 1.0  # one unit left a source
    assert reserved == 0.0  # order_placed -1 compensated by shipment_created +1
    assert call("GET", f"{base}/orders/{order_id}").json()["state"] == "complete"
    cancelled = place(base, [("WS-000005", 1, 3.0)])
    assert call("POST", f"{base}/orders/{cancelled}/cancel").json() is True
    assert call("GET", f"{base}/orders/{cancelled}").json()["items"][0]["qty_canceled"] == 1.0


def test_cli_serves_the_emulator_and_keeps_the_password_out_of_its_output(commerce, stack) -> None:
    import subprocess
    import sys
    import time

    from devstack.mariadb import free_port
    from tests.support.cdc_helpers import REPO

    env, _, _ = commerce
    mysql = stack.endpoints.mysql
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "walmart_sync.cli", "emulator", "commerce", "--dsn",
                             f"mysql://{mysql.user}:{mysql.password}@{mysql.host}:{mysql.port}/{env.commerce_db}",
                             "--token", "cli-token", "--port", str(port), "--no-rma"],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}/rest/walmart_us/V1"
        deadline = time.monotonic() + 20
        while True:
            try:
                created = call("POST", f"{base}/carts/", token="cli-token")
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, proc.stderr.read() if proc.poll() is not None else "no answer"
                time.sleep(0.1)
        assert created.status_code == 200 and isinstance(created.json(), int)
        assert call("POST", f"{base}/returns", {"rmaDataObject": {}}, token="cli-token").status_code == 404
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert "Commerce REST emulator on" in out
    if mysql.password:
        assert mysql.password not in out + err
