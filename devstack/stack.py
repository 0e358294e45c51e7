"""The embedded stack every test, the demo and the benchmarks run against.

Two backends behind one shape (``StackEndpoints``): local processes (private MariaDB + a Kafka
broker, the default and what CI uses) and, opt-in with ``WALMART_SYNC_STACK_BACKEND=docker`` when a
Docker engine runs, testcontainers' MySQL 8 and Apache Kafka. The local backend's broker is
``WALMART_SYNC_KAFKA=apache|tansu``: real Apache Kafka (devstack/apache_kafka.py) by default
wherever Java 17 and Maven (or its cached jars) are there, Tansu otherwise.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol

from devstack.apache_kafka import ApacheKafkaCluster, apache_kafka_available
from devstack.broker import TansuBroker
from devstack.mariadb import MariaDBServer, MySqlEndpoint
from devstack.processes import pid_alive

STACK_DIR_PREFIX = "walmart-sync-stack-"
BACKEND_ENV = "WALMART_SYNC_STACK_BACKEND"
KAFKA_ENV = "WALMART_SYNC_KAFKA"


@dataclass(frozen=True)
class StackEndpoints:
    mysql: MySqlEndpoint
    bootstrap_servers: str


class Stack(Protocol):
    endpoints: StackEndpoints

    def start(self) -> Stack: ...

    def stop(self) -> None: ...

    def __enter__(self) -> Stack: ...

    def __exit__(self, *exc: object) -> None: ...


def sweep_stale_stack_dirs(root: Path | None = None) -> list[Path]:
    """Remove data dirs left by stacks whose owner was killed (their servers died with it)."""
    root = root or Path(tempfile.gettempdir())
    removed = []
    for candidate in root.glob(f"{STACK_DIR_PREFIX}*"):
        owner_file = candidate / "owner.pid"
        try:
            owner = int(owner_file.read_text().strip())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not pid_alive(owner):
            shutil.rmtree(candidate, ignore_errors=True)
            removed.append(candidate)
    return removed


def kafka_backend(choice: str | None = None) -> str:
    """``apache`` or ``tansu``: the choice, else $WALMART_SYNC_KAFKA, else Apache Kafka where it
    can run (the broker production runs beats a stand-in whenever it is to be had)."""
    chosen = (choice or os.environ.get(KAFKA_ENV) or "").lower()
    if not chosen:
        return "apache" if apache_kafka_available() else "tansu"
    if chosen not in ("apache", "tansu"):
        raise ValueError(f"{KAFKA_ENV} must be 'apache' or 'tansu', got {chosen!r}")
    return chosen


def make_broker(base_dir: Path, backend: str | None = None, brokers: int = 1) -> TansuBroker | ApacheKafkaCluster:
    """A broker of the chosen backend: one node, or a three-node Apache Kafka cluster (replication
    factor 3, min.insync.replicas 2), which Tansu cannot be. An explicit ``apache`` where Java or
    Maven is missing fails at start with what to install."""
    if brokers != 1:
        if kafka_backend(backend or "apache") != "apache":
            raise ValueError(f"{brokers} brokers need Apache Kafka; Tansu runs one node")
        return ApacheKafkaCluster(base_dir, brokers=brokers)
    if kafka_backend(backend) == "apache":
        return ApacheKafkaCluster(base_dir)
    return TansuBroker(base_dir)


class LocalStack:
    """Private MariaDB (ROW binlog) + a ``make_broker`` broker in one temp dir, removed on stop."""

    def __init__(
        self, base_dir: Path | None = None, keep_dir: bool = False, kafka: str | None = None, brokers: int = 1
    ):
        self._own_dir = base_dir is None
        self.keep_dir = keep_dir
        self.base_dir = base_dir or Path(tempfile.mkdtemp(prefix=STACK_DIR_PREFIX))
        self.mariadb = MariaDBServer(self.base_dir / "mariadb")
        self.broker = make_broker(self.base_dir / "broker", kafka, brokers)

    @property
    def endpoints(self) -> StackEndpoints:
        return StackEndpoints(self.mariadb.endpoint, self.broker.bootstrap_servers)

    def pids(self) -> list[int]:
        brokers = self.broker.pids() if isinstance(self.broker, ApacheKafkaCluster) else \
            [p.pid for p in (self.broker.process,) if p and p.pid]
        return [p.pid for p in (self.mariadb.process,) if p and p.pid] + brokers

    def start(self) -> LocalStack:
        sweep_stale_stack_dirs(self.base_dir.parent)
        self.base_dir.mkdir(parents=True, exist_ok=True)
        (self.base_dir / "owner.pid").write_text(str(os.getpid()))
        try:
            self.broker.start()
            self.mariadb.start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        try:
            self.broker.stop()
        finally:
            self.mariadb.stop()
            if self._own_dir and not self.keep_dir:
                shutil.rmtree(self.base_dir, ignore_errors=True)

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def docker_available() -> bool:
    try:
        import docker

        docker.from_env(timeout=3).ping()
        return True
    except Exception:
        return False


class DockerStack:
    """MySQL 8 + Apache Kafka through testcontainers, for when a Docker engine is present."""

    MYSQL_IMAGE = "mysql:8.0"
    KAFKA_IMAGE = "confluentinc/cp-kafka:7.6.1"

    def __init__(self) -> None:
        self._mysql = None
        self._kafka = None
        self.endpoints: StackEndpoints

    def start(self) -> DockerStack:
        from testcontainers.kafka import KafkaContainer
        from testcontainers.mysql import MySqlContainer

        mysql = MySqlContainer(self.MYSQL_IMAGE, root_password="root").with_command(
            "--log-bin=binlog --binlog-format=ROW --binlog-row-image=FULL "
            "--binlog-row-metadata=FULL --server-id=1 --gtid-mode=ON --enforce-gtid-consistency=ON"
        )
        kafka = KafkaContainer(self.KAFKA_IMAGE)
        self._mysql, self._kafka = mysql, kafka
        try:
            mysql.start()
            kafka.start()
        except BaseException:
            self.stop()
            raise
        self.endpoints = StackEndpoints(
            MySqlEndpoint(
                mysql.get_container_host_ip(), int(mysql.get_exposed_port(3306)), "root", "root"
            ),
            kafka.get_bootstrap_server(),
        )
        return self

    def stop(self) -> None:
        for container in (self._kafka, self._mysql):
            if container is not None:
                try:
                    container.stop()
                except Exception:
                    pass

    def __enter__(self) -> DockerStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_stack(backend: str | None = None) -> LocalStack | DockerStack:
    """The stack the environment asks for; ``local`` unless told otherwise."""
    chosen = (backend or os.environ.get(BACKEND_ENV) or "local").lower()
    if chosen == "local":
        return LocalStack()
    if chosen == "docker":
        if not docker_available():
            raise RuntimeError(f"{BACKEND_ENV}=docker but no Docker engine answers")
        return DockerStack()
    raise ValueError(f"{BACKEND_ENV} must be 'local' or 'docker', got {chosen!r}")
