"""``walmart-sync order <PO or increment id>``: one Walmart order on both sides (operations/order_lookup.py)."""

from __future__ import annotations

import argparse

from walmart_sync.cli.common import EXIT_FAILED, EXIT_OK, settings_from

name = "order"


def add_parser(commands: argparse._SubParsersAction) -> None:
    order = commands.add_parser(
        "order", help="one Walmart order in one look: imported or why not, Commerce's order, Walmart's line "
                      "statuses and deadlines, what to do")
    order.add_argument("order", metavar="PO_OR_INCREMENT_ID",
                       help="a Walmart purchaseOrderId or the Commerce order's increment id")
    order.add_argument("--json", action="store_true", help="the whole lookup as JSON, for tools")
    order.add_argument("--no-walmart", action="store_true", help="do not ask Walmart (spends none of its budget)")


def run(args: argparse.Namespace) -> int:
    from operations.order_lookup import look_up_order, render
    from plumbing.db import connect_commerce, connect_state_store
    from sync_workers.walmart.client import WalmartClient

    settings = settings_from(args, default_level="warning")
    commerce, state = connect_commerce(settings), connect_state_store(settings)
    try:
        found = look_up_order(args.order, commerce, state, None if args.no_walmart else WalmartClient(settings.walmart))
    finally:
        commerce.close()
        state.close()
    print(found.model_dump_json(indent=2) if args.json else render(found))
    return EXIT_OK if found.purchase_order_id is not None else EXIT_FAILED
