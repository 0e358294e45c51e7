"""``walmart-sync work <name>``: one worker or poller per process, scaled through its group."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from config.components import CHECKERS, POLLERS, WORKERS
from walmart_sync.cli.common import EXIT_CONFIG, EXIT_OK, operations, settings_from, stop_on_signals

name = "work"


def add_parser(commands: argparse._SubParsersAction) -> None:
    work = commands.add_parser("work", help="run one worker or poller (Commerce -> Walmart, Walmart -> Commerce)")
    work.add_argument("worker", choices=(*WORKERS, *POLLERS, *CHECKERS), help="which worker")


def run(args: argparse.Namespace) -> int:
    from walmart_sync.components import build_checker, build_poller, build_worker
    from walmart_sync.supervisor import worker_ready

    settings = settings_from(args)
    ready: Callable[[], tuple[bool, str]]
    if args.worker in CHECKERS:
        checker = build_checker(args.worker, settings)
        loop_run, loop_stop, ready = checker.run, checker.stop, checker.ready
    elif args.worker in POLLERS:
        poller = build_poller(args.worker, settings)
        loop_run, loop_stop, ready = poller.run, poller.stop, poller.ready
    else:
        loop = build_worker(args.worker, settings)
        loop_run, loop_stop = loop.run, loop.stop
        ready = lambda: worker_ready(loop)  # noqa: E731
    stop_on_signals(loop_stop)
    with operations(settings, "work") as ops:
        if ops is None:
            return EXIT_CONFIG
        ops.add_readiness_check("worker", ready)
        loop_run()
    return EXIT_OK
