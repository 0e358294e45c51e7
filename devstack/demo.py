"""``walmart-sync demo``: the whole product on the embedded stack.

It brings up the private MariaDB with a ROW binlog and the Kafka broker, builds and seeds a
Commerce database, proves each part healthy through the same settings and checks an operator
uses, starts the Walmart Marketplace emulator (with a catalogue matching the seeded products, at
Walmart's limits sped up) and the Commerce REST emulator, and runs every sidecar component, as
`walmart-sync run` does, with the ops endpoint and status page. Then: the products are put on the
channel and matched, a scripted stretch of store activity runs in both directions with the time
each change took to reach the other side, the lag table is printed, and the demo ends by checking
that Walmart and Commerce agree. Ctrl-C (or SIGTERM) stops everything cleanly.
"""

from __future__ import annotations

import secrets
import signal
import sys
import threading
import time
from typing import Any

from devstack.environment import prepare_environment
from devstack.stack import LocalStack
from operations.health import check_commerce_database, check_kafka, check_state_store
from plumbing.logs import register_secrets
from walmart_sync.cli.common import print_findings

TIME_SCALE = 60.0          # Walmart's limits and feed processing, sped up: 100 price updates an hour -> a minute
# Walmart takes no price for an item until 24 h after its setup: the demo's new matches wait this
# many seconds instead (on the emulator and in the sidecar alike), shown as waiting meanwhile
PRICE_WINDOW_S = 20.0
FEED_DELAYS_S = (30.0, 60.0)  # assumed feed processing (INPROGRESS, done), before the time scale
# two Walmart ship nodes (Walmart's numeric ids), each fed by one warehouse of the Walmart stock (stock 2:
# wh_east and wh_west, devstack/seed.py): issue 21's workers.ship_nodes
NODE_A, NODE_B = "1000000001", "1000000002"
SHIP_NODES = {NODE_A: ["wh_east"], NODE_B: ["wh_west"]}
# one selling rule (issue 20): the seed puts every 4th product in the "Walmart Apparel" attribute set
SELLING = {"rules": {"apparel": {"price_markup_percent": "10", "price_ending": ".99", "quantity_percent": "50"}},
           "by_attribute_set": {"Walmart Apparel": "apparel"}}


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


def _wait(check: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.1)
    return False


def run_demo(products: int, edition: str, keep_running: bool, kafka: str = "tansu") -> int:
    """``kafka``: ``tansu`` (the embedded broker inside a wheel: nothing but pip needed) or ``apache``
    (Apache Kafka from Maven-fetched jars, Java 17 needed)."""
    started = time.perf_counter()
    broker = "Tansu Kafka broker" if kafka == "tansu" else "Apache Kafka (KRaft)"
    _say(f"walmart-sync demo: starting the embedded stack (private MariaDB + {broker})")
    # SIGTERM takes the same clean path as Ctrl-C: the stack's context manager stops everything.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    with LocalStack(kafka=kafka) as stack:
        endpoints = stack.endpoints
        _say(f"  MariaDB   127.0.0.1:{endpoints.mysql.port} (datadir {stack.mariadb.datadir})")
        _say(f"  Kafka     {endpoints.bootstrap_servers}")
        _say(f"building the Commerce database ({edition}) and seeding {products} products...")
        env = prepare_environment(endpoints, stack.base_dir / "config", edition, products, push_skus="matched")
        settings = env.settings()
        register_secrets(settings.secret_values())
        rows = ", ".join(f"{n} {t}" for t, n in env.seed.rows.items()
                         if t.startswith(("catalog_product_entity", "inventory_source_item")))
        _say(f"  seeded in {env.seed.seconds:.1f} s: {rows}")
        _say(f"  config    {env.config_path}")

        _say("health (as the sidecar's least-privilege user, through its settings):")
        healthy = print_findings(
            check_commerce_database(settings) + check_state_store(settings) + check_kafka(settings)
        )
        _say(f"{'HEALTHY' if healthy else 'UNHEALTHY'}: stack up and checked in "
             f"{time.perf_counter() - started:.1f} s")
        agree = False
        if healthy:
            agree = _run_sidecar(env, products, keep_running)
        _say("stopping the stack...")
    _say("stopped; nothing left running")
    return 0 if healthy and agree else 1


