"""``walmart-sync healthcheck [--ready]``: the container's HEALTHCHECK probe of the ops endpoint."""

from __future__ import annotations

import argparse

from walmart_sync.cli.common import EXIT_FAILED, EXIT_OK

name = "healthcheck"


def add_parser(commands: argparse._SubParsersAction) -> None:
    health = commands.add_parser(
        "healthcheck", help="probe this deployment's ops endpoint (for container HEALTHCHECKs)")
    health.add_argument("--ready", action="store_true", help="probe /readyz instead of /healthz")
    health.add_argument("--port", type=int, help="ops port (default: ops.port setting or 9108)")


def run(args: argparse.Namespace) -> int:
    """Reads only the [ops] section, from the same places as every command (``--config``,
    ``WALMART_SYNC_CONFIG``, the environment, ``--set ops.port=...``): a container probe must find
    the port the deployment set, and must not fail on unrelated settings."""
    from config.loading import load_section
    from config.settings import OpsSettings
    from operations.ops_server import probe

    ops = load_section("ops", OpsSettings, args.config, args.overrides)
    host = "127.0.0.1" if ops.host in ("0.0.0.0", "::") else ops.host  # bound everywhere: probe it here
    ok, body = probe(host, args.port or ops.port, "/readyz" if args.ready else "/healthz")
    print(body if ok else f"unhealthy: {body}")
    return EXIT_OK if ok else EXIT_FAILED
