"""``walmart-sync listen``: the capture flow on its own (binlog -> Kafka), active or standby."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from plumbing.logs import get_logger, redact
from walmart_sync.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, operations, settings_from, stop_on_signals

name = "listen"


def add_parser(commands: argparse._SubParsersAction) -> None:
    listen = commands.add_parser(
        "listen", help="stream the Commerce binlog to Kafka change events (active or standby)")
    listen.add_argument("--from", dest="start", metavar="WHERE", default="checkpoint",
                        help="checkpoint (default), current, FILE:POS or gtid:D-S-N")


def run(args: argparse.Namespace) -> int:
    from cdc_listener.listener import Listener
    from cdc_listener.metrics import ListenerMetrics
    from cdc_listener.position import ListenerError, parse_start
    from plumbing.metrics import REGISTRY
    from walmart_sync.supervisor import listener_ready

    settings = settings_from(args)
    if settings.cdc.source == "debezium":
        return _run_debezium(settings)
    try:
        start = parse_start(args.start)
    except ValueError as exc:
        print(f"walmart-sync: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    listener = Listener(settings, start, ListenerMetrics(REGISTRY))
    stop_on_signals(listener.stop)
    with operations(settings, "listen", sample_lag=False) as ops:
        if ops is None:
            return EXIT_CONFIG
        ops.add_readiness_check("listener", lambda: listener_ready(listener))
        try:
            listener.run()
        except ListenerError as exc:
            get_logger("cli").error("listener stopped", reason=str(exc))
            print(f"walmart-sync listen: {redact(str(exc))}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def _run_debezium(settings: Any) -> int:
    """``cdc.source = "debezium"``: translate an existing Debezium's topics instead of reading the
    binlog (cdc_debezium/stage.py); ``--from`` does not apply (its position is the consumer group's)."""
    from cdc_debezium.stage import DebeziumTranslator
    from walmart_sync.supervisor import listener_ready

    translator = DebeziumTranslator(settings)
    stop_on_signals(translator.stop)
    with operations(settings, "listen", sample_lag=False) as ops:
        if ops is None:
            return EXIT_CONFIG
        ops.add_readiness_check("listener", lambda: listener_ready(translator))
        try:
            translator.run()
        except Exception as exc:
            get_logger("cli").error("debezium translation stopped", reason=redact(str(exc)))
            print(f"walmart-sync listen: {redact(str(exc))}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK
