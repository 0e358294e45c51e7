"""Listing matching that persists and resumes, against the local MariaDB and the Walmart emulator's
catalogue and match feeds: every chunk of catalogue searches is written before the next one, so a
matcher that dies mid-round (Walmart failing; a crash or a deploy costs at most a chunk) is
continued by the next one from what is left, without searching again what was done; `listings status` shows how far it got; the
listings worker matches on a thread of its own, so its consumer keeps handling records while a
round waits for Walmart."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from devstack.walmart_catalogue import catalogue_entries
from devstack.walmart_emulator.app import WalmartApiError
from plumbing.db import connect_commerce
from plumbing.metrics import METRICS
from sync_workers.push.listings.matcher import SEARCH_CHUNK
from sync_workers.push.listings.worker import build_matcher
from sync_workers.stores.listings import ListingStore
from sync_workers.stores.value_state import connect_state
from sync_workers.walmart.errors import WalmartServerError
from tests.support.cdc_helpers import wait_for
from tests.support.handlers import fast_client, handler_world
from tests.support.records import deliver
from walmart_sync.cli.listings import status as listings_status

PRODUCTS = 60
FAIL_AFTER = SEARCH_CHUNK + 5  # Walmart fails between two writes of answers


@pytest.fixture(scope="module")
def world(stack, tmp_path_factory):
    with handler_world(stack, tmp_path_factory.mktemp("resume"), products=PRODUCTS, listed=[],
                       push_skus="matched", listings={"auto_add": "all", "match_interval_s": 0.05}) as running:
        running.walmart.seed_catalog(catalogue_entries(PRODUCTS))  # every 7th seeded product is not in it
        yield running


class SearchLog:
    """Walmart's catalogue search as the emulator answers it, noting each UPC it answered; from
    ``fail_after`` answers on it fails with 503 (Walmart down)."""

    def __init__(self, world: Any, fail_after: float = float("inf")):
        self.answered: list[str] = []
        self.fail_after = fail_after
        self._lock = threading.Lock()  # the emulator answers on several threads
        self._original = world.walmart.walmart_search

    def __call__(self, request: Any, state: Any) -> Any:
        with self._lock:
            if len(self.answered) >= self.fail_after:
                raise WalmartApiError(503, "SYSTEM_ERROR.GMP_GATEWAY_API", "service unavailable",
                                      category="SYSTEM")
            response = self._original(request, state)
            self.answered.append(request.args.get("upc") or request.args.get("gtin") or "")
            return response


def new_matcher(settings: Any) -> Any:
    """A matcher as a freshly started process builds it: its own client and connections."""
    return build_matcher(settings, fast_client(settings), connect_commerce(settings), connect_state(settings))


def searches(outcome: str) -> float:
    return METRICS.listing_searches.labels(outcome)._value.get()


def test_a_matcher_that_died_mid_round_is_continued_without_searching_again(world, capsys) -> None:
    store = ListingStore(world.state_conn)
    log = SearchLog(world, fail_after=FAIL_AFTER)
    world.walmart.walmart_search = log
    try:
        first = new_matcher(world.settings)
        assert first.add()["draft"] == PRODUCTS
        candidates_before = searches("candidate")
        with pytest.raises(WalmartServerError):
            first.step()  # Walmart fails after FAIL_AFTER answers: the round dies there
        assert len(log.answered) == FAIL_AFTER
        rows = {row.sku: row for row in store.listing_rows(limit=10_000)}
        done = {sku: row for sku, row in rows.items() if row.status != "draft"}
        # every answer was written, before the round died
        assert len(done) == FAIL_AFTER
        assert {row.product_code for row in done.values()} == set(log.answered)
        assert {row.status for row in done.values()} <= {"candidate", "unmatched"}
        assert all(row.walmart_item_id for row in done.values() if row.status == "candidate")
        assert searches("candidate") - candidates_before == sum(r.status == "candidate" for r in done.values())
        assert world.calls("feed_submit")["feed_submit"] == 0  # drafts left, far from a full feed: none yet

        # how far it got, as support staff see it
        capsys.readouterr()
        assert listings_status(world.settings, True, None, 5) == 0
        progress = json.loads(capsys.readouterr().out)["progress"]
        assert (progress["searched"], progress["to_search"]) == (FAIL_AFTER, PRODUCTS - FAIL_AFTER)
        assert progress["searches_per_min"] > 0 and progress["search_eta_s"] > 0

        # a restart: a new matcher continues with what is left
        log.fail_after = float("inf")
        answered_first = list(log.answered)
        second = new_matcher(world.settings)
        result = second.run(poll_s=0.05, timeout_s=60)
        assert result.done
        again = log.answered[len(answered_first):]
        written_first = {row.product_code for row in done.values()}
        assert not written_first & set(again), "a product whose outcome was written was searched again"
        assert sorted(again) == sorted({row.product_code for sku, row in rows.items() if sku not in done})
        final = store.counts()
        unmatched = len([n for n in range(1, PRODUCTS + 1) if n % 7 == 0])
        assert final == {"draft": 0, "candidate": 0, "submitted": 0, "matched": PRODUCTS - unmatched,
                         "unmatched": unmatched, "error": 0}
        assert world.calls("feed_submit")["feed_submit"] == 1  # every candidate in one feed, at the end
    finally:
        world.walmart.walmart_search = log._original


def test_the_worker_matches_beside_its_consumer_loop(world) -> None:
    """A round waits for Walmart (here its first call, the seller's catalogue, held back) while the
    worker's tick() returns and a batch of records is handled."""
    worker = world.handler("listings")
    store = ListingStore(world.state_conn)
    gate, waiting = threading.Event(), threading.Event()
    original = world.walmart.catalog_search

    def held(request: Any, state: Any) -> Any:
        waiting.set()
        gate.wait(30)
        return original(request, state)

    world.walmart.catalog_search = held
    try:
        # WS-000003 listed by this seller since the first test: a draft again, matched from the
        # seller's catalogue; WS-000004 refused before, added again by its creation event
        store.set_many({"WS-000003": ("draft", None, None, None, None, None),
                        "WS-000004": ("error", "set by the test", None, None, None, None)})
        worker.tick()  # starts the round
        assert waiting.wait(30), "the round never called Walmart"
        worker.tick()  # returns while the round waits
        records = world.changes.changes([("catalog_product_entity", "insert", None,
                                          world.changes.row("catalog_product_entity", sku="WS-000004"))])
        assert deliver(worker, records) == []
        assert store.get(["WS-000004"])["WS-000004"].status == "draft"  # handled while the round waits
        gate.set()
        wait_for(lambda: worker.tick() or not store.with_status("draft", "candidate", "submitted"), 30,
                 "the rounds to match both")
        worker.wait_round()
        assert {sku: row.status for sku, row in store.get(["WS-000003", "WS-000004"]).items()} == \
            {"WS-000003": "matched", "WS-000004": "matched"}
    finally:
        gate.set()
        world.walmart.catalog_search = original