def _run_sidecar(env: Any, products: int, keep_running: bool) -> bool:
    from config.components import POLLERS, WORKERS
    from devstack.agreement import check_all
    from devstack.commerce_emulator.app import CommerceEmulator
    from devstack.demo_default_stock import DefaultStockPass
    from devstack.walmart_catalogue import catalogue_entries
    from devstack.walmart_emulator.app import WalmartEmulator, client_rate_limits
    from devstack.walmart_emulator.server import EmulatorServer
    from walmart_sync.cli.common import operations
    from walmart_sync.components import build_components
    from walmart_sync.supervisor import Supervisor

    client_secret, token = secrets.token_urlsafe(18), secrets.token_urlsafe(24)
    walmart = WalmartEmulator({"local-client": client_secret}, time_scale=TIME_SCALE, feed_delays_s=FEED_DELAYS_S,
                              price_after_setup_s=PRICE_WINDOW_S * TIME_SCALE)
    walmart.seed_catalog(catalogue_entries(products))
    for node in SHIP_NODES:
        walmart.add_ship_node("local-client", node)
    rma = env.edition == "adobe_commerce"
    commerce = CommerceEmulator(lambda: env.admin_connection(autocommit=False), token, rma_enabled=rma)
    with EmulatorServer(walmart) as walmart_server, EmulatorServer(commerce) as commerce_server:
        settings = env.settings(
            walmart={"base_url": walmart_server.url, "client_id": "local-client", "client_secret": client_secret,
                     "rate_limits": client_rate_limits(TIME_SCALE)},
            commerce_api={"base_url": commerce_server.url, "token": token, "store_code": "walmart_us"},
            workers={"coalesce_ms": 100, "order_poll_s": 0.5, "return_poll_s": 0.5, "feed_poll_s": 0.5,
                     "feed_expected_s": FEED_DELAYS_S[1] / TIME_SCALE, "price_after_setup_s": PRICE_WINDOW_S,
                     "ship_nodes": SHIP_NODES},
            selling=SELLING,
            # a special price goes as a Walmart promotion with the regular price as its was-price
            price={"promotions": "promotions"},
            listings={"auto_add": "all", "match_interval_s": 2.0},
            # the demo's ops endpoint is on loopback of a throwaway stack: its page needs no token (a
            # deployment sets ops.status_token; the token is a secret and is never printed)
            ops={"lag_sample_s": 2.0, "status_open": True},
            cdc={"checkpoint_interval_ms": 200})
        register_secrets(settings.secret_values())
        _say(f"Walmart Marketplace emulator {walmart_server.url} (limits x{TIME_SCALE:g}; a catalogue of "
             f"{len(walmart.catalog)} items), Commerce REST emulator {commerce_server.url}/rest "
             f"({'with' if rma else 'without'} the RMA module)")
        components = build_components(settings, ["listener", *WORKERS, *POLLERS])
        supervisor = Supervisor(components)
        with operations(settings, "demo") as ops:
            if ops is None:
                return False
            for component in components:
                ops.add_readiness_check(component.name, component.ready)
            _say(f"starting walmart-sync run: the listener, {len(WORKERS)} workers and {len(POLLERS)} pollers")
            supervisor.start()
            try:
                if not _wait(lambda: all(ok for ok, _ in ops.readiness().values()), 90):
                    _say("  not every component became ready: " + ", ".join(
                        f"{name} ({detail})" for name, (ok, detail) in ops.readiness().items() if not ok))
                    return False
                base = f"http://{settings.ops.host}:{ops.port}"
                _say(f"  ops       {base}/healthz and /readyz, metrics {base}/metrics, status page {base}/status")
                _listings(env, settings, walmart)
                _selling_rule(env, settings, walmart)
                _activity(env, settings, walmart, commerce_server.url, token, rma)
                _lag_table(settings)
                with env.admin_connection() as commerce_conn:
                    state = _state(settings)
                    _say("checking that Walmart and Commerce agree:")
                    checks = _converged(lambda: check_all(settings, walmart, "local-client", commerce_conn, state))
                    for check in checks:
                        _say(f"  {'ok  ' if check.ok else 'FAIL'}  {check.name:<12} {check.describe()}")
                    state.close()
                agree = all(check.ok for check in checks)
                _say(("AGREE: Walmart and Commerce agree on every listing, order, shipment, cancellation, refund "
                      "and return") if agree else "DISAGREE: see the failed checks above")
                second = DefaultStockPass(env, walmart, walmart_server.url, client_rate_limits(TIME_SCALE), _say).run()
                agree = agree and all(check.ok for check in second)
                if keep_running:
                    _say(f"running; the status page is {base}/status; try: walmart-sync --config "
                         f"{env.config_path} lag")
                    _say("press Ctrl-C to stop")
                    _wait_for_interrupt()
                return agree
            finally:
                supervisor.stop()
                supervisor.wait(60)


