"""``walmart-sync demo``: the whole product on the embedded stack.

It brings up the private MariaDB with a ROW binlog and the Kafka broker, builds and seeds a
Commerce database, proves each part healthy through the same settings and checks an operator
uses, then runs the CDC listener against scripted store activity and shows each change event
with its commit -> Kafka ack latency. Later stages add the workers, emulators and the Walmart
side to this same command.
"""

from __future__ import annotations

import signal
import sys
import threading
import time

from cdc_listener.listener import Listener
from devstack.environment import prepare_environment
from devstack.stack import LocalStack
from walmart_sync.cli import print_findings
from walmart_sync.demo_activity import run_activity, store_activity
from walmart_sync.health import check_commerce_database, check_kafka, check_state_store
from walmart_sync.kafka_clients import topic_name
from walmart_sync.logs import register_secrets
from walmart_sync.ops_server import OpsServer


def _say(text: str) -> None:
    print(text, flush=True)


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _summary(findings) -> tuple[bool, str]:
    failed = [f"{f.check}: {f.detail}" for f in findings if not f.ok]
    return (not failed, "; ".join(failed) or "all checks pass")


def _run_listener_demo(env, settings) -> bool:
    """Start the CDC listener, make store changes, show the events and their latency."""
    acked: dict[str, float] = {}
    listener = Listener(settings, on_ack=lambda event_id, _family, at: acked.__setitem__(event_id, at))
    thread = threading.Thread(target=listener.run, name="demo-listener", daemon=True)
    _say("starting the CDC listener (walmart-sync listen) on the Commerce binlog...")
    thread.start()
    deadline = time.monotonic() + 60
    while not listener.streaming.is_set() and time.monotonic() < deadline:
        if not thread.is_alive():
            _say("  the listener stopped during start-up")
            return False
        time.sleep(0.05)
    ids = env.seed.attribute_ids
    topics = [topic_name(settings.kafka, family) for family in ("stock", "price")]
    try:
        with env.admin_connection() as conn:
            ok = run_activity(conn, store_activity(ids["price"], ids["special_price"],
                                                    env.edition == "adobe_commerce"), acked,
                              env.endpoints.bootstrap_servers, topics, _say)
    finally:
        listener.stop()
        thread.join(30)
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute(f"SELECT log_file, log_pos FROM `{env.state_db}`.cdc_checkpoint")
        checkpoint = cur.fetchone()
    _say(f"listener: {len(acked)} events acknowledged by Kafka, checkpoint at "
         f"{checkpoint[0]}:{checkpoint[1]}; every change reached Kafka: {'yes' if ok else 'NO'}")
    return ok


def run_demo(products: int, edition: str, keep_running: bool) -> int:
    started = time.perf_counter()
    _say("walmart-sync demo: starting the embedded stack (private MariaDB + Tansu Kafka broker)")
    # SIGTERM takes the same clean path as Ctrl-C: the stack's context manager stops everything.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with LocalStack() as stack:
        endpoints = stack.endpoints
        _say(f"  MariaDB   127.0.0.1:{endpoints.mysql.port} (datadir {stack.mariadb.datadir})")
        _say(f"  Kafka     {endpoints.bootstrap_servers}")
        _say(f"building the Commerce database ({edition}) and seeding {products} products...")
        env = prepare_environment(endpoints, stack.base_dir / "config", edition, products)
        settings = env.settings()
        register_secrets(settings.secret_values())
        rows = ", ".join(f"{n} {t}" for t, n in env.seed.rows.items() if t.startswith(("catalog_product_entity", "inventory_source_item")))
        _say(f"  seeded in {env.seed.seconds:.1f} s: {rows}")
        _say(f"  config    {env.config_path}")

        _say("health (as the sidecar's least-privilege user, through its settings):")
        healthy = print_findings(
            check_commerce_database(settings) + check_state_store(settings) + check_kafka(settings)
        )
        _say(f"{'HEALTHY' if healthy else 'UNHEALTHY'}: stack up and checked in "
             f"{time.perf_counter() - started:.1f} s")
        if healthy:
            healthy = _run_listener_demo(env, settings)
        if healthy and keep_running:
            with OpsServer(settings.ops.host, settings.ops.port) as ops:
                ops.add_readiness_check("commerce_db", lambda: _summary(check_commerce_database(settings)))
                _say(f"  ops       http://{settings.ops.host}:{ops.port}/healthz and /readyz")
                _say(f"running; try: walmart-sync --config {env.config_path} config check --connect")
                _say("press Ctrl-C to stop")
                _wait_for_interrupt()
        _say("stopping the stack...")
    _say("stopped; nothing left running")
    return 0 if healthy else 1


if __name__ == "__main__":
    sys.exit(run_demo(200, "open_source", False))
