"""``walmart-sync resync [inventory] [price]``: compare every pushed SKU with Walmart again."""

from __future__ import annotations

import argparse
import sys

from config.components import RESYNC_STREAMS
from walmart_sync.cli.common import EXIT_CONFIG, EXIT_OK, settings_from

name = "resync"


def add_parser(commands: argparse._SubParsersAction) -> None:
    resync = commands.add_parser(
        "resync", help="compare every pushed SKU with Walmart again (after a purged binlog, a restore, a "
                       "change made behind the binlog's back); the running workers push the differences")
    # no `choices` with nargs="*": argparse then refuses the empty default ("invalid choice: []"),
    # and a bare `walmart-sync resync` is the runbook's recovery command
    resync.add_argument("streams", nargs="*", metavar="STREAM", default=[],
                        help=f"which of {', '.join(RESYNC_STREAMS)} (default: all)")


def run(args: argparse.Namespace) -> int:
    from sync_workers.push.resync import schedule_resync

    unknown = sorted(set(args.streams) - set(RESYNC_STREAMS))
    if unknown:
        print(f"walmart-sync resync: unknown stream(s) {', '.join(unknown)}; choose from {', '.join(RESYNC_STREAMS)}",
              file=sys.stderr)
        return EXIT_CONFIG
    settings = settings_from(args, default_level="warning")
    counts = schedule_resync(settings, args.streams or list(RESYNC_STREAMS))
    for stream, count in counts.items():
        print(f"{stream}: {count} SKU(s) due for a comparison with Walmart; the {stream} worker pushes what differs")
    return EXIT_OK
