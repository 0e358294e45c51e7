"""``walmart-sync resync [inventory] [price]``: compare every pushed SKU with Walmart again."""

from __future__ import annotations

import argparse

from walmart_sync.cli.common import EXIT_OK, settings_from

name = "resync"


def add_parser(commands: argparse._SubParsersAction) -> None:
    resync = commands.add_parser(
        "resync", help="compare every pushed SKU with Walmart again (after a purged binlog, a restore, a "
                       "change made behind the binlog's back); the running workers push the differences")
    resync.add_argument("streams", nargs="*", choices=["inventory", "price"], default=[],
                        help="which (default both)")


def run(args: argparse.Namespace) -> int:
    from sync_workers.push.resync import schedule_resync

    settings = settings_from(args, default_level="warning")
    counts = schedule_resync(settings, args.streams or ["inventory", "price"])
    for stream, count in counts.items():
        print(f"{stream}: {count} SKU(s) due for a comparison with Walmart; the {stream} worker pushes what differs")
    return EXIT_OK
