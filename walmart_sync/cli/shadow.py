"""``walmart-sync shadow report``: what shadow mode held back, and how Walmart differs today
(operations/shadow_report.py). Reads the state store only: no Walmart budget is spent."""

from __future__ import annotations

import argparse

from walmart_sync.cli.common import EXIT_OK, settings_from

name = "shadow"


def add_parser(commands: argparse._SubParsersAction) -> None:
    shadow = commands.add_parser("shadow", help="shadow mode (walmart.mode = shadow): what would have been sent")
    actions = shadow.add_subparsers(dest="shadow_command", metavar="ACTION", required=True)
    report = actions.add_parser("report", help="per SKU and per order: what would have been sent, what Walmart "
                                               "shows instead, and the latency it would have had")
    report.add_argument("--json", action="store_true", help="the whole report as JSON, for tools")
    report.add_argument("--limit", type=int, default=1000, help="at most this many SKUs and orders (default 1000)")


def run(args: argparse.Namespace) -> int:
    from operations.shadow_report import build_report, render_table
    from plumbing.db import connect_state_store

    settings = settings_from(args, default_level="warning")
    state = connect_state_store(settings)
    try:
        report = build_report(settings, state, max(1, args.limit))
    finally:
        state.close()
    print(report.model_dump_json(indent=2) if args.json else render_table(report))
    return EXIT_OK
