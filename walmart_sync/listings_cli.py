"""``walmart-sync listings add|match|status``: listing management for merchants and support staff.

A thin shell over sync_workers/listings: ``add`` puts products on the channel, ``match`` runs the
matcher until every draft has an outcome (showing progress on the terminal), ``status`` shows the
counts per status and each listing with its reason.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, TextIO

from config import Settings


class ProgressLine:
    """One line rewritten in place on a terminal; a line every few seconds in a log."""

    def __init__(self, out: TextIO = sys.stderr, every_s: float = 5.0):
        self.out = out
        self.tty = out.isatty()
        self.every_s = every_s
        self._last = 0.0
        self._phase = ""
        self.started = time.monotonic()

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        text = f"{phase}: {done}" + (f"/{total}" if total else "") + f"  ({now - self.started:.0f} s)"
        if self.tty:
            self.out.write("\r" + text.ljust(70))
            self.out.flush()
        elif phase != self._phase or now - self._last >= self.every_s or (total and done == total):
            print(text, file=self.out, flush=True)
            self._last = now
        self._phase = phase

    def close(self) -> None:
        if self.tty:
            self.out.write("\n")
            self.out.flush()


def _matcher(settings: Settings) -> Any:
    from sync_workers.listings.worker import build_matcher
    from sync_workers.runner import commerce_connection
    from sync_workers.state import connect_state
    from sync_workers.walmart.client import WalmartClient

    return build_matcher(settings, WalmartClient(settings.walmart), commerce_connection(settings),
                         connect_state(settings))


def add(settings: Settings, skus: list[str] | None, attribute_sets: list[str] | None) -> int:
    try:
        counts = _matcher(settings).add(skus=skus, attribute_sets=attribute_sets)
    except ValueError as exc:
        print(f"walmart-sync listings add: {exc}", file=sys.stderr)
        return 2
    print(f"added {counts['draft']} draft(s) to match; {counts['error']} with identifier errors "
          f"(see `walmart-sync listings status --status error`); {counts['unchanged']} already matched or "
          f"submitted" + (f"; {counts['unknown_sku']} SKU(s) not found in Commerce" if counts["unknown_sku"] else ""))
    return 0


def match(settings: Settings, timeout_s: float, poll_s: float | None) -> int:
    matcher = _matcher(settings)
    progress = ProgressLine()
    try:
        result = matcher.run(progress, poll_s=poll_s, timeout_s=timeout_s)
    finally:
        progress.close()
    counts = matcher.store.counts()
    print(f"matched {result.matched}, unmatched {result.unmatched}, errors {result.errors}; "
          f"{result.feeds_submitted} match feed(s) submitted, {result.feeds_completed} completed in "
          f"{time.monotonic() - progress.started:.0f} s")
    print("listings now: " + ", ".join(f"{status} {n}" for status, n in counts.items()))
    if not result.done:
        print(f"not finished within {timeout_s:.0f} s: {result.pending_feeds} feed(s) still open, "
              f"{result.drafts_left} draft(s) left; run again to continue", file=sys.stderr)
        return 1
    return 0


def status(settings: Settings, as_json: bool, only: str | None, limit: int) -> int:
    from sync_workers.listings.store import ListingStore
    from sync_workers.state import connect_state

    store = ListingStore(connect_state(settings))
    counts = store.counts()
    rows = store.listing_rows(only, limit)
    if as_json:
        print(json.dumps({"counts": counts, "listings": [
            {"sku": r.sku, "status": r.status, "id_type": r.id_type, "product_id": r.product_code,
             "walmart_item_id": r.walmart_item_id, "wpid": r.wpid, "feed_id": r.feed_id,
             "error_code": r.error_code, "reason": r.reason, "updated_at": str(r.updated_at)} for r in rows]},
            indent=2))
        return 0
    total = sum(counts.values())
    print(f"{total} listing(s): " + ", ".join(f"{status} {n}" for status, n in counts.items()))
    if rows:
        print(f"{'SKU':<16}{'STATUS':<11}{'IDENTIFIER':<22}{'WALMART':<16}REASON")
        for r in rows:
            ident = f"{(r.id_type or '-').upper()} {r.product_code or ''}".strip()
            walmart = r.wpid or r.walmart_item_id or "-"
            print(f"{r.sku:<16}{r.status:<11}{ident:<22}{walmart:<16}{r.reason or ''}")
        if len(rows) == limit:
            print(f"(first {limit}; --limit N for more)")
    return 0
