"""The dev stack's commands, ``walmart-sync demo`` and ``walmart-sync emulator walmart|commerce``.

They reach the ``walmart-sync`` command through the ``walmart_sync.commands`` entry points of the
``walmart-sync-devstack`` distribution: the sidecar never imports the dev stack, and a plain
install that lacks it says which package to install instead of failing on an import.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from plumbing.logs import configure_logging, redact, register_secrets
from walmart_sync.cli.common import EXIT_CONFIG, EXIT_OK


class DemoCommand:
    name = "demo"

    def add_parser(self, commands: argparse._SubParsersAction) -> None:
        demo = commands.add_parser(
            "demo", help="run walmart-sync on the embedded local stack (MariaDB + Kafka broker)")
        demo.add_argument("--products", type=int, default=1000, help="products to seed (default 1000)")
        demo.add_argument("--edition", choices=["open_source", "adobe_commerce"], default="open_source")
        demo.add_argument("--keep-running", action="store_true",
                          help="keep the stack up after the checks until Ctrl-C")
        demo.add_argument("--kafka", choices=["tansu", "apache"], default="tansu",
                          help="the broker: tansu (embedded, the default) or apache (Apache Kafka 4 in KRaft mode, "
                               "from jars Maven fetches; needs Java 17)")

    def run(self, args: argparse.Namespace) -> int:
        from devstack.demo import run_demo

        configure_logging(args.log_level or "error", args.log_format or "auto")  # the demo narrates
        return run_demo(products=args.products, edition=args.edition, keep_running=args.keep_running,
                        kafka=args.kafka)


class EmulatorCommand:
    name = "emulator"

    def add_parser(self, commands: argparse._SubParsersAction) -> None:
        emulator = commands.add_parser("emulator", help="run a local emulator (for the demo and trials)")
        emulator_sub = emulator.add_subparsers(dest="emulator_name", metavar="NAME", required=True)
        walmart = emulator_sub.add_parser("walmart", help="the Walmart Marketplace seller API emulator")
        walmart.add_argument("--host", default="127.0.0.1")
        walmart.add_argument("--port", type=int, default=18080)
        walmart.add_argument("--client", action="append", default=[], metavar="ID:SECRET",
                             help="seller credentials it accepts (repeatable; default local-client:local-secret)")
        walmart.add_argument("--items", metavar="SKU,SKU,...", default="",
                             help="SKUs the seller has listed (more via POST /_emulator/items)")
        walmart.add_argument("--time-scale", type=float, default=1.0,
                             help="rate-limit refill speed-up (60 makes 100/hour behave like 100/minute)")
        walmart.add_argument("--feed-delays", default="1,2", metavar="INPROGRESS_S,DONE_S",
                             help="seconds after submission a feed turns INPROGRESS and is processed (before "
                                  "--time-scale; default 1,2)")
        commerce = emulator_sub.add_parser(
            "commerce", help="the Commerce REST emulator (cart flow, orders, merchant actions, RMA) over a Commerce DB")
        commerce.add_argument("--dsn", required=True, metavar="mysql://USER:PASSWORD@HOST:PORT/DB",
                              help="a Commerce database account allowed to write (not the sidecar's)")
        commerce.add_argument("--token", default=os.environ.get("COMMERCE_EMULATOR_TOKEN", ""),
                              help="the integration token it accepts (or COMMERCE_EMULATOR_TOKEN)")
        commerce.add_argument("--host", default="127.0.0.1")
        commerce.add_argument("--port", type=int, default=18081)
        commerce.add_argument("--no-rma", action="store_true", help="behave like Open Source (no RMA module)")

    def run(self, args: argparse.Namespace) -> int:
        configure_logging(args.log_level or "info", args.log_format or "auto")
        if args.emulator_name == "commerce":
            return _serve_commerce_emulator(args)
        return _serve_walmart_emulator(args)


def _serve_walmart_emulator(args: argparse.Namespace) -> int:
    from devstack.walmart_emulator.app import PRICE_AFTER_SETUP_S, WalmartEmulator
    from devstack.walmart_emulator.server import EmulatorServer

    credentials = dict(pair.split(":", 1) for pair in args.client) or {"local-client": "local-secret"}
    try:
        delays = tuple(float(part) for part in args.feed_delays.split(","))
        if len(delays) != 2 or not 0 <= delays[0] <= delays[1]:
            raise ValueError
    except ValueError:
        print("walmart-sync emulator walmart: --feed-delays is two numbers, e.g. 60,900", file=sys.stderr)
        return EXIT_CONFIG
    app = WalmartEmulator(credentials, time_scale=args.time_scale, feed_delays_s=(delays[0], delays[1]))
    skus = [s for s in args.items.split(",") if s]
    for client_id in credentials:
        app.seed_items(client_id, skus)
    server = EmulatorServer(app, args.host, args.port)
    window = f"{PRICE_AFTER_SETUP_S / args.time_scale:g}"
    return _serve_until_interrupted(server, f"Walmart emulator on {server.url} (clients: {', '.join(credentials)}; "
                                            f"inspect {server.url}/_emulator/state; new items take prices "
                                            f"{window} s after setup: set workers.price_after_setup_s = {window})")


def _serve_commerce_emulator(args: argparse.Namespace) -> int:
    from config.settings import parse_mysql_dsn
    from devstack.commerce_emulator.app import CommerceEmulator
    from devstack.walmart_emulator.server import EmulatorServer
    from plumbing.db import connect

    if not args.token:
        print("walmart-sync emulator commerce: give --token (or COMMERCE_EMULATOR_TOKEN)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        dsn = parse_mysql_dsn(args.dsn)
    except ValueError as exc:
        print(f"walmart-sync emulator commerce: {redact(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    register_secrets([dsn.password.get_secret_value(), args.token])
    app = CommerceEmulator(lambda: connect(dsn, autocommit=False), args.token, rma_enabled=not args.no_rma)
    server = EmulatorServer(app, args.host, args.port)
    return _serve_until_interrupted(server, f"Commerce REST emulator on {server.url}/rest/<store_code>/V1 "
                                            f"(database {dsn.database})")


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


def _serve_until_interrupted(server: Any, banner: str) -> int:
    """Serve until SIGINT (Ctrl-C) or SIGTERM (a container stop). Both are unblocked and handled
    here: a process inherits a blocked signal mask and ignored signals from whoever started it. A
    suite run as a background job of a non-interactive shell (SIGINT and SIGQUIT ignored, nohup
    adds SIGHUP) left the emulator deaf to SIGINT, and its test waited out its 10 s."""
    import signal

    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:  # the banner inside: a parent that reads it and interrupts at once interrupts in here (CI saw 130)
        print(f"{banner}; Ctrl-C to stop", flush=True)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return EXIT_OK


demo_command = DemoCommand()
emulator_command = EmulatorCommand()
