"""``walmart-sync run [--only ...]``: every component in one process under the supervisor."""

from __future__ import annotations

import argparse
import sys

from config.components import CHECKERS, POLLERS, WORKERS
from walmart_sync.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, operations, settings_from, stop_on_signals

name = "run"
KNOWN = ("listener", *WORKERS, *POLLERS, *CHECKERS)


def add_parser(commands: argparse._SubParsersAction) -> None:
    run_cmd = commands.add_parser("run", help="run the listener and every worker in one process")
    run_cmd.add_argument("--only", default="", metavar="NAMES",
                         help=f"comma-separated subset of: {', '.join(KNOWN)}")
    run_cmd.add_argument("--from", dest="start", default="checkpoint",
                         help="where the listener starts (as for `listen --from`)")


def run(args: argparse.Namespace) -> int:
    from cdc_listener.position import parse_start
    from walmart_sync.components import build_components
    from walmart_sync.supervisor import Supervisor

    settings = settings_from(args)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(KNOWN)
    unknown = sorted(set(chosen) - set(KNOWN))
    if unknown:
        print(f"walmart-sync run: unknown component(s) {', '.join(unknown)}; choose from {', '.join(KNOWN)}",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        start = parse_start(args.start)
    except ValueError as exc:
        print(f"walmart-sync: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    components = build_components(settings, chosen, start)
    supervisor = Supervisor(components)
    stop_on_signals(supervisor.stop)
    with operations(settings, "run") as ops:
        if ops is None:
            return EXIT_CONFIG
        for component in components:
            ops.add_readiness_check(component.name, component.ready)
        supervisor.start()
        clean = supervisor.wait()
    if not clean:
        print(f"walmart-sync run: failed: {', '.join(supervisor.failed)}", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK
