"""``walmart-sync config check [--json] [--connect]``: validate the settings before trusting them."""

from __future__ import annotations

import argparse
import json
import sys

from walmart_sync.cli.common import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, print_findings, settings_from

name = "config"


def add_parser(commands: argparse._SubParsersAction) -> None:
    config_cmd = commands.add_parser("config", help="inspect the effective configuration")
    config_sub = config_cmd.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate settings and print them with secrets masked; non-zero on errors")
    check.add_argument("--json", action="store_true", help="print the settings as JSON")
    check.add_argument("--connect", action="store_true",
                       help="also connect: Commerce DB binlog settings and grants, the Commerce module "
                       "(installed, version), state store, Kafka round trip")


def run(args: argparse.Namespace) -> int:
    from plumbing.kafka import unknown_client_options

    settings = settings_from(args)
    unknown = unknown_client_options(settings.kafka)
    if unknown:
        print(f"walmart-sync: invalid configuration:\n  - kafka.client_options: {', '.join(unknown)} cannot be set "
              "there (unknown to kafka-python, or fixed by walmart-sync)", file=sys.stderr)
        return EXIT_CONFIG
    effective = settings.model_dump(mode="json")
    if args.json:
        print(json.dumps(effective, indent=2))
    else:
        print("configuration is valid; effective settings (secrets masked):")
        for section, values in effective.items():
            print(f"[{section}]")
            for key, value in values.items():
                print(f"  {key} = {json.dumps(value)}")
    if settings.kafka.replication_factor == 1:
        print("warning: kafka.replication_factor = 1: losing the broker loses every event not yet consumed; "
              "use 3 (with kafka.min_insync_replicas = 2) on a cluster", file=sys.stderr)
    if not args.connect:
        return EXIT_OK
    from operations.health import check_commerce_database, check_commerce_module, check_kafka, check_state_store

    print("connections:")
    findings = check_commerce_database(settings) + check_commerce_module(settings) + check_state_store(settings) + \
        check_kafka(settings)
    if settings.cdc.source == "debezium":  # the binlog checks above still matter: Debezium needs them too
        from cdc_debezium.preflight import check_debezium_topics

        findings += check_debezium_topics(settings)
    return EXIT_OK if print_findings(findings) else EXIT_FAILED
