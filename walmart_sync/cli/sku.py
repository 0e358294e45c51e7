"""``walmart-sync sku <SKU>``: why one SKU shows what it shows on Walmart (operations/sku_lookup.py)."""

from __future__ import annotations

import argparse

from walmart_sync.cli.common import EXIT_FAILED, EXIT_OK, settings_from

name = "sku"


def add_parser(commands: argparse._SubParsersAction) -> None:
    sku = commands.add_parser(
        "sku", help="one SKU in one look: what Commerce says and why, what was sent, what Walmart shows, what to do")
    sku.add_argument("sku", metavar="SKU")
    sku.add_argument("--json", action="store_true", help="the whole lookup as JSON, for tools")
    sku.add_argument("--no-walmart", action="store_true",
                     help="do not ask Walmart (spends none of its budget; shows only Commerce and the sidecar's side)")


def run(args: argparse.Namespace) -> int:
    from operations.sku_lookup import look_up_sku, render
    from plumbing.db import connect_commerce
    from sync_workers.stores.value_state import connect_state
    from sync_workers.walmart.client import WalmartClient

    settings = settings_from(args, default_level="warning")
    commerce, state = connect_commerce(settings), connect_state(settings)
    try:
        found = look_up_sku(settings, args.sku, commerce, state,
                            None if args.no_walmart else WalmartClient(settings.walmart))
    finally:
        commerce.close()
        state.close()
    print(found.model_dump_json(indent=2) if args.json else render(found))
    return EXIT_OK if found.in_commerce else EXIT_FAILED
