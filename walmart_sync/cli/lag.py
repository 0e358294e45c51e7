"""``walmart-sync lag``: every stage's lag, with an exit status monitors can use."""

from __future__ import annotations

import argparse

from walmart_sync.cli.common import settings_from

name = "lag"


def add_parser(commands: argparse._SubParsersAction) -> None:
    lag = commands.add_parser(
        "lag", help="how far behind every stage is (binlog, consumer groups, Walmart, polls, dead letters); "
                    "exits 1 when a stage is over its threshold")
    lag.add_argument("--json", action="store_true")
    lag.add_argument("--window", type=float, default=300.0, metavar="SECONDS",
                     help="history (kept by the running sidecar) the trend is judged on (default 300)")
    lag.add_argument("--samples", type=int, default=2, help="readings taken now (default 2)")
    lag.add_argument("--gap", type=float, default=2.5, metavar="SECONDS", help="seconds between them (default 2.5)")
    lag.add_argument("--partitions", action="store_true", help="list every partition, not only those lagging")


def run(args: argparse.Namespace) -> int:
    from operations.lag import cli as lag_cli

    settings = settings_from(args, default_level="error")
    return lag_cli.run(settings, args.json, args.window, max(1, args.samples), args.gap, args.partitions)
