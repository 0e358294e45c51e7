"""The importer against the Commerce emulator in both of its modes, read from one declaration
(commerce-module/contract.json): a stock Magento (no module: its routes 404, undeclared extension
attributes refused as Magento\\Framework\\Webapi\\ServiceInputProcessor does, item prices from the
catalogue) stops the importer naming the install command; with the module the same order imports.
Then each Magento refusal: cancellation on Walmart with the configured reason, or a dead letter
with Magento's text."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from operations.health import check_commerce_module
from sync_workers.commerce.client import CommerceClient, CommerceClientError, CommerceServerError
from sync_workers.pull.order_importer import CommerceModuleMissing
from sync_workers.runtime.errors import NotYet, classify
from tests.support.handlers import CLIENT_ID, handler_world
from tests.support.records import deliver, polled_record


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("order_module"), commerce_api=True) as running:
        yield running


@contextmanager
def commerce_as(world, **attributes: Any) -> Iterator[None]:
    """The emulator switched to another Magento (version, module, classifier) for the block."""
    before = {name: getattr(world.commerce, name) for name in attributes}
    for name, value in attributes.items():
        setattr(world.commerce, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(world.commerce, name, value)


def commerce_orders(world, po: str) -> list[tuple]:
    with world.env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("SELECT entity_id FROM sales_order WHERE ext_order_id = %s", (po,))
        return list(cur.fetchall())


def state_of(world, po: str) -> tuple[str | None, str | None]:
    state = world.order_map().state(po)
    return (state.status, state.last_error) if state else (None, None)


def test_stock_magento_refuses_the_module_fields_and_the_importer_will_not_start_without_it(world) -> None:
    client = CommerceClient(world.settings.commerce_api)
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000001", "quantity": 1, "unitPrice": 1.5}])
    record = polled_record(world.prefix, order.to_json())
    with commerce_as(world, module_version=None):
        assert client.module_info() is None  # GET /V1/walmart-sync/module: 404
        (finding,) = check_commerce_module(world.settings)
        assert not finding.ok and "WalmartSync_Marketplace is not installed" in finding.detail
        assert "composer require walmart-sync/module-marketplace" in finding.detail
        # 2.4.7+: ServiceInputProcessor::processInputErrorForNestedSet, an InputException (400)
        cart = client.create_cart()
        with pytest.raises(CommerceClientError) as refused:
            client.add_item(cart, "WS-000001", 1, price=1.5, tax=0.12)
        assert (refused.value.status, refused.value.message) == (
            400, '"TaxAmount" is not supported. Correct the field name and try again.')
        with commerce_as(world, magento_version="2.4.6"):  # NameFinder's LogicException, masked
            with pytest.raises(CommerceServerError) as masked:
                client.add_item(cart, "WS-000001", 1, price=1.5, tax=0.12)
            assert masked.value.status == 500 and masked.value.message.startswith("Internal Error.")
        item = client.add_item(cart, "WS-000001", 1, price=1.5)  # price has a setter: accepted, not used
        with world.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT d.value FROM catalog_product_entity_decimal d JOIN eav_attribute a ON a.attribute_id "
                        "= d.attribute_id AND a.attribute_code = 'price' JOIN catalog_product_entity p ON "
                        "p.entity_id = d.entity_id WHERE p.sku = 'WS-000001' AND d.store_id = 0")
            (catalogue,), = cur.fetchall()
        assert item["price"] == float(catalogue) != 1.5

        importer = world.handler("order_import")
        with pytest.raises(CommerceModuleMissing) as missing:
            deliver(importer, [record])
        assert classify(missing.value) == "fatal"  # the worker stops and says why
        assert "WalmartSync_Marketplace" in str(missing.value) and "bin/magento setup:upgrade" in str(missing.value)
        assert commerce_orders(world, order.purchase_order_id) == []

    (finding,) = check_commerce_module(world.settings)
    assert finding.ok and "WalmartSync_Marketplace 0.1.0" in finding.detail
    importer = world.handler("order_import")
    assert deliver(importer, [record]) == []
    assert len(commerce_orders(world, order.purchase_order_id)) == 1


@pytest.mark.parametrize(("version", "only_x_of_y", "words"), [
    ("2.4.7", False, "The requested qty is not available"),
    ("2.4.8", False, "Not enough items for sale"),
    ("2.4.8", True, "Only "),
])
def test_a_stock_refusal_in_magentos_words_of_each_release_cancels_the_po_on_walmart(
        world, version, only_x_of_y, words) -> None:
    """The module's classifier bypassed (COMMERCE_REFUSED + magento_message): the importer's own
    matching of IsSalableWithReservationsCondition's wordings decides."""
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000002", "quantity": 9000}])
    with commerce_as(world, magento_version=version, only_x_of_y=only_x_of_y, classify_refusals=False):
        assert deliver(world.handler("order_import"), [polled_record(world.prefix, order.to_json())]) == []
    status, error = state_of(world, order.purchase_order_id)
    assert status == "cancelled_out_of_stock" and error is not None and words in error, error
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Cancelled": 9000}}
    assert [s.cancellation_reason for s in order.lines[0].statuses] == ["SELLER_CANCEL_OUT_OF_STOCK"]
    assert commerce_orders(world, order.purchase_order_id) == []


