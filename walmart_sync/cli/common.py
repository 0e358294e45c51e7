"""What every command shares: exit codes, settings loading, logging set-up, the ops endpoint.

Kept free of flow imports so that ``walmart-sync --help`` and the container's ``healthcheck`` load
the settings model and nothing else.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol, TextIO

from config import Settings, load_settings
from plumbing.logs import configure_logging, redact, register_secrets

if TYPE_CHECKING:
    from cdc_listener.preflight import Finding
    from operations.ops_server import OpsServer

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class Command(Protocol):
    """A CLI command module (or a dev-stack plugin): adds its parser, then runs."""

    name: str

    def add_parser(self, commands: argparse._SubParsersAction) -> None: ...

    def run(self, args: argparse.Namespace) -> int: ...


def settings_from(args: argparse.Namespace, default_level: str | None = None) -> Settings:
    """The one settings model, with secrets registered for redaction before anything logs."""
    settings = load_settings(args.config, overrides=args.overrides)
    register_secrets(settings.secret_values())
    configure_logging(args.log_level or default_level or settings.log.level, args.log_format or settings.log.format)
    return settings


def print_findings(findings: Sequence[Finding], out: TextIO = sys.stdout) -> bool:
    width = max((len(f.check) for f in findings), default=0)
    for finding in findings:
        mark = "FAIL" if not finding.ok else "WARN" if finding.warning else "ok  "
        print(f"  {mark}  {finding.check.ljust(width)}  {redact(finding.detail)}", file=out)
    return all(f.ok for f in findings)


@contextmanager
def operations(settings: Settings, command: str, sample_lag: bool = True) -> Iterator[OpsServer | None]:
    """The ops endpoint (/healthz, /readyz, /metrics, /status) and the lag sampler for the life of
    a long-running command; yields None after saying why the port could not be bound. The
    listener alone does not sample: decoding is CPU-bound, and any worker process samples."""
    from operations.ops_server import OpsServer
    from operations.status_page import StatusSource
    from plumbing.metrics import REGISTRY

    token = settings.ops.status_token.get_secret_value() if settings.ops.status_token else None
    try:
        server = OpsServer(settings.ops.host, settings.ops.port, registry=REGISTRY,
                           status=StatusSource(settings), status_token=token, status_open=settings.ops.status_open)
    except OSError as exc:
        print(f"walmart-sync {command}: cannot serve the ops endpoint on {settings.ops.host}:"
              f"{settings.ops.port} ({exc.strerror}); set ops.port to a free port", file=sys.stderr)
        yield None
        return
    if settings.ops.status_open:
        from plumbing.logs import get_logger

        get_logger("ops").warning("the status page needs no token (ops.status_open): keep it behind your own "
                                  "authentication", host=settings.ops.host)
    sampler = None
    if sample_lag:
        from operations.lag.sampler import LagSampler

        sampler = LagSampler(settings).start()
    try:
        with server:
            yield server
    finally:
        if sampler is not None:
            sampler.stop()


def stop_on_signals(stop: object) -> None:
    """SIGTERM (a container stop) and SIGINT (Ctrl-C) end the command cleanly."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop())  # type: ignore[operator]
