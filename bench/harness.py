"""What the end-to-end benchmarks share: a seeded Commerce database, the Walmart emulator (at
Walmart's published limits, optionally time-scaled), the listener and chosen workers, all real
and in this process (the listener's publisher is its own process, as in production).

Time scaling divides every Walmart duration (bucket refill, feed processing) by ``time_scale``;
the sidecar's client is told the same scaled limits through its ordinary rate-limit overrides,
as an operator would for a seller with raised limits.
"""

from __future__ import annotations

import statistics
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cdc_listener.listener import Listener
from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.stack import LocalStack
from devstack.walmart_emulator.app import WalmartEmulator, client_rate_limits
from devstack.walmart_emulator.server import EmulatorServer
from sync_workers.runtime.loop import WorkerLoop
from walmart_sync.components import build_worker

CLIENT = ("local-client", "local-secret")


scaled_rate_limits = client_rate_limits


@dataclass
class Pipeline:
    env: CommerceEnvironment
    settings: Any
    app: WalmartEmulator
    emulator: EmulatorServer
    listener: Listener
    workers: dict[str, WorkerLoop]


@contextmanager
def pipeline(products: int, worker_names: list[str], time_scale: float = 1.0,
             feed_delays_s: tuple[float, float] = (1.0, 2.0), app_class: type[WalmartEmulator] = WalmartEmulator,
             **overrides: dict[str, Any]) -> Iterator[Pipeline]:
    with LocalStack() as stack:
        env = prepare_environment(stack.endpoints, stack.base_dir / "bench", "open_source", products)
        app = app_class({CLIENT[0]: CLIENT[1]}, time_scale=time_scale, feed_delays_s=feed_delays_s)
        app.seed_items(CLIENT[0], [f"WS-{n:06d}" for n in range(1, products + 1)])
        with EmulatorServer(app) as emulator:
            sections: dict[str, dict[str, Any]] = {
                "walmart": {"base_url": emulator.url, "client_id": CLIENT[0], "client_secret": CLIENT[1],
                            "rate_limits": scaled_rate_limits(time_scale)},
                # the shipped workers.coalesce_ms (200): a benchmark that waits less flatters the latency
                "workers": {"feed_poll_s": 0.5},
                "cdc": {"checkpoint_interval_ms": 100},
            }
            for section, values in overrides.items():
                sections[section] = {**sections.get(section, {}), **values}
            settings = env.settings(**sections)
            listener = Listener(settings)
            threads = [threading.Thread(target=listener.run, daemon=True)]
            threads[0].start()
            listener.streaming.wait(60)
            loops = {name: build_worker(name, settings) for name in worker_names}
            for loop in loops.values():
                threads.append(threading.Thread(target=loop.run, daemon=True))
                threads[-1].start()
            for loop in loops.values():
                loop.running.wait(60)
            try:
                yield Pipeline(env, settings, app, emulator, listener, loops)
            finally:
                for loop in loops.values():
                    loop.stop()
                listener.stop()
                for thread in threads:
                    thread.join(30)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, int(round(fraction * len(ordered))) - 1))]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": round(statistics.median(values), 1), "p99": round(percentile(values, 0.99), 1),
            "max": round(max(values), 1)}


def print_table(rows: list[tuple[str, Any, str]]) -> None:
    print(f"{'figure':<22}{'value':>12}  target")
    for name, value, target in rows:
        print(f"{name:<22}{value!s:>12}  {target}")
