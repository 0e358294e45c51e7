"""Real Apache Kafka in KRaft mode, one broker or three, from jars Maven fetched into a cache.

Tansu (devstack/broker.py) starts in milliseconds but keeps topics in memory, has one node and
no security; this runs the broker production runs, for what only it can show: data that survives
a restart, replication with leader election after a SIGKILL, SASL/SCRAM and TLS listeners, and
the group and ListOffsets behaviour the lag code must be right about.

Every node is a combined controller+broker with its own ports, directory and ManagedProcess, so
a node can be killed, frozen or restarted alone; ports are fixed at construction because the
controller quorum is addressed by them. Secrets (the SCRAM password, the TLS key) live only in
0600 files, never in a child's argv: a `java @argfile` carries them to the storage
formatter, and Kafka prints password-typed settings as [hidden].
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.mariadb import free_port
from devstack.processes import ManagedProcess, wait_until
from devstack.throwaway_tls import write_ca_and_server_pem, write_private

_HERE = Path(__file__).resolve().parent
FETCH_SCRIPT = _HERE.parent / "scripts" / "fetch-apache-kafka.sh"
POM = _HERE / "apache-kafka" / "pom.xml"
SCRAM_MECHANISM = "SCRAM-SHA-512"
# A stray one of these would change the JVM (heap, agents, classpath) under the broker.
_JAVA_ENV = ("JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH")
# Two cores are shared by every server of a test run: small heaps, a serial collector, and the
# client compiler only (a test broker's time goes to starting up, not to hot loops).
DEFAULT_JVM_OPTIONS = ("-Xms64m", "-Xmx384m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                       "-XX:-UsePerfData", "-XX:+ExitOnOutOfMemoryError",
                       "-Djava.awt.headless=true")
_LOG4J2 = """\
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
"""


class ApacheKafkaUnavailable(RuntimeError):
    """Java 17, or Maven to fetch the jars once, is missing; the message says what to install."""


def kafka_version() -> str:
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    assert match, f"{POM} names no kafka.version"
    return match.group(1)


def _run_fetch_script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    if not FETCH_SCRIPT.is_file():
        raise ApacheKafkaUnavailable(
            f"{FETCH_SCRIPT} is missing: Apache Kafka needs a source checkout")
    return subprocess.run(["bash", str(FETCH_SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def unavailable_reason() -> str | None:
    """Why Apache Kafka cannot run here (one line naming what to install), or None when it can.
    Nothing is fetched: this is the check a backend choice or a test skip makes."""
    try:
        result = _run_fetch_script("--check", timeout=30)
    except ApacheKafkaUnavailable as exc:
        return str(exc)
    return None if result.returncode == 0 else _last_line(result.stderr)


def apache_kafka_available() -> bool:
    return unavailable_reason() is None


def ensure_kafka_libs(timeout: float = 600.0) -> Path:
    """The cached jars directory, fetching it first when this version was never fetched."""
    result = _run_fetch_script(timeout=timeout)
    if result.returncode != 0:
        raise ApacheKafkaUnavailable(_last_line(result.stderr))
    return Path(result.stdout.strip().splitlines()[-1])


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "fetch-apache-kafka.sh failed without a message"


@dataclass(frozen=True)
class ScramUser:
    username: str
    password: str = field(repr=False)


@dataclass
class KafkaNode:
    """One combined controller+broker: its ports, directory and, while it runs, its process."""

    node_id: int
    directory: Path
    port: int
    controller_port: int
    sasl_port: int | None = None
    ssl_port: int | None = None
    process: ManagedProcess | None = None

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def properties_path(self) -> Path:
        return self.directory / "server.properties"

    @property
    def log_path(self) -> Path:
        return self.directory / "kafka.log"

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()


class ApacheKafkaCluster:
    """``brokers`` combined KRaft nodes (1 or 3) on free 127.0.0.1 ports under ``base_dir``.

    ``replication_factor`` and ``min_insync_replicas`` are the broker defaults for topics created
    without them (auto-created ones included); internal topics always replicate min(3, brokers).
    ``sasl=True`` adds a SASL_PLAINTEXT listener with one SCRAM-SHA-512 user, ``ssl=True`` a TLS
    listener whose certificate a throwaway CA (``ssl_cafile``) signed. Auto-creation stays on by
    default, as on Tansu: the workers' dead-letter producers publish to topics nobody creates.
    """

    def __init__(
        self,
        base_dir: Path,
        brokers: int = 1,
        *,
        replication_factor: int | None = None,
        min_insync_replicas: int | None = None,
        partitions: int = 1,
        auto_create_topics: bool = True,
        sasl: bool = False,
        ssl: bool = False,
        scram_username: str = "walmart-sync",
        jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS,
        extra_properties: dict[str, str] | None = None,
    ):
        if brokers not in (1, 3):
            raise ValueError(f"brokers must be 1 or 3, got {brokers}")
        self.base_dir = base_dir
        self.brokers = brokers
        self.replication_factor = replication_factor or min(3, brokers)
        self.min_insync_replicas = min_insync_replicas or min(2, self.replication_factor)
        if not 1 <= self.min_insync_replicas <= self.replication_factor <= brokers:
            raise ValueError("need 1 <= min_insync_replicas <= replication_factor <= brokers")
        self.partitions = partitions
        self.auto_create_topics = auto_create_topics
        self.jvm_options = tuple(jvm_options)
        self.extra_properties = dict(extra_properties or {})
        self.cluster_id = _cluster_id()
        self.scram_user = ScramUser(scram_username, secrets.token_urlsafe(18)) if sasl else None
        self.ssl = ssl
        self.nodes: dict[int, KafkaNode] = {
            node_id: KafkaNode(
                node_id, base_dir / f"node-{node_id}", free_port(), free_port(),
                sasl_port=free_port() if sasl else None, ssl_port=free_port() if ssl else None,
            )
            for node_id in range(1, brokers + 1)
        }
        self._libs: Path | None = None
        self._admin_client: Any = None

    # -- addresses ------------------------------------------------------------------------------

    @property
    def bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{n.port}" for n in self.nodes.values())

    @property
    def sasl_bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{n.sasl_port}" for n in self.nodes.values() if n.sasl_port)

    @property
    def ssl_bootstrap_servers(self) -> str:
        return ",".join(f"127.0.0.1:{n.ssl_port}" for n in self.nodes.values() if n.ssl_port)

    @property
    def ssl_cafile(self) -> Path:
        return self.base_dir / "tls" / "ca.pem"

    def sasl_client_kwargs(self) -> dict[str, Any]:
        """kafka-python arguments for the SCRAM listener as the cluster's user."""
        if self.scram_user is None:
            raise RuntimeError("this cluster was made without sasl=True")
        return {"bootstrap_servers": self.sasl_bootstrap_servers,
                "security_protocol": "SASL_PLAINTEXT", "sasl_mechanism": SCRAM_MECHANISM,
                "sasl_plain_username": self.scram_user.username,
                "sasl_plain_password": self.scram_user.password}

    def ssl_client_kwargs(self) -> dict[str, Any]:
        """kafka-python arguments for the TLS listener, trusting the throwaway CA."""
        if not self.ssl:
            raise RuntimeError("this cluster was made without ssl=True")
        return {"bootstrap_servers": self.ssl_bootstrap_servers, "security_protocol": "SSL",
                "ssl_cafile": str(self.ssl_cafile), "ssl_check_hostname": True}

    # -- the shape TansuBroker has (devstack/stack.py uses either) --------------------------------

    @property
    def process(self) -> ManagedProcess | None:
        """Node 1's process: the whole broker of a one-node cluster."""
        return self.nodes[1].process

    def pids(self) -> list[int]:
        return [n.process.pid for n in self.nodes.values()
                if n.process and n.process.pid and n.is_running()]

    def start(self, node_id: int | None = None, timeout: float = 60.0) -> None:
        """Start every node in parallel (formatting storage the first time), or one stopped node;
        return once the cluster's metadata lists each started broker as registered and unfenced."""
        targets = list(self.nodes) if node_id is None else [node_id]
        if self._libs is None:
            self._libs = ensure_kafka_libs()
        self.base_dir.mkdir(parents=True, exist_ok=True)
        if self.ssl and not self.ssl_cafile.exists():
            write_ca_and_server_pem(self.base_dir / "tls")
        to_format = []
        for target in targets:
            node = self.nodes[target]
            if node.is_running():
                continue
            node.directory.mkdir(parents=True, exist_ok=True)
            write_private(node.properties_path, self._properties(node))
            if not (node.data_dir / "meta.properties").exists():
                to_format.append(node)
        launched = []
        try:
            self._format(to_format)
            for target in targets:
                if not self.nodes[target].is_running():
                    self._launch(self.nodes[target])
                    launched.append(target)
            self._wait_registered(targets, timeout)
        except BaseException:
            for target in launched:  # a half-started cluster would outlive a failed `with`
                self.stop(target, timeout=5)
            raise

    def stop(self, node_id: int | None = None, timeout: float = 15.0) -> None:
        """SIGTERM (a controlled shutdown, data flushed) one node or all of them in parallel.

        All three nodes of a quorum take ~5.5 s: whichever node leads the raft quorum last finds
        no voter to hand over to and waits out Kafka's fixed 5 s raft shutdown before it closes
        its logs, whatever the order. Killing it sooner would skip that close."""
        if node_id is None:
            self._close_admin()
            with ThreadPoolExecutor(max_workers=len(self.nodes)) as pool:
                list(pool.map(lambda n: n.process and n.process.stop(timeout), self.nodes.values()))
        elif (process := self.nodes[node_id].process) is not None:
            process.stop(timeout)

    def kill(self, node_id: int) -> None:
        """SIGKILL one node: no controlled shutdown, as when its machine dies."""
        process = self.nodes[node_id].process
        if process is not None:
            process.signal(signal.SIGKILL)
            process.stop(timeout=10)  # reaps it

    def pause(self, node_id: int | None = None) -> None:
        """Freeze one node or all (SIGSTOP): an unresponsive broker that still holds its sockets."""
        for node in self._selected(node_id):
            if node.process:
                node.process.signal(signal.SIGSTOP)

    def resume(self, node_id: int | None = None) -> None:
        for node in self._selected(node_id):
            if node.process:
                node.process.signal(signal.SIGCONT)

    def __enter__(self) -> ApacheKafkaCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- what tests ask the cluster --------------------------------------------------------------

    def partition_state(self, topic: str, partition: int) -> tuple[int | None, list[int]]:
        """(leader node id or None while there is none, in-sync replica ids) from fresh metadata."""
        with self._admin() as admin:
            for described in admin.describe_topics([topic]):
                for found in described["partitions"]:
                    if found["partition_index"] == partition:
                        leader = found["leader_id"]
                        return (leader if leader >= 0 else None), sorted(found["isr_nodes"])
        raise KeyError(f"{topic}[{partition}] not in the cluster's metadata")

    def leader_of(self, topic: str, partition: int) -> int | None:
        return self.partition_state(topic, partition)[0]

    def topics(self, prefix: str = "") -> list[str]:
        with self._admin() as admin:
            return sorted(t for t in admin.list_topics() if t.startswith(prefix))

    def under_replicated(self, topics: list[str]) -> list[str]:
        """``topic/partition`` of each partition of ``topics`` without a leader or with a replica
        out of its ISR, from one fresh metadata read: a rolling restart may take the next node
        down only once this is empty, or a partition would drop below min.insync.replicas."""
        with self._admin() as admin:
            described = admin.describe_topics(topics)
        lagging = []
        for topic in described:
            for found in topic["partitions"]:
                if found["leader_id"] < 0 or set(found["replica_nodes"]) - set(found["isr_nodes"]):
                    lagging.append(f"{topic['name']}/{found['partition_index']}")
        return sorted(lagging)

    def running_brokers(self) -> set[int]:
        """Ids of the brokers the controller has registered and not fenced."""
        with self._admin() as admin:
            described = admin.describe_cluster()
        return {b["broker_id"] for b in described["brokers"] if not b.get("is_fenced")}

    # -- internals -------------------------------------------------------------------------------

    def _selected(self, node_id: int | None) -> list[KafkaNode]:
        return list(self.nodes.values()) if node_id is None else [self.nodes[node_id]]

    def _properties(self, node: KafkaNode) -> str:
        internal_rf = min(3, self.brokers)
        internal_isr = min(2, internal_rf)
        listeners = {"PLAINTEXT": node.port, "CONTROLLER": node.controller_port}
        if node.sasl_port:
            listeners["SASL_PLAINTEXT"] = node.sasl_port
        if node.ssl_port:
            listeners["SSL"] = node.ssl_port
        advertised = {name: port for name, port in listeners.items() if name != "CONTROLLER"}
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes.values())
        props: dict[str, str] = {
            "process.roles": "broker,controller",
            "node.id": str(node.node_id),
            "controller.quorum.voters": voters,
            "listeners": ",".join(f"{name}://127.0.0.1:{port}" for name, port in listeners.items()),
            "advertised.listeners": ",".join(f"{n}://127.0.0.1:{p}" for n, p in advertised.items()),
            "listener.security.protocol.map": ",".join(
                f"{name}:{'PLAINTEXT' if name == 'CONTROLLER' else name}" for name in listeners),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "log.dirs": str(node.data_dir),
            "num.partitions": str(self.partitions),
            "default.replication.factor": str(self.replication_factor),
            "min.insync.replicas": str(self.min_insync_replicas),
            "auto.create.topics.enable": str(self.auto_create_topics).lower(),
            "offsets.topic.replication.factor": str(internal_rf),
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": str(internal_rf),
            "transaction.state.log.min.isr": str(internal_isr),
            "transaction.state.log.num.partitions": "5",
            "share.coordinator.state.topic.replication.factor": str(internal_rf),
            "share.coordinator.state.topic.min.isr": str(internal_isr),
            "group.initial.rebalance.delay.ms": "0",
            # A dead node is fenced, and leaves every ISR, in 3 s rather than 9 s; a lagging
            # follower after 5 s rather than 30 s, so acks=all writes do not stall behind it.
            "broker.heartbeat.interval.ms": "500",
            "broker.session.timeout.ms": "3000",
            "replica.lag.time.max.ms": "5000",
            "log.segment.bytes": str(16 * 1024 * 1024),
            "log.cleaner.dedupe.buffer.size": str(8 * 1024 * 1024),
            "num.network.threads": "2",
            "num.io.threads": "2",
            "background.threads": "2",
            "num.recovery.threads.per.data.dir": "1",
            "group.coordinator.threads": "1",
            "share.coordinator.threads": "1",
        }
        if node.sasl_port:
            props["sasl.enabled.mechanisms"] = SCRAM_MECHANISM
            # The server side of SCRAM needs a login module but no credentials of its own.
            props[f"listener.name.sasl_plaintext.{SCRAM_MECHANISM.lower()}.sasl.jaas.config"] = (
                "org.apache.kafka.common.security.scram.ScramLoginModule required;")
        if node.ssl_port:
            props["listener.name.ssl.ssl.keystore.type"] = "PEM"
            props["listener.name.ssl.ssl.keystore.location"] = str(
                self.base_dir / "tls" / "broker.pem")
            props["listener.name.ssl.ssl.client.auth"] = "none"
        props.update(self.extra_properties)
        return "".join(f"{key}={value}\n" for key, value in props.items())

    def _java(self, *args: str) -> list[str]:
        log4j = self.base_dir / "log4j2.properties"
        if not log4j.exists():
            log4j.write_text(_LOG4J2)
        return [_java_binary(), *self.jvm_options, f"-Dlog4j2.configurationFile={log4j}",
                "-cp", f"{self._libs}/*", *args]

    def _format(self, nodes: list[KafkaNode]) -> None:
        """``kafka-storage format`` for each new node, in parallel JVMs. The SCRAM credential goes
        in through an argfile only the formatter reads, then is deleted."""
        running: list[tuple[KafkaNode, Path, subprocess.Popen[str]]] = []
        try:
            for node in nodes:
                args = ["kafka.tools.StorageTool", "format", "--config", str(node.properties_path),
                        "--cluster-id", self.cluster_id]
                if user := self.scram_user:
                    args += ["--add-scram",
                             f"{SCRAM_MECHANISM}=[name={user.username},password={user.password}]"]
                argfile = node.directory / "format.args"
                write_private(argfile, "".join(f'"{a}"\n' for a in self._java(*args)[1:]))
                popen = subprocess.Popen(
                    [_java_binary(), f"@{argfile}"], stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_java_env())
                running.append((node, argfile, popen))
            for node, _, popen in running:
                output, _ = popen.communicate(timeout=120)
                if popen.returncode != 0:
                    # The formatter echoes the bootstrap records, SCRAM hashes included: not shown.
                    shown = [ln for ln in output.splitlines() if "Bootstrap metadata" not in ln]
                    raise RuntimeError(f"formatting kafka node {node.node_id} failed "
                                       f"({popen.returncode}): {' | '.join(shown[-8:])}")
        finally:
            for _, argfile, popen in running:
                if popen.poll() is None:
                    popen.kill()
                    popen.wait()
                argfile.unlink(missing_ok=True)

    def _launch(self, node: KafkaNode) -> None:
        node.process = ManagedProcess(
            f"kafka-{node.node_id}", self._java("kafka.Kafka", str(node.properties_path)),
            log_path=node.log_path, env=_java_env(), cwd=node.directory,
        )
        node.process.start()

    def _wait_registered(self, node_ids: list[int], timeout: float) -> None:
        # A check that sees a node gone ends the wait (wait_until would retry an exception).
        def exited() -> list[KafkaNode]:
            return [self.nodes[n] for n in node_ids if not self.nodes[n].is_running()]

        def listening() -> bool:
            for node_id in node_ids:
                with socket.create_connection(("127.0.0.1", self.nodes[node_id].port), timeout=1):
                    pass
            return True

        what = f"kafka node(s) {node_ids}"
        try:
            wait_until(lambda: exited() or listening(), timeout, what=f"{what} accepting connections")
            wait_until(lambda: exited() or set(node_ids) <= self.running_brokers(), timeout,
                       interval=0.1, what=f"{what} registered and unfenced")
        except TimeoutError as slow:  # say what the node was doing, not only that it was late
            tails = "\n".join(f"--- node {n} ({node.log_path}):\n{node.process.log_tail(25) if node.process else ''}"
                              for n, node in ((n, self.nodes[n]) for n in node_ids))
            raise TimeoutError(f"{slow}\n{tails}") from None
        if dead := exited():
            tail = dead[0].process.log_tail(40) if dead[0].process else ""
            raise RuntimeError(f"kafka node {dead[0].node_id} exited ({dead[0].log_path}):\n{tail}")

    @contextmanager
    def _admin(self) -> Iterator[Any]:
        """A shared admin client on the running nodes, dropped after any error (it may be holding
        connections to a node that was killed since)."""
        from kafka.admin import KafkaAdminClient

        if self._admin_client is None:
            running = [f"127.0.0.1:{n.port}" for n in self.nodes.values() if n.is_running()]
            self._admin_client = KafkaAdminClient(
                bootstrap_servers=running or self.bootstrap_servers,
                client_id="devstack-kafka-admin", request_timeout_ms=5000,
                bootstrap_timeout_ms=5000)
        try:
            yield self._admin_client
        except BaseException:
            self._close_admin()
            raise

    def _close_admin(self) -> None:
        admin, self._admin_client = self._admin_client, None
        if admin is not None:
            try:
                admin.close()
            except Exception:
                pass


def _cluster_id() -> str:
    """A random id as Kafka writes them (22 url-safe base64 characters), never starting with '-'
    (the storage tool would read it as an option, as Kafka's own Uuid.randomUuid() avoids)."""
    while (found := base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("="))[0] == "-":
        pass
    return found


def _java_binary() -> str:
    java = shutil.which("java")
    if not java:
        raise ApacheKafkaUnavailable(
            "java not found: install Java 17 with 'apt-get install -y openjdk-17-jre-headless'")
    return java


def _java_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _JAVA_ENV}
