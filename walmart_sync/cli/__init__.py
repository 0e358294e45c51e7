"""The ``walmart-sync`` command.

Global options load the one settings model; each subcommand is a module of its own
(``walmart_sync/cli/<command>.py``) that adds its parser and runs as a thin shell over the code
that does the work, so tests drive the same code without a subprocess. Commands of the dev stack
(``demo``, ``emulator``) come from the ``walmart_sync.commands`` entry points of the
``walmart-sync-devstack`` distribution; without it they say how to install it.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from importlib.metadata import entry_points

from config import ConfigError
from plumbing.logs import redact
from walmart_sync.cli import (
    config_check,
    dlq,
    healthcheck,
    lag,
    listen,
    listings,
    order,
    resync,
    run,
    shadow,
    sku,
    work,
)
from walmart_sync.cli.common import EXIT_CONFIG, EXIT_FAILED, Command

BUILT_IN: tuple[Command, ...] = (config_check, listen, work, run, dlq, lag, resync, listings, sku, order,
                                 shadow, healthcheck)
ENTRY_POINT_GROUP = "walmart_sync.commands"
DEV_INSTALL = "pip install -e ./devstack (from a clone of the walmart-sync repository), or make demo"
# commands the dev stack provides, shown (and explained) even where it is not installed
DEV_COMMANDS = {"demo": "run walmart-sync on the embedded local stack (MariaDB + Kafka broker)",
                "emulator": "run a local Walmart or Commerce emulator (for the demo and trials)"}


def plugin_commands() -> dict[str, Command]:
    found: dict[str, Command] = {}
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found[entry.name] = entry.load()
        except ImportError:  # a half-installed dev stack: reported when the command is used
            continue
    return found


class _Missing:
    """A dev-stack command in an install without the dev stack: one line saying what to install."""

    def __init__(self, name: str, help_text: str):
        self.name = name
        self.help_text = help_text

    def add_parser(self, commands: argparse._SubParsersAction) -> None:
        parser = commands.add_parser(self.name, help=f"{self.help_text} (needs the walmart-sync-devstack package)",
                                     add_help=False)
        parser.add_argument("rest", nargs=argparse.REMAINDER)

    def run(self, args: argparse.Namespace) -> int:
        print(f"walmart-sync {self.name}: part of the dev stack, which this installation lacks; "
              f"install it with: {DEV_INSTALL}", file=sys.stderr)
        return EXIT_CONFIG


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Command]]:
    parser = argparse.ArgumentParser(
        prog="walmart-sync",
        description="Keep a Walmart Marketplace seller account in sync with an Adobe Commerce / "
        "Magento database, in seconds, from its binlog.",
    )
    parser.add_argument("--config", metavar="FILE",
                        help="TOML settings file (default: $WALMART_SYNC_CONFIG)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override one setting, e.g. --set kafka.partitions=12 (repeatable)")
    parser.add_argument("--log-level", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--log-format", choices=["auto", "json", "console"])
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    table: dict[str, Command] = {command.name: command for command in BUILT_IN}
    plugins = plugin_commands()
    for name, help_text in DEV_COMMANDS.items():
        table[name] = plugins.pop(name) if name in plugins else _Missing(name, help_text)
    table.update(plugins)
    for command in table.values():
        command.add_parser(subparsers)
    return parser, table


def main(argv: Sequence[str] | None = None) -> int:
    parser, table = build_parser()
    args = parser.parse_args(argv)
    try:
        return table[args.command].run(args)
    except ConfigError as exc:
        print(f"walmart-sync: {redact(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    except Exception:
        print(f"walmart-sync {args.command}: failed\n{redact(traceback.format_exc())}", file=sys.stderr)
        return EXIT_FAILED
