"""``walmart-sync listings add|match|status``: listing management for merchants and support staff.

A thin shell over sync_workers/push/listings: ``add`` puts products on the channel, ``match`` runs the
matcher until every draft has an outcome (showing progress on the terminal), ``status`` shows the
counts per status and each listing with its reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any, TextIO

from config import Settings
from mappings.listings import STATUSES as LISTING_STATUSES
from walmart_sync.cli.common import settings_from

name = "listings"


def add_parser(commands: argparse._SubParsersAction) -> None:
    listings = commands.add_parser("listings", help="put products on the Walmart channel and match them by UPC/GTIN")
    listings_sub = listings.add_subparsers(dest="listings_command", metavar="ACTION", required=True)
    listings_add = listings_sub.add_parser("add", help="add products: by SKU, by attribute set, or all")
    chosen = listings_add.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--sku", action="append", metavar="SKU", help="a SKU (repeatable, or comma-separated)")
    chosen.add_argument("--attribute-set", action="append", metavar="NAME_OR_ID",
                        help="every product of an attribute set (repeatable)")
    chosen.add_argument("--all", action="store_true", help="every product")
    listings_match = listings_sub.add_parser(
        "match", help="look drafts up on Walmart, submit setup-by-match feeds and record every outcome")
    listings_match.add_argument("--timeout", type=float, default=4 * 3600, metavar="SECONDS",
                                help="stop waiting for match feeds after this long (default 4 h)")
    listings_match.add_argument("--poll", type=float, metavar="SECONDS",
                                help="seconds between match feed polls (default workers.feed_poll_s)")
    listings_status = listings_sub.add_parser("status", help="counts per status and each listing with its reason")
    listings_status.add_argument("--json", action="store_true")
    listings_status.add_argument("--status", choices=list(LISTING_STATUSES))
    listings_status.add_argument("--limit", type=int, default=200)


def run(args: argparse.Namespace) -> int:
    settings = settings_from(args, default_level="warning")
    if args.listings_command == "add":
        skus = [s.strip() for raw in args.sku or [] for s in raw.split(",") if s.strip()] or None
        return add(settings, skus, args.attribute_set)
    if args.listings_command == "match":
        return match(settings, args.timeout, args.poll)
    return status(settings, args.json, args.status, args.limit)


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
    from plumbing.db import connect_commerce
    from sync_workers.push.listings.worker import build_matcher
    from sync_workers.stores.value_state import connect_state
    from sync_workers.walmart.client import WalmartClient
    from walmart_sync.components import recording_shadow

    return build_matcher(settings, recording_shadow(WalmartClient(settings.walmart), settings),
                         connect_commerce(settings), connect_state(settings))


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


def matching_progress(settings: Settings, counts: dict[str, int], last_update: Any) -> dict[str, Any]:
    """How far matching is: what is left to look up, how long that takes at the search budget the
    client is given, what waits for a feed. Every outcome is written as it comes, so this is the
    state a restarted matcher continues from."""
    from sync_workers.walmart.limits import PUBLISHED_LIMITS

    override = settings.walmart.rate_limits.get("walmart_search")  # the client's own rule (WalmartClient)
    per_min = override.per_minute if override else 60.0 / PUBLISHED_LIMITS["walmart_search"].refill_interval_s
    to_search = counts.get("draft", 0)
    return {"to_search": to_search, "searched": sum(n for s, n in counts.items() if s != "draft"),
            "candidates": counts.get("candidate", 0), "submitted": counts.get("submitted", 0),
            "open_feeds": counts.get("submitted", 0) > 0, "searches_per_min": round(per_min, 1),
            "search_eta_s": round(to_search / per_min * 60, 1) if per_min else None,
            "last_update": str(last_update) if last_update is not None else None}


def status(settings: Settings, as_json: bool, only: str | None, limit: int) -> int:
    from sync_workers.stores.listings import ListingStore
    from sync_workers.stores.value_state import connect_state

    store = ListingStore(connect_state(settings))
    counts = store.counts()
    rows = store.listing_rows(only, limit)
    progress = matching_progress(settings, counts, store.last_update())
    if as_json:
        print(json.dumps({"counts": counts, "progress": progress, "listings": [
            {"sku": r.sku, "status": r.status, "id_type": r.id_type, "product_id": r.product_code,
             "walmart_item_id": r.walmart_item_id, "wpid": r.wpid, "feed_id": r.feed_id,
             "error_code": r.error_code, "reason": r.reason, "updated_at": str(r.updated_at)} for r in rows]},
            indent=2))
        return 0
    total = sum(counts.values())
    print(f"{total} listing(s): " + ", ".join(f"{status} {n}" for status, n in counts.items()))
    if progress["to_search"] or progress["candidates"] or progress["open_feeds"]:
        print(f"matching: {progress['searched']} of {progress['searched'] + progress['to_search']} looked up "
              f"({progress['to_search']} left, about {progress['search_eta_s'] / 60:.0f} min at "
              f"{progress['searches_per_min']:g} searches/min); {progress['candidates']} found on Walmart waiting for "
              f"a match feed; {progress['submitted']} in open match feeds; last outcome written "
              f"{progress['last_update']}")
    if rows:
        print(f"{'SKU':<16}{'STATUS':<11}{'IDENTIFIER':<22}{'WALMART':<16}REASON")
        for r in rows:
            ident = f"{(r.id_type or '-').upper()} {r.product_code or ''}".strip()
            walmart = r.wpid or r.walmart_item_id or "-"
            print(f"{r.sku:<16}{r.status:<11}{ident:<22}{walmart:<16}{r.reason or ''}")
        if len(rows) == limit:
            print(f"(first {limit}; --limit N for more)")
    return 0