def _state(settings: Any) -> Any:
    from sync_workers.stores.value_state import connect_state

    return connect_state(settings)


def _converged(check: Any, timeout_s: float = 30.0) -> list[Any]:
    """The last changes may still be on their way: look again for a while before calling a miss."""
    deadline = time.monotonic() + timeout_s
    while True:
        results = check()
        if all(r.ok for r in results) or time.monotonic() > deadline:
            return results
        time.sleep(0.5)


def _listings(env: Any, settings: Any, walmart: Any) -> None:
    from devstack.agreement import check_inventory_and_price
    from plumbing.db import connect_commerce
    from sync_workers.push.listings.worker import build_matcher
    from sync_workers.walmart.client import WalmartClient
    from walmart_sync.cli.listings import ProgressLine

    _say("listings (walmart-sync listings add --all, then listings match):")
    state = _state(settings)
    matcher = build_matcher(settings, WalmartClient(settings.walmart), connect_commerce(settings), state)
    counts = matcher.add()
    _say(f"  {counts['draft']} products added with a valid UPC/GTIN/EAN, {counts['error']} with identifier errors")
    progress = ProgressLine(sys.stdout, every_s=2.0)
    started = time.monotonic()
    result = matcher.run(progress, poll_s=0.3, timeout_s=120)
    progress.close()
    final = matcher.store.counts()
    _say(f"  matched {final['matched']}, unmatched {final['unmatched']} (not in Walmart's catalogue), "
         f"errors {final['error']}; {result.feeds_submitted} setup-by-match feed(s) in "
         f"{time.monotonic() - started:.1f} s")
    skus = sorted(matcher.store.matched())
    _say(f"  initial push of the {len(skus)} new matches' quantity and price (Walmart takes a new item's price "
         f"24 h after its setup, {PRICE_WINDOW_S:g} s here: until then `lag` shows the prices waiting):")
    started = time.monotonic()
    with env.admin_connection() as commerce:
        ok = _wait(lambda: all(c.ok for c in check_inventory_and_price(settings, walmart, "local-client", commerce,
                                                                        skus)), 90)
    _say(f"    -> Walmart holds every matched listing's salable quantity and effective price after "
         f"{time.monotonic() - started:.1f} s" if ok else "    -> the initial push did NOT complete within 90 s")
    state.close()


