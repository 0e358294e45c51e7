"""The support status page in headless Chromium, clicked as a person clicks it, on the real stack:
Commerce (MariaDB), the listener, Kafka, the inventory worker, the Walmart emulator, the reconciler.

What is on the page comes from real parts: a dead letter the inventory worker wrote for an event
without a SKU, an item the emulator unpublished with Walmart's reason (read back by the
reconciler), and a PO refused for an unknown SKU whose ship-by date is inside the margin (recorded
through the order map as the importer records it). The search box is typed into and its button
clicked; a dead letter's Replay button is clicked, then the confirmation's, and the record is
back on its source topic. With WALMART_SYNC_SCREENSHOTS=<dir> the pages are saved there
(docs/images/ holds the ones the docs show).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from devstack.mariadb import free_port
from operations.ops_server import OpsServer
from operations.status_page import StatusSource
from plumbing.kafka import topic_name
from sync_workers.runtime import dlq
from sync_workers.stores.order_map import OrderMap
from sync_workers.stores.value_state import connect_state
from tests.support.browser import Browser, chromium_path
from tests.support.cdc_helpers import cli_process, wait_for, worker_pipeline
from tests.support.records import change_event

LISTED = [f"WS-{n:06d}" for n in range(1, 7)]
UNPUBLISHED, REASON = "WS-000002", "Reasonable Price Not Satisfied"
PO = "4792011830001"
TOKEN = "support-" + uuid.uuid4().hex[:8]
HOUR_MS = 3_600_000

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="Debian's chromium is not installed (make test installs it when run as root)")


@pytest.fixture(scope="module")
def page(stack, tmp_path_factory):
    from walmart_sync.components import build_checker

    workdir = tmp_path_factory.mktemp("page")
    with worker_pipeline(stack, workdir, "open_source", "inventory", 6, LISTED,
                         ops={"ship_by_margin_s": 6 * 3600}) as (env, settings, _emulator, app, _loop):
        # a stock event naming no SKU: the worker dead-letters it with its reason
        producer = KafkaProducer(bootstrap_servers=env.endpoints.bootstrap_servers)
        producer.send(topic_name(settings.kafka, "stock"), key=b"product:999999",
                      value=change_event("stock", "stock_changed", "product:999999", sku=None))
        producer.flush()
        producer.close()
        wait_for(lambda: dlq.read_letters(settings, "inventory"), 60, "the inventory worker's dead letter")
        # Walmart takes an item down; the reconciler reads it back
        app.unpublish("local-client", UNPUBLISHED, [REASON])
        build_checker("reconciler", settings).reconcile_slice()
        # a PO the importer refused (unknown SKU), 2 h before its estimated ship date
        orders = OrderMap(connect_state(settings))
        now_ms = int(time.time() * 1000)
        orders.set_state(PO, "failed_unknown_sku", error="line 1: SKU NOT-IN-COMMERCE is not in Commerce",
                         order_date=now_ms - 20 * HOUR_MS)
        orders.set_walmart_progress(PO, now_ms + 2 * HOUR_MS, 1)
        port = free_port()
        with OpsServer("127.0.0.1", port, status=StatusSource(settings), status_token=TOKEN), \
                Browser(workdir / "profile") as browser:
            yield env, settings, browser, f"http://127.0.0.1:{port}"


def shots() -> Path | None:
    target = os.environ.get("WALMART_SYNC_SCREENSHOTS")
    return Path(target) if target else None


def test_the_support_view_says_per_flow_what_needs_a_person(page) -> None:
    env, settings, browser, base = page
    browser.goto(f"{base}/status?token={TOKEN}")
    flows = browser.evaluate("Object.fromEntries([...document.querySelectorAll('#flows tr[data-flow]')].map("
                             "r => [r.dataset.flow, r.querySelector('.state').innerText]))")
    assert set(flows) == {"inventory", "price", "orders_in", "orders_out", "returns"}
    assert flows["inventory"] == "needs a person"  # a dead letter and an unpublished item
    assert flows["orders_in"] == "needs a person"  # the refused PO near its ship-by date
    inventory = browser.text("#flows tr[data-flow=inventory] .sentence")
    assert "1 dead letter(s)" in inventory and "1 item(s) unpublished by Walmart" in inventory
    risk = browser.text(f"#at-risk tr[data-risk='{PO}/ship_by']")
    assert "not in Commerce" in risk and "SKU NOT-IN-COMMERCE is not in Commerce" in risk and "left" in risk
    assert "+" in risk or "-" in browser.text(f"#at-risk tr[data-risk='{PO}/ship_by'] td:nth-child(5)")
    drift = browser.text(f"#drift tr[data-drift='unpublished/{UNPUBLISHED}']")
    assert REASON in drift and "needs a person" in drift
    assert "UNKNOWN_SKU" not in browser.text("#letters") and "without a SKU" in browser.text("#letters")
    if shots():
        browser.screenshot(shots() / "status-page.png")

    # the same order at risk in `walmart-sync lag`
    proc = cli_process(env.config_path, "lag", "--json", "--samples", "1",
                       overrides=("ops.ship_by_margin_s=21600",))
    out, err = proc.communicate(timeout=120)
    report = json.loads(out or "{}")
    ship_by = next(s for s in report["stages"] if s["stage"] == "deadline:ship_by")
    assert ship_by["counts"] == {"at_risk": 1, "late": 0} and PO in ship_by["detail"], (ship_by, err)
    drift_row = next(s for s in report["stages"] if s["stage"] == "drift")
    assert drift_row["counts"]["unpublished"] == 1

    # the engineer's detail is one click down, and back
    browser.click("#detail-link")
    assert browser.evaluate("document.querySelectorAll('#stages tr[data-stage]').length") > 3
    browser.click("#support-view")
    assert browser.text("#flows")


def test_the_search_box_shows_the_sku_and_the_order_lookup(page) -> None:
    _env, _settings, browser, base = page
    browser.goto(f"{base}/status?token={TOKEN}")
    browser.type_into("#q", UNPUBLISHED)
    browser.click("#search-button")
    assert browser.evaluate("document.querySelector('#lookup').dataset.kind") == "sku"
    assert browser.text("#lookup-title") == f"SKU {UNPUBLISHED}"
    lookup = browser.text("#lookup")
    assert "Walmart shows the item UNPUBLISHED: " + REASON in lookup and "quantity       Commerce" in lookup
    if shots():
        browser.screenshot(shots() / "status-lookup.png")
    browser.type_into("#q", "")  # the box on the lookup page searches again
    browser.evaluate("document.querySelector('#q').value = ''")
    browser.type_into("#q", PO)
    browser.click("#search-button")
    assert browser.evaluate("document.querySelector('#lookup').dataset.kind") == "order"
    assert browser.text("#lookup-title") == f"Walmart order {PO}"
    assert "failed_unknown_sku: line 1: SKU NOT-IN-COMMERCE is not in Commerce" in browser.text("#lookup")


def test_a_dead_letter_is_replayed_after_a_confirmation(page) -> None:
    _env, settings, browser, base = page
    [letter] = dlq.read_letters(settings, "inventory")
    source = topic_name(settings.kafka, "stock")
    before = _replayed_records(settings, source)
    browser.goto(f"{base}/status?token={TOKEN}")
    browser.click(f"#letters tr[data-letter='inventory/{letter.partition}/{letter.offset}'] button.replay")
    assert browser.text("h1").startswith("Replay this dead letter of inventory?")
    assert "dlq.reason" in browser.text("#letter")
    assert _replayed_records(settings, source) == before  # nothing sent before the confirmation
    if shots():
        browser.screenshot(shots() / "status-replay-confirm.png")
    browser.click("#confirm-button")
    assert browser.text("h1") == "Replayed", browser.text("body")
    wait_for(lambda: _replayed_records(settings, source) == before + 1, 30, "the letter back on its topic")
    # a second replay of the same letter is refused (walmart-sync dlq replay --force repeats it)
    browser.goto(f"{base}/status?token={TOKEN}")
    browser.click(f"#letters tr[data-letter='inventory/{letter.partition}/{letter.offset}'] button.replay")
    browser.click("#confirm-button")
    assert browser.text("h1") == "Not replayed" and "already replayed" in browser.text("#message")


def test_the_replay_needs_the_token(page) -> None:
    import requests

    _env, settings, _browser, base = page
    [letter, *_] = dlq.read_letters(settings, "inventory")
    answer = requests.post(f"{base}/status/replay", timeout=10, data={
        "worker": "inventory", "partition": letter.partition, "offset": letter.offset, "confirm": "yes",
        "token": "wrong"})
    assert answer.status_code == 401


def _replayed_records(settings, topic: str) -> int:
    """Records on ``topic`` that a replay put there (they carry dlq.replayed_from)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka.bootstrap_servers, enable_auto_commit=False,
                             consumer_timeout_ms=2000)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or ())]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        return sum(1 for record in consumer if any(k == "dlq.replayed_from" for k, _v in record.headers))
    finally:
        consumer.close()
