"""`walmart-sync run`: every component in one process, one thread each.

Small deployments want one container; larger ones run `listen` and each `work <name>` apart and
scale workers through their consumer groups. Either way the components are the same objects.
If one component dies, the others are stopped and the process exits non-zero: a supervisor
(systemd, Kubernetes) restarting the whole process is safer than running half a sidecar, and
every component resumes from its own committed position.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from plumbing.logs import get_logger

if TYPE_CHECKING:
    from sync_workers.runtime.loop import WorkerLoop


@dataclass
class Component:
    name: str
    run: Callable[[], None]
    stop: Callable[[], None]
    ready: Callable[[], tuple[bool, str]]
    error: BaseException | None = field(default=None, init=False)


class Supervisor:
    def __init__(self, components: list[Component]):
        self.components = components
        self.log = get_logger("supervisor")
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []

    def _run_one(self, component: Component) -> None:
        try:
            component.run()
        except BaseException as exc:
            component.error = exc
            self.log.error("component failed; stopping the others", component=component.name,
                           error=f"{type(exc).__name__}: {exc}", exc_info=exc)  # redacted by the renderer
        finally:
            if not self._stopping.is_set():
                if component.error is None:
                    self.log.warning("component ended on its own; stopping the others", component=component.name)
                self.stop()

    def start(self) -> None:
        for component in self.components:
            thread = threading.Thread(target=self._run_one, args=(component,), name=component.name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self.log.info("running", components=[c.name for c in self.components])

    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        for component in self.components:
            try:
                component.stop()
            except Exception as exc:
                self.log.warning("stop failed", component=component.name, error=str(exc))

    def wait(self, timeout_s: float = 60.0) -> bool:
        """Block until stopped; True when every component ended cleanly."""
        while not self._stopping.wait(0.5):  # short waits keep the main thread's signal handlers live
            pass
        for thread in self._threads:
            thread.join(timeout_s)
        return all(c.error is None for c in self.components)

    @property
    def failed(self) -> list[str]:
        return [c.name for c in self.components if c.error is not None]


def listener_ready(listener: Any) -> tuple[bool, str]:
    """Ready once the binlog stream delivers (not merely holding the lock: a change committed
    before that may precede a ``--from current`` start position) and while caught up within
    ``ops.ready_max_lag_s``."""
    gaps = getattr(listener, "gaps", None)
    if listener.state == "active" and gaps is not None and gaps.open:
        return False, "active; records lost in Kafka, repair pending: " + gap_summary(gaps.open)
    if listener.state == "active" and not listener.streaming.is_set():
        return False, "active, connecting to the binlog"
    if listener.state == "active" and listener.behind_s > listener.settings.ops.ready_max_lag_s:
        return False, f"active, {listener.behind_s:.0f} s behind the binlog"
    return listener.state in ("active", "standby"), listener.state


def gap_summary(gaps: list[Any]) -> str:
    """Which families lost records, and who found it: readiness stays false until they are repaired."""
    return "; ".join(sorted({f"{g.family} (found by {g.detected_by})" for g in gaps}))


FAILING_NOT_READY_S = 30.0  # retrying this long: not ready (its dependencies are away)


def worker_ready(loop: WorkerLoop) -> tuple[bool, str]:
    """Ready once it has joined its consumer group (a change published from then on is consumed), and
    while its batches go through: one retrying for longer than FAILING_NOT_READY_S is up but not
    doing its job, and so is one out of its group or not consuming while records wait (the group
    watchdog, sync_workers/runtime/watchdog.py)."""
    if loop.gaps.open:
        return False, "records lost in Kafka, repair pending: " + gap_summary(loop.gaps.open)
    since = loop.failing_since
    if since is not None and time.monotonic() - since > FAILING_NOT_READY_S:
        return False, f"retrying for {time.monotonic() - since:.0f} s: {loop.last_error}"
    trouble = loop.group_trouble()
    if trouble is not None:  # joined once, but no longer consuming: the watchdog rebuilds the consumer
        return False, f"Kafka consumer {trouble}"
    if loop.assigned.is_set():
        return True, "consuming"
    return False, "joining its consumer group" if loop.running.is_set() else "starting"