def test_a_disabled_product_is_the_modules_product_disabled_and_cancels_the_po(world) -> None:
    with world.env.admin_connection() as conn, conn.cursor() as cur:  # what Product\Action::updateAttributes writes
        cur.execute("UPDATE catalog_product_entity_int i JOIN eav_attribute a ON a.attribute_id = i.attribute_id "
                    "AND a.attribute_code = 'status' JOIN catalog_product_entity p ON p.entity_id = i.entity_id "
                    "SET i.value = 2 WHERE p.sku = 'WS-000014' AND i.store_id = 0")
        conn.commit()
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000013", "quantity": 1},
                                                   {"sku": "WS-000014", "quantity": 2}])
    assert deliver(world.handler("order_import"), [polled_record(world.prefix, order.to_json())]) == []
    status, error = state_of(world, order.purchase_order_id)
    assert status == "cancelled_out_of_stock" and error is not None and "PRODUCT_DISABLED" in error
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Cancelled": 1}, "2": {"Cancelled": 2}}
    assert commerce_orders(world, order.purchase_order_id) == []


@pytest.mark.parametrize(("classify_refusals", "code"), [(True, "PRODUCT_OPTIONS_REQUIRED"),
                                                         (False, "COMMERCE_REFUSED")])
def test_a_refusal_that_is_not_walmarts_to_cancel_is_dead_lettered_with_magentos_text(
        world, classify_refusals, code) -> None:
    with world.env.admin_connection() as conn, conn.cursor() as cur:  # a Walmart SKU mapped to a parent product
        cur.execute("UPDATE catalog_product_entity SET type_id = 'configurable' WHERE sku = 'WS-000015'")
        conn.commit()
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000015", "quantity": 1}])
    try:
        with commerce_as(world, classify_refusals=classify_refusals):
            (letter,) = deliver(world.handler("order_import"), [polled_record(world.prefix, order.to_json())])
    finally:
        with world.env.admin_connection() as conn, conn.cursor() as cur:
            cur.execute("UPDATE catalog_product_entity SET type_id = 'simple' WHERE sku = 'WS-000015'")
            conn.commit()
    assert letter.error_code == code
    assert "You need to choose options for your item." in letter.reason and "WS-000015" in letter.reason
    assert state_of(world, order.purchase_order_id)[0] == f"failed_{code.lower()}"
    assert world.walmart_lines(order.purchase_order_id) == {"1": {"Created": 1}}  # nothing cancelled


def test_a_po_another_call_is_placing_is_parked_until_the_module_is_through(world) -> None:
    order = world.walmart.create_order(CLIENT_ID, [{"sku": "WS-000016", "quantity": 1}])
    with world.env.admin_connection() as conn, conn.cursor() as cur:  # the claim of a call still placing it
        cur.execute("INSERT INTO walmart_sync_marketplace_order (purchase_order_id, state, claim_token) "
                    "VALUES (%s, 'placing', 'other-call')", (order.purchase_order_id,))
        conn.commit()
    with pytest.raises(NotYet) as parked:
        deliver(world.handler("order_import"), [polled_record(world.prefix, order.to_json())])
    # the claim goes stale in 600 s, but the placement itself is over much sooner: asked again then
    settle_s = 2 * world.settings.commerce_api.request_timeout_s + 5
    assert classify(parked.value) == "park" and parked.value.retry_after_s == settle_s
    assert commerce_orders(world, order.purchase_order_id) == []
