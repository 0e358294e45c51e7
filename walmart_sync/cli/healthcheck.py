"""``walmart-sync healthcheck [--ready]``: the container's HEALTHCHECK probe of the ops endpoint."""

from __future__ import annotations

import argparse
import os

from walmart_sync.cli.common import EXIT_FAILED, EXIT_OK

name = "healthcheck"


def add_parser(commands: argparse._SubParsersAction) -> None:
    health = commands.add_parser(
        "healthcheck", help="probe this deployment's ops endpoint (for container HEALTHCHECKs)")
    health.add_argument("--ready", action="store_true", help="probe /readyz instead of /healthz")
    health.add_argument("--port", type=int, help="ops port (default: ops.port setting or 9108)")


def run(args: argparse.Namespace) -> int:
    """Needs no full configuration: a container probe must not fail on unrelated settings."""
    from config.settings import OpsSettings
    from operations.ops_server import probe

    ops = OpsSettings()
    port = args.port or int(os.environ.get("WALMART_SYNC_OPS__PORT", ops.port))
    host = os.environ.get("WALMART_SYNC_OPS__HOST", ops.host)
    ok, body = probe(host, port, "/readyz" if args.ready else "/healthz")
    print(body if ok else f"unhealthy: {body}")
    return EXIT_OK if ok else EXIT_FAILED
