"""``walmart-sync order``: one Walmart order on both sides, with Walmart's deadlines.

A Walmart order on the emulator, imported as a Commerce order (the rows the importer leaves and
the mapping), then shipped in Commerce without the shipment worker reporting it; a PO the importer
refused; and lookups by PO and by Commerce increment id.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from operations.order_lookup import look_up_order, render
from plumbing.db import connect_commerce
from sync_workers.walmart.client import WalmartClient
from sync_workers.walmart.orders import OrdersApi
from tests.support.handlers import CLIENT_ID, handler_world, mapped_order
from walmart_sync.cli import main


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("order-lookup")) as running:
        yield running


def lookup(world, query: str, ask_walmart: bool = True, now: datetime | None = None):
    commerce = connect_commerce(world.settings)
    try:
        return look_up_order(query, commerce, world.state_conn,
                             WalmartClient(world.settings.walmart) if ask_walmart else None, now=now)
    finally:
        commerce.close()


def test_an_imported_order_shows_both_sides_and_walmarts_deadlines(world) -> None:
    mapped = mapped_order(world, [{"sku": "WS-000003", "quantity": 2}, {"sku": "WS-000004", "quantity": 1}])
    found = lookup(world, mapped.po)
    assert found.commerce_order_id == mapped.order_id and found.commerce_increment_id == mapped.increment_id
    assert [(line.number, line.sku, line.walmart) for line in found.lines] == [
        ("1", "WS-000003", {"Created": 2}), ("2", "WS-000004", {"Created": 1})]
    assert found.order_date is not None and found.acknowledge_by == found.order_date + timedelta(hours=4)
    assert found.ship_by is not None and found.auto_cancel_at == found.ship_by + timedelta(days=4)
    assert found.findings[0] == f"PO {mapped.po} is Commerce order {mapped.increment_id} (processing)"
    assert found.findings[1].startswith("3 unit(s) not acknowledged on Walmart; due ")
    assert found.findings[-1] == "Walmart shows every shipment and cancellation Commerce made"
    # by the Commerce increment id, the same order
    assert lookup(world, mapped.increment_id, ask_walmart=False).purchase_order_id == mapped.po

    OrdersApi(WalmartClient(world.settings.walmart)).acknowledge(mapped.po)
    later = lookup(world, mapped.po, now=datetime.now(UTC) + timedelta(days=2))  # past the ship-by date
    assert not any("not acknowledged" in f for f in later.findings), later.findings
    assert any(f.startswith("3 unit(s) to ship by ") and f.endswith("PAST THE SHIP-BY DATE")
               for f in later.findings), later.findings


def test_a_shipment_commerce_made_that_walmart_does_not_show_is_named(world) -> None:
    mapped = mapped_order(world, [{"sku": "WS-000005", "quantity": 2}])
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("UPDATE sales_order_item SET qty_shipped = 2 WHERE item_id = %s", (mapped.items[0],))
    found = lookup(world, mapped.po)
    assert found.lines[0].commerce_shipped == 2 and found.lines[0].walmart == {"Created": 2}
    assert "line 1 (WS-000005): Commerce shipped 2, Walmart shows 0: the shipment worker has not reported it" \
        in " ".join(found.findings)
    assert "Walmart shows every shipment" not in " ".join(found.findings)
    screen = render(found)
    assert "line 1" in screen and "Walmart Created 2; Commerce shipped 2, cancelled 0, refunded 0" in screen


def test_a_refused_po_says_why_and_that_walmarts_clock_runs(world) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000006", "quantity": 1}])
    po = order.purchase_order_id
    world.order_map().set_state(po, "failed_unknown_sku", error="line 1: SKU WS-000006 is not in Commerce",
                                order_date=order.order_date)
    found = lookup(world, po, now=datetime.now(UTC) + timedelta(hours=5))
    assert found.commerce_order_id is None
    assert found.findings[0] == f"PO {po} is not a Commerce order: failed_unknown_sku: line 1: SKU WS-000006 is " \
                                "not in Commerce"
    assert "dlq list order_import" in found.findings[1]
    assert any(f.startswith("1 unit(s) not acknowledged on Walmart; due ") and f.endswith("LATE")
               for f in found.findings), found.findings


def test_the_command_answers_in_json_and_fails_for_an_unknown_order(world, capsys) -> None:
    mapped = mapped_order(world, [{"sku": "WS-000007", "quantity": 1}])
    config = str(world.env.config_path)
    assert main(["--config", config, "order", mapped.increment_id, "--no-walmart", "--json"]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["purchase_order_id"] == mapped.po and answer["lines"][0]["sku"] == "WS-000007"
    assert main(["--config", config, "order", "NO-SUCH-PO", "--no-walmart"]) == 1
    assert "no Walmart order 'NO-SUCH-PO' is known" in capsys.readouterr().out