def _selling_rule(env: Any, settings: Any, walmart: Any) -> None:
    """A SKU under the default rule beside one under the demo's rule: Commerce's values, the rule that
    decided (as `walmart-sync sku` explains it) and what Walmart holds."""
    from devstack.oracles.msi import expected_walmart_quantity, salable_quantities
    from devstack.oracles.prices import regular_prices
    from operations.sku_lookup import look_up_sku

    mapping = settings.mapping
    seller = walmart.seller("local-client")
    _say("selling rules (walmart-sync sku names the rule that decided each value):")
    _say(f"  {'SKU':<10} {'rule (why)':<44} {'Commerce price, qty/node':<26} Walmart price, qty/node")
    state = _state(settings)
    with env.admin_connection() as commerce:
        for sku in ("WS-000001", "WS-000008"):
            found = look_up_sku(settings, sku, commerce, state, None)
            rule = found.selling_rule
            why = f"{rule.name} ({rule.why})" if rule else "default (changes nothing)"
            price = regular_prices(commerce, [sku], mapping.store_id, zone=mapping.store_timezone,
                                   website_id=mapping.website_id, customer_group_id=mapping.customer_group_id)[sku]
            qty = "/".join(str(expected_walmart_quantity(
                salable_quantities(commerce, [sku], mapping.stock_id, mapping.msi_enabled, store_id=mapping.store_id,
                                   website_id=mapping.website_id, sources=sources)[sku],
                mapping.inventory_safety_buffer, mapping.unlimited_stock_quantity)) for sources in SHIP_NODES.values())
            shown = (seller.prices.get(sku) or {}).get("currentPrice", {}).get("amount")
            walmart_qty = "/".join(str(seller.inventory.get((sku, node))) for node in SHIP_NODES)
            shown_text = "-" if shown is None else f"{float(shown):.2f}"
            _say(f"  {sku:<10} {why[:44]:<44} {f'{price}, {qty}':<26} {shown_text}, {walmart_qty}")
    state.close()


def _activity(env: Any, settings: Any, walmart: Any, commerce_url: str, token: str, rma: bool) -> None:
    from devstack.demo_activity import StoreActivity

    _say("store activity (each change, then what the other side showed and when):")
    act = StoreActivity(env, settings, walmart, commerce_url, token, _say)
    for sku in ("WS-000005", "WS-000006", "WS-000009", "WS-000010", "WS-000011", "WS-000012"):  # stock to sell
        for source, quantity in (("wh_east", 40), ("wh_west", 25)):
            act._sql("INSERT INTO inventory_source_item (source_code, sku, quantity, status) VALUES (%s, %s, %s, 1) "
                     "ON DUPLICATE KEY UPDATE quantity = VALUES(quantity), status = 1", (source, sku, quantity))
    act.stock_recount("WS-000001", 12)  # wh_east: node A follows, node B keeps wh_west's count
    act.price_change("WS-000003", "price", 24.99)
    act.promotion("WS-000004", 30.0, 19.99, 7)
    placed = act.walmart_order([("WS-000005", 2, 19.5), ("WS-000006", 1, 42.0)], shipping=4.99, ship_node=NODE_B)
    if placed:
        order, order_id = placed
        node, source = act.order_source(order.purchase_order_id)
        _say(f"    the order names ship node {node}, source {source} (workers.ship_nodes)")
        act.reservation_reaches_walmart("WS-000005")
        act.ship(order, order_id, source=source)
        act.walmart_return(order, order_id, act.items(order_id)[0], rma)
    cancelled = act.walmart_order([("WS-000009", 1, 15.0)])
    if cancelled:
        act.cancel(*cancelled)
    refunded = act.walmart_order([("WS-000010", 2, 11.0)])
    if refunded:
        order, order_id = refunded
        act.ship(order, order_id)
        act.refund(order, order_id, act.items(order_id)[0], 1)
    asked = act.walmart_order([("WS-000011", 1, 8.0)])
    if asked:
        act.customer_cancels(*asked)
    timed = [r.seconds for r in act.results if r.seconds is not None]
    missed = [r.label for r in act.results if r.seconds is None]
    _say(f"  {len(timed)} of {len(act.results)} changes reached the other side, slowest {max(timed, default=0):.2f} s"
         + (f"; missed: {'; '.join(missed)}" if missed else "")
         + " (Channel Manager: up to 10 min for inventory, 5 min for price and shipments, 35 min for orders)")


def _lag_table(settings: Any) -> None:
    from operations.lag.cli import format_table, take_report

    _say("lag (walmart-sync lag):")
    report = take_report(settings, window_s=60.0, samples=1, gap_s=0.0)
    for line in format_table(report).splitlines():
        _say("  " + line)
