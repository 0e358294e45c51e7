"""Configurable products on Walmart, against the local MariaDB and the Walmart emulator's catalogue:
the children are put on the channel and matched by setup-by-match as offers of their own, joining
the variant group Walmart's catalogue item has (getAllItems' ``variantGroupId`` /
``variantGroupInfo``); the parent is never added, never matched, never pushed. Setup by match
(MP_ITEM_MATCH 4.1/4.2) takes no variant content, and the emulator refuses an item carrying it.
Bundles, which Walmart sells as kits with identifiers of their own, are matched like any product."""

from __future__ import annotations

import pytest

from devstack.seed import CONFIGURABLE_SKU, VARIANT_GROUP_ID, configurable_children, seed_composites
from devstack.walmart_catalogue import catalogue_entries, composite_catalogue_entries
from devstack.walmart_emulator.feeds import Feed, process
from plumbing.db import connect_commerce
from sync_workers.push.listings.worker import build_matcher
from sync_workers.push.pushable import only_pushable, pushable_skus
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import connect_state
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import CLIENT_ID, fast_client, handler_world

PRODUCTS = 8


@pytest.fixture(scope="module", params=["open_source", "adobe_commerce"])
def world(request, stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("conf"), request.param, products=PRODUCTS, listed=[],
                       push_skus="matched") as running:
        with running.env.admin_connection(autocommit=False) as conn:
            seed_composites(conn, request.param)
        running.walmart.seed_catalog(catalogue_entries(PRODUCTS, missing_every=0) + composite_catalogue_entries())
        yield running


def test_children_are_matched_into_the_variant_group_and_the_parent_is_not(world) -> None:
    settings = world.settings
    matcher = build_matcher(settings, fast_client(settings), connect_commerce(settings), connect_state(settings))
    counts = matcher.add()
    assert counts["configurable_parents"] == 1
    wait_for(lambda: matcher.step().done, 60, "matching to finish")
    store = ListingStore(world.state_conn)
    children = configurable_children()
    listings = store.get([CONFIGURABLE_SKU, *children, "WS-BUNDLE-1", "WS-BUNDLE-2"])
    assert CONFIGURABLE_SKU not in listings
    assert {sku: listings[sku].status for sku in listings} == {sku: "matched" for sku in
                                                                [*children, "WS-BUNDLE-1", "WS-BUNDLE-2"]}
    items = world.walmart.seller(CLIENT_ID).items
    assert CONFIGURABLE_SKU not in items
    assert {items[sku].get("variantGroupId") for sku in children} == {VARIANT_GROUP_ID}
    assert [items[sku]["variantGroupInfo"]["isPrimary"] for sku in children] == [True, False, False]
    assert items["WS-BUNDLE-1"].get("variantGroupId") is None
    # asking for the parent by SKU puts its children on the channel, not the parent
    again = matcher.add(skus=[CONFIGURABLE_SKU])
    assert again["configurable_parents"] == 1 and again["unchanged"] == len(children)
    assert CONFIGURABLE_SKU not in store.get([CONFIGURABLE_SKU])


def test_the_parent_is_never_pushable_whatever_the_rule(world) -> None:
    commerce = connect_commerce(world.settings)
    store = ListingStore(world.state_conn)
    children = set(configurable_children())
    for rule in ("all", [CONFIGURABLE_SKU, *children]):
        settings = world.settings.model_copy(update={"workers": world.settings.workers.model_copy(
            update={"push_skus": rule})})
        assert CONFIGURABLE_SKU not in pushable_skus(settings, store, commerce)
        assert only_pushable(settings, store, {CONFIGURABLE_SKU, *children}, commerce) == children
    assert children <= pushable_skus(world.settings, store, commerce)  # matched


def test_the_emulator_refuses_variant_content_in_setup_by_match(world) -> None:
    item = {"Item": {"sku": "WS-CONF-1-S", "productIdentifiers": {"productIdType": "UPC", "productId": "x"},
                     "price": 24.99, "ShippingWeight": 1.5, "variantGroupId": "MINE", "variantAttributeNames": ["size"]}}
    feed = Feed("F1", "MP_ITEM_MATCH", 0.0, 0, {"MPItemFeedHeader": {"version": "4.1"}, "MPItem": [item]}, None)
    process(feed, {}, world.walmart.catalogue_item, lambda *a: None, lambda *a: None, lambda *a: None)
    [result] = feed.results
    assert result.status == "DATA_ERROR" and result.error_code == "ERR_PDI_0034"
    assert "variantAttributeNames, variantGroupId" in str(result.error)


def test_the_sku_lookup_names_a_parent_no_offer_and_what_a_bundle_is_made_of(world) -> None:
    from operations.sku_lookup import look_up_sku, render

    commerce = connect_commerce(world.settings)
    parent = look_up_sku(world.settings, CONFIGURABLE_SKU, commerce, world.state_conn, None)
    assert not parent.pushable
    assert parent.findings[0].startswith("not an offer on Walmart: configurable product: Walmart lists its "
                                         "children (WS-CONF-1-S, WS-CONF-1-M, WS-CONF-1-L)")
    bundle = look_up_sku(world.settings, "WS-BUNDLE-1", commerce, world.state_conn, None)
    assert bundle.composite is not None and "required: WS-000001 x1, WS-000002 x1; required: WS-000003 x2; " \
        "optional: WS-000004 x1" in bundle.composite
    assert "composite      bundle:" in render(bundle)
