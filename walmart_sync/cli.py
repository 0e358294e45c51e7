"""The ``walmart-sync`` command.

Global options load the one settings model; each subcommand is a thin shell over a module that
does the work, so tests can drive the same code without a subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from contextlib import contextmanager

from cdc_listener.preflight import Finding
from config import ConfigError, Settings, load_settings
from sync_workers.runner import POLLERS, WORKERS
from walmart_sync.logs import configure_logging, redact, register_secrets

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
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
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    config_cmd = commands.add_parser("config", help="inspect the effective configuration")
    config_sub = config_cmd.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    check = config_sub.add_parser(
        "check", help="validate settings and print them with secrets masked; non-zero on errors")
    check.add_argument("--json", action="store_true", help="print the settings as JSON")
    check.add_argument("--connect", action="store_true",
                       help="also connect: Commerce DB binlog settings and grants, state store, "
                       "Kafka round trip")

    listen = commands.add_parser(
        "listen", help="stream the Commerce binlog to Kafka change events (active or standby)")
    listen.add_argument("--from", dest="start", metavar="WHERE", default="checkpoint",
                        help="checkpoint (default), current, FILE:POS or gtid:D-S-N")

    work = commands.add_parser("work", help="run a push worker (Commerce -> Walmart)")
    work.add_argument("worker", choices=(*WORKERS, *POLLERS),
                      help="which worker")

    run = commands.add_parser("run", help="run the listener and every worker in one process")
    run.add_argument("--only", default="", metavar="NAMES",
                     help=f"comma-separated subset of: listener, {', '.join((*WORKERS, *POLLERS))}")
    run.add_argument("--from", dest="start", default="checkpoint",
                     help="where the listener starts (as for `listen --from`)")

    dlq = commands.add_parser("dlq", help="inspect and replay dead-lettered records")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    dlq_list = dlq_sub.add_parser("list", help="list a worker's dead letters")
    dlq_list.add_argument("worker", choices=WORKERS)
    dlq_list.add_argument("--limit", type=int, default=100)
    dlq_list.add_argument("--json", action="store_true")
    dlq_show = dlq_sub.add_parser("show", help="show one dead letter with its headers and value")
    dlq_show.add_argument("worker", choices=WORKERS)
    dlq_show.add_argument("offset", type=int)
    dlq_show.add_argument("--partition", type=int, default=0)
    dlq_replay = dlq_sub.add_parser("replay", help="send dead letters back to their source topic")
    dlq_replay.add_argument("worker", choices=WORKERS)
    dlq_replay.add_argument("offsets", type=int, nargs="*", help="offsets to replay (default: all)")
    dlq_replay.add_argument("--force", action="store_true", help="replay letters replayed before too")

    lag = commands.add_parser(
        "lag", help="how far behind every stage is (binlog, consumer groups, Walmart, polls, dead letters); "
                    "exits 1 when a stage is over its threshold")
    lag.add_argument("--json", action="store_true")
    lag.add_argument("--window", type=float, default=300.0, metavar="SECONDS",
                     help="history (kept by the running sidecar) the trend is judged on (default 300)")
    lag.add_argument("--samples", type=int, default=2, help="readings taken now (default 2)")
    lag.add_argument("--gap", type=float, default=2.5, metavar="SECONDS", help="seconds between them (default 2.5)")
    lag.add_argument("--partitions", action="store_true", help="list every partition, not only those lagging")

    resync = commands.add_parser(
        "resync", help="compare every pushed SKU with Walmart again (after a purged binlog, a restore, a "
                       "change made behind the binlog's back); the running workers push the differences")
    resync.add_argument("streams", nargs="*", choices=["inventory", "price"], default=[],
                        help="which (default both)")

    listings = commands.add_parser("listings", help="put products on the Walmart channel and match them by UPC/GTIN")
    listings_sub = listings.add_subparsers(dest="listings_command", metavar="ACTION", required=True)
    listings_add = listings_sub.add_parser("add", help="add products: by SKU, by attribute set, or all")
    chosen = listings_add.add_mutually_exclusive_group(required=True)
    chosen.add_argument("--sku", action="append", metavar="SKU", help="a SKU (repeatable, or comma-separated)")
    chosen.add_argument("--attribute-set", action="append", metavar="NAME_OR_ID",
                        help="every product of an attribute set (repeatable)")
    chosen.add_argument("--all", action="store_true", help="every product")
    listings_match = listings_sub.add_parser(
        "match", help="look drafts up on Walmart, submit setup-by-match feeds and record every outcome")
    listings_match.add_argument("--timeout", type=float, default=4 * 3600, metavar="SECONDS",
                                help="stop waiting for match feeds after this long (default 4 h)")
    listings_match.add_argument("--poll", type=float, metavar="SECONDS",
                                help="seconds between match feed polls (default workers.feed_poll_s)")
    listings_status = listings_sub.add_parser("status", help="counts per status and each listing with its reason")
    listings_status.add_argument("--json", action="store_true")
    listings_status.add_argument("--status", choices=["draft", "submitted", "matched", "unmatched", "error"])
    listings_status.add_argument("--limit", type=int, default=200)

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

    health = commands.add_parser(
        "healthcheck", help="probe this deployment's ops endpoint (for container HEALTHCHECKs)")
    health.add_argument("--ready", action="store_true", help="probe /readyz instead of /healthz")
    health.add_argument("--port", type=int, help="ops port (default: ops.port setting or 9108)")

    demo = commands.add_parser(
        "demo", help="run walmart-sync on the embedded local stack (MariaDB + Kafka broker)")
    demo.add_argument("--products", type=int, default=1000, help="products to seed (default 1000)")
    demo.add_argument("--edition", choices=["open_source", "adobe_commerce"], default="open_source")
    demo.add_argument("--keep-running", action="store_true",
                      help="keep the stack up after the checks until Ctrl-C")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(args.config, overrides=args.overrides)
    register_secrets(settings.secret_values())
    return settings


def print_findings(findings: Sequence[Finding], out=sys.stdout) -> bool:
    width = max((len(f.check) for f in findings), default=0)
    for finding in findings:
        mark = "ok  " if finding.ok else "FAIL"
        print(f"  {mark}  {finding.check.ljust(width)}  {redact(finding.detail)}", file=out)
    return all(f.ok for f in findings)


def cmd_config_check(args: argparse.Namespace) -> int:
    settings = _settings(args)
    configure_logging(args.log_level or settings.log.level, args.log_format or settings.log.format)
    effective = settings.model_dump(mode="json")
    if args.json:
        print(json.dumps(effective, indent=2))
    else:
        print("configuration is valid; effective settings (secrets masked):")
        for section, values in effective.items():
            print(f"[{section}]")
            for key, value in values.items():
                print(f"  {key} = {json.dumps(value)}")
    if not args.connect:
        return EXIT_OK
    from walmart_sync.health import check_commerce_database, check_kafka, check_state_store

    print("connections:")
    findings = check_commerce_database(settings) + check_state_store(settings) + check_kafka(settings)
    return EXIT_OK if print_findings(findings) else EXIT_FAILED


def cmd_healthcheck(args: argparse.Namespace) -> int:
    """Needs no full configuration: a container probe must not fail on unrelated settings."""
    from config.settings import OpsSettings
    from walmart_sync.ops_server import probe

    ops = OpsSettings()
    port = args.port or int(os.environ.get("WALMART_SYNC_OPS__PORT", ops.port))
    host = os.environ.get("WALMART_SYNC_OPS__HOST", ops.host)
    ok, body = probe(host, port, "/readyz" if args.ready else "/healthz")
    print(body if ok else f"unhealthy: {body}")
    return EXIT_OK if ok else EXIT_FAILED


@contextmanager
def operations(settings: Settings, command: str, sample_lag: bool = True):
    """The ops endpoint (/healthz, /readyz, /metrics, /status) and the lag sampler for the life of
    a long-running command; yields None after saying why the port could not be bound. The
    listener alone does not sample: decoding is CPU-bound, and any worker process samples."""
    from walmart_sync.metrics import REGISTRY
    from walmart_sync.ops_server import OpsServer
    from walmart_sync.status_page import StatusSource

    token = settings.ops.status_token.get_secret_value() if settings.ops.status_token else None
    try:
        server = OpsServer(settings.ops.host, settings.ops.port, registry=REGISTRY,
                           status=StatusSource(settings), status_token=token)
    except OSError as exc:
        print(f"walmart-sync {command}: cannot serve the ops endpoint on {settings.ops.host}:"
              f"{settings.ops.port} ({exc.strerror}); set ops.port to a free port", file=sys.stderr)
        yield None
        return
    if token is None and settings.ops.host not in ("127.0.0.1", "::1", "localhost"):
        from walmart_sync.logs import get_logger

        get_logger("ops").warning("the status page is open to every client that reaches the ops port; set "
                                  "ops.status_token to require a token from other hosts", host=settings.ops.host)
    sampler = None
    if sample_lag:
        from walmart_sync.lag.sampler import LagSampler

        sampler = LagSampler(settings).start()
    try:
        with server:
            yield server
    finally:
        if sampler is not None:
            sampler.stop()



def cmd_listen(args: argparse.Namespace) -> int:
    import signal

    from cdc_listener.listener import Listener
    from cdc_listener.metrics import ListenerMetrics
    from cdc_listener.position import ListenerError, parse_start
    from walmart_sync.metrics import REGISTRY
    from walmart_sync.supervisor import listener_ready
    from walmart_sync.logs import get_logger

    settings = _settings(args)
    configure_logging(args.log_level or settings.log.level, args.log_format or settings.log.format)
    try:
        start = parse_start(args.start)
    except ValueError as exc:
        print(f"walmart-sync: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    listener = Listener(settings, start, ListenerMetrics(REGISTRY))
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: listener.stop())
    log = get_logger("cli")
    with operations(settings, "listen", sample_lag=False) as ops:
        if ops is None:
            return EXIT_CONFIG
        ops.add_readiness_check("listener", lambda: listener_ready(listener))
        try:
            listener.run()
        except ListenerError as exc:
            log.error("listener stopped", reason=str(exc))
            print(f"walmart-sync listen: {redact(str(exc))}", file=sys.stderr)
            return EXIT_FAILED
    return EXIT_OK


def cmd_work(args: argparse.Namespace) -> int:
    import signal

    from sync_workers.runner import build_worker

    settings = _settings(args)
    configure_logging(args.log_level or settings.log.level, args.log_format or settings.log.format)
    if args.worker in POLLERS:
        from sync_workers.runner import build_poller

        loop = build_poller(args.worker, settings)
        ready = loop.ready
    else:
        from walmart_sync.supervisor import worker_ready

        loop = build_worker(args.worker, settings)
        ready = lambda: worker_ready(loop)  # noqa: E731
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: loop.stop())
    with operations(settings, "work") as ops:
        if ops is None:
            return EXIT_CONFIG
        ops.add_readiness_check("worker", ready)
        loop.run()
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    import signal

    from cdc_listener.position import parse_start
    from walmart_sync.supervisor import Supervisor, build_components

    settings = _settings(args)
    configure_logging(args.log_level or settings.log.level, args.log_format or settings.log.format)
    known = ("listener", *WORKERS, *POLLERS)
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or list(known)
    unknown = sorted(set(chosen) - set(known))
    if unknown:
        print(f"walmart-sync run: unknown component(s) {', '.join(unknown)}; choose from {', '.join(known)}",
              file=sys.stderr)
        return EXIT_CONFIG
    try:
        start = parse_start(args.start)
    except ValueError as exc:
        print(f"walmart-sync: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    components = build_components(settings, chosen, start)
    supervisor = Supervisor(components)
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: supervisor.stop())
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


def cmd_dlq(args: argparse.Namespace) -> int:
    from sync_workers import dlq

    settings = _settings(args)
    configure_logging(args.log_level or "warning", args.log_format or settings.log.format)
    letters = dlq.read_letters(settings, args.worker)
    if args.dlq_command == "list":
        rows = [letter.summary() for letter in letters[:args.limit]]
        if args.json:
            print(json.dumps(rows, indent=2))
        else:
            print(f"{len(letters)} dead letter(s) for the {args.worker} worker")
            for row in rows:
                print(f"  {row['partition']}@{row['offset']}  {row['failed_at']}  {row['error_code'] or '-'}  "
                      f"{row['source']}  key={row['key']}  {row['reason']}")
        return EXIT_OK
    if args.dlq_command == "show":
        found = [l for l in letters if l.offset == args.offset and l.partition == args.partition]
        if not found:
            print(f"no dead letter at {args.partition}@{args.offset}", file=sys.stderr)
            return EXIT_FAILED
        print(dlq.show(found[0]))
        return EXIT_OK
    chosen = [l for l in letters if not args.offsets or l.offset in args.offsets]
    replayed, skipped = dlq.replay(settings, args.worker, chosen, force=args.force)
    print(f"replayed {replayed}, skipped {skipped} already replayed (use --force to repeat)")
    return EXIT_OK


def cmd_lag(args: argparse.Namespace) -> int:
    from walmart_sync.lag import cli as lag_cli

    settings = _settings(args)
    configure_logging(args.log_level or "error", args.log_format or settings.log.format)
    return lag_cli.run(settings, args.json, args.window, max(1, args.samples), args.gap, args.partitions)


def cmd_resync(args: argparse.Namespace) -> int:
    from sync_workers.resync import schedule_resync

    settings = _settings(args)
    configure_logging(args.log_level or "warning", args.log_format or settings.log.format)
    counts = schedule_resync(settings, args.streams or ["inventory", "price"])
    for stream, count in counts.items():
        print(f"{stream}: {count} SKU(s) due for a comparison with Walmart; the {stream} worker pushes what differs")
    return EXIT_OK


def cmd_listings(args: argparse.Namespace) -> int:
    from walmart_sync import listings_cli

    settings = _settings(args)
    configure_logging(args.log_level or "warning", args.log_format or settings.log.format)
    if args.listings_command == "add":
        skus = [s.strip() for raw in args.sku or [] for s in raw.split(",") if s.strip()] or None
        return listings_cli.add(settings, skus, args.attribute_set)
    if args.listings_command == "match":
        return listings_cli.match(settings, args.timeout, args.poll)
    return listings_cli.status(settings, args.json, args.status, args.limit)


def cmd_emulator(args: argparse.Namespace) -> int:
    from devstack.walmart_emulator.app import WalmartEmulator
    from devstack.walmart_emulator.server import EmulatorServer

    if args.emulator_name == "commerce":
        return _serve_commerce_emulator(args)

    credentials = dict(pair.split(":", 1) for pair in args.client) or {"local-client": "local-secret"}
    try:
        delays = tuple(float(part) for part in args.feed_delays.split(","))
        assert len(delays) == 2 and 0 <= delays[0] <= delays[1]
    except (ValueError, AssertionError):
        print("walmart-sync emulator walmart: --feed-delays is two numbers, e.g. 60,900", file=sys.stderr)
        return EXIT_CONFIG
    app = WalmartEmulator(credentials, time_scale=args.time_scale, feed_delays_s=delays)
    skus = [s for s in args.items.split(",") if s]
    for client_id in credentials:
        app.seed_items(client_id, skus)
    server = EmulatorServer(app, args.host, args.port)
    return _serve_until_interrupted(server, f"Walmart emulator on {server.url} (clients: {', '.join(credentials)}; "
                                            f"inspect {server.url}/_emulator/state)")


def _serve_commerce_emulator(args: argparse.Namespace) -> int:
    import pymysql

    from config.settings import parse_mysql_dsn
    from devstack.commerce_emulator.app import CommerceEmulator
    from devstack.walmart_emulator.server import EmulatorServer

    if not args.token:
        print("walmart-sync emulator commerce: give --token (or COMMERCE_EMULATOR_TOKEN)", file=sys.stderr)
        return EXIT_CONFIG
    try:
        dsn = parse_mysql_dsn(args.dsn)
    except ValueError as exc:
        print(f"walmart-sync emulator commerce: {redact(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    register_secrets([dsn.password.get_secret_value(), args.token])
    app = CommerceEmulator(lambda: pymysql.connect(host=dsn.host, port=dsn.port, user=dsn.user,
                                                   password=dsn.password.get_secret_value(),
                                                   database=dsn.database, autocommit=False),
                           args.token, rma_enabled=not args.no_rma)
    server = EmulatorServer(app, args.host, args.port)
    return _serve_until_interrupted(server, f"Commerce REST emulator on {server.url}/rest/<store_code>/V1 "
                                            f"(database {dsn.database})")


def _serve_until_interrupted(server, banner: str) -> int:
    print(f"{banner}; Ctrl-C to stop", flush=True)
    try:
        server._server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server._server.server_close()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from walmart_sync.demo import run_demo

    configure_logging(args.log_level or "error", args.log_format or "auto")  # the demo narrates
    return run_demo(products=args.products, edition=args.edition, keep_running=args.keep_running)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        commands = {"config": cmd_config_check, "work": cmd_work, "run": cmd_run, "dlq": cmd_dlq,
                    "emulator": cmd_emulator, "listen": cmd_listen, "healthcheck": cmd_healthcheck,
                    "listings": cmd_listings, "lag": cmd_lag, "resync": cmd_resync,
                    "demo": cmd_demo}
        if args.command in commands:
            return commands[args.command](args)
    except ConfigError as exc:
        print(f"walmart-sync: {redact(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return 130
    return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
