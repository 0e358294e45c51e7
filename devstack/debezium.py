"""Real Debezium (3.6.1, embedded engine, MySQL connector) from Maven jars, feeding real Kafka.

A team that already runs Debezium feeds the sidecar through its change topics (the `debezium`
source, cdc_debezium/); the tests and the throughput benchmark need the real thing beside the
test MariaDB and Kafka. scripts/fetch-debezium.sh builds devstack/debezium (Debezium's embedded
engine plus a small main that produces each record into Kafka as a Kafka Connect worker would:
topic ``<topic.prefix>.<db>.<table>``, Kafka Connect's JSON converter, offsets committed after
Kafka acknowledged) into a cache; this starts and stops it.

The registry reached here does not serve io.debezium:debezium-connector-mariadb 3.6.1.Final, so the
MySQL connector runs; it reads MariaDB 10.11's binlog by file and position.

Secrets: the database password is written only to a 0600 properties file the JVM reads; the
command line holds its path.
"""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from devstack.apache_kafka import DEFAULT_JVM_OPTIONS, _java_binary, _java_env
from devstack.mariadb import MySqlEndpoint
from devstack.processes import ManagedProcess, wait_until
from devstack.stack import StackEndpoints
from devstack.throwaway_tls import write_private

_HERE = Path(__file__).resolve().parent
FETCH_SCRIPT = _HERE.parent / "scripts" / "fetch-debezium.sh"
CONNECTOR_CLASS = "io.debezium.connector.mysql.MySqlConnector"
# mariadbd options for a server Debezium's MySQL connector reads. The connector takes a server of
# version 8.4 or later for a MySQL that has SHOW BINARY LOG STATUS, and refuses to go on when that
# fails: MariaDB 10.11 (10 >= 8) has SHOW MASTER STATUS only. A MariaDB that reports an 8.0 version
# (and still says MariaDB, which the binlog client reads to speak MariaDB's replication protocol)
# takes the SHOW MASTER STATUS path. Debezium's MariaDB connector would need none of this, but
# 3.6.1.Final of it is not served by the registry reached here.
DEBEZIUM_MARIADB_ARGS = ("--version=8.0.0-MariaDB-10.11-for-debezium",)
_LOG4J2 = """\
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
logger.kafka.name = org.apache.kafka
logger.kafka.level = WARN
"""


class DebeziumUnavailable(RuntimeError):
    """Java 17 with javac, or Maven to build the runner once, is missing; the message says what."""


def _run_fetch_script(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    if not FETCH_SCRIPT.is_file():
        raise DebeziumUnavailable(f"{FETCH_SCRIPT} is missing: Debezium needs a source checkout")
    return subprocess.run(["bash", str(FETCH_SCRIPT), *args], capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL, check=False)


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1] if lines else "fetch-debezium.sh failed without a message"


def unavailable_reason() -> str | None:
    """Why Debezium cannot run here (one line naming what to install), or None when it can."""
    try:
        result = _run_fetch_script("--check", timeout=30)
    except DebeziumUnavailable as exc:
        return str(exc)
    return None if result.returncode == 0 else _last_line(result.stderr)


def ensure_debezium_libs(timeout: float = 900.0) -> Path:
    """The cached jars directory, building the runner first when this version was never built."""
    result = _run_fetch_script(timeout=timeout)
    if result.returncode != 0:
        raise DebeziumUnavailable(_last_line(result.stderr))
    return Path(result.stdout.strip().splitlines()[-1])


def _escape(value: str) -> str:
    """A value as java.util.Properties reads it back unchanged."""
    out = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    out = out.replace("=", "\\=").replace(":", "\\:").replace("#", "\\#").replace("!", "\\!")
    return "\\" + out if out.startswith(" ") else out


@dataclass(frozen=True)
class DebeziumStatus:
    """What the runner last wrote to its status file (counts are of this process's life)."""

    acked: int = 0  # data records (rows of captured tables, tombstones excluded) Kafka acknowledged
    records: int = 0  # every record acknowledged, schema changes and transaction markers too
    first_batch: int = 0  # data records in the first batch acknowledged (its time starts the span)
    first_ack_ms: int = 0
    last_ack_ms: int = 0
    state: str = "absent"


@dataclass
class DebeziumRunner:
    """One Debezium embedded engine process; offsets and schema history live in ``workdir``, so
    ``stop()`` then ``start()`` resumes where the acknowledged records end.

    ``snapshot_mode``: ``no_data`` (what the sidecar's tests use: schemas only, then the binlog
    from its current end) or ``recovery`` with ``start_binlog`` (no snapshot: the current schema,
    then the binlog from that file's position, as the benchmark reads it; Debezium 3.6 has no
    ``never`` mode)."""

    endpoint: MySqlEndpoint
    bootstrap_servers: str
    database: str
    tables: list[str]
    workdir: Path
    topic_prefix: str = "commerce"
    schemas_enable: bool = False
    snapshot_mode: str = "no_data"
    decimal_handling_mode: str = "string"
    start_binlog: tuple[str, int] | None = None  # where a first start streams from (recovery mode)
    server_id: int = field(default_factory=lambda: random.randint(5400, 6400))
    jvm_options: tuple[str, ...] = DEFAULT_JVM_OPTIONS
    process: ManagedProcess | None = None

    @property
    def properties_path(self) -> Path:
        return self.workdir / "debezium.properties"

    @property
    def status_path(self) -> Path:
        return self.workdir / "status"

    @property
    def log_path(self) -> Path:
        return self.workdir / "debezium.log"

    def topic(self, table: str) -> str:
        return f"{self.topic_prefix}.{self.database}.{table}"

    def connector_properties(self) -> dict[str, str]:
        """The connector's configuration, as a team would deploy it for the sidecar (without the
        password): docs/cdc-listener.md "Using an existing Debezium" shows the same."""
        include = ",".join(f"{self.database}\\.{t}" for t in self.tables)
        return {
            "name": f"walmart-sync-{self.topic_prefix}",
            "connector.class": CONNECTOR_CLASS,
            "database.hostname": self.endpoint.host,
            "database.port": str(self.endpoint.port),
            "database.user": self.endpoint.user,
            "database.server.id": str(self.server_id),
            "topic.prefix": self.topic_prefix,
            "database.include.list": self.database,
            "table.include.list": include,
            "snapshot.mode": self.snapshot_mode,
            "snapshot.locking.mode": "none",
            "include.schema.changes": "true",
            "provide.transaction.metadata": "true",
            "tombstones.on.delete": "true",
            "decimal.handling.mode": self.decimal_handling_mode,
            "poll.interval.ms": "50",
        }

    def _write_properties(self) -> None:
        props = self.connector_properties()
        props.update({
            "database.password": self.endpoint.password,
            "offset.storage": "org.apache.kafka.connect.storage.FileOffsetBackingStore",
            "offset.storage.file.filename": str(self.workdir / "offsets.dat"),
            "offset.flush.interval.ms": "0",
            "schema.history.internal": "io.debezium.storage.file.history.FileSchemaHistory",
            "schema.history.internal.file.filename": str(self.workdir / "schema-history.dat"),
            "runner.bootstrap.servers": self.bootstrap_servers,
            "runner.schemas.enable": "true" if self.schemas_enable else "false",
            "runner.status.file": str(self.status_path),
        })
        if self.start_binlog is not None:
            props["runner.start.binlog.file"], props["runner.start.binlog.pos"] = (
                self.start_binlog[0], str(self.start_binlog[1]))
        write_private(self.properties_path, "".join(f"{k}={_escape(v)}\n" for k, v in props.items()))

    def start(self, timeout: float = 120.0) -> None:
        """Start the engine and wait until it has acknowledged its first record (for ``no_data``
        the schema snapshot's, after which every change is captured) or, when resuming or with
        ``never``, until it runs."""
        libs = ensure_debezium_libs()
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_properties()
        self.status_path.unlink(missing_ok=True)
        log4j = self.workdir / "log4j2.properties"
        log4j.write_text(_LOG4J2)
        resuming = (self.workdir / "offsets.dat").exists()
        self.process = ManagedProcess(
            f"debezium-{self.topic_prefix}",
            [_java_binary(), *self.jvm_options, f"-Dlog4j2.configurationFile={log4j}",
             "-cp", f"{libs}/*", "walmartsync.devstack.DebeziumToKafka", str(self.properties_path)],
            log_path=self.log_path, env=_java_env(), cwd=self.workdir)
        self.process.start()

        def ready() -> bool:
            if not self.is_running():
                raise RuntimeError(f"debezium exited ({self.process.exit_code() if self.process else None}): "
                                   f"{self.process.log_tail(30) if self.process else ''}")
            status = self.status()
            if status.state == "failed":
                raise RuntimeError(f"debezium failed: {self.process.log_tail(30) if self.process else ''}")
            if self.snapshot_mode == "no_data" and not resuming:
                return status.records > 0
            return status.state in ("starting", "running")

        self._wait(ready, timeout, "debezium started")

    def _wait(self, check: object, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if check():  # type: ignore[operator]
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{what}: not within {timeout}s; log: "
                                   f"{self.process.log_tail(20) if self.process else ''}")
            time.sleep(0.05)

    def status(self) -> DebeziumStatus:
        try:
            text = self.status_path.read_text()
        except OSError:
            return DebeziumStatus()
        values = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
        return DebeziumStatus(int(values.get("acked", 0)), int(values.get("records", 0)),
                              int(values.get("first_batch", 0)),
                              int(values.get("first_ack_ms", 0)), int(values.get("last_ack_ms", 0)),
                              values.get("state", "absent"))

    def is_running(self) -> bool:
        return self.process is not None and self.process.is_running()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM: the engine stops after its batch in hand, offsets of acknowledged records kept."""
        if self.process is not None:
            self.process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL: a crash; records produced but not yet in the offsets are produced again."""
        if self.process is not None:
            self.process.kill()

    def __enter__(self) -> DebeziumRunner:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def measure_rows_per_second(endpoints: StackEndpoints, database: str,
                            tables: list[str], expected_records: int, workdir: Path,
                            timeout_s: float, start: tuple[str, int] | None = None) -> float:
    """Debezium's throughput on a binlog already written: rows/s from its first to its
    ``expected_records``-th data record acknowledged by Kafka (acknowledgements are per batch of up
    to 2,048 records: the rows after the first batch over the time from its acknowledgement to the
    one that reached ``expected_records``).

    Reads the binlog from ``start`` (file, position; by default the first file's start) with no
    snapshot data (``snapshot.mode=recovery`` from an offset naming that position: the schema is read
    as it is now, so the tables' columns should not have changed in the binlog measured), the same
    table include list and broker as the listener it is compared with; a fresh ``workdir`` (its
    offsets) each call. JVM start-up and connecting are outside the measured span. The server must
    have been started with ``DEBEZIUM_MARIADB_ARGS`` (MariaDBServer(..., extra_args=...))."""
    if start is None:
        conn = endpoints.mysql.connect()
        try:
            with conn.cursor() as cur:
                cur.execute("SHOW BINARY LOGS")
                start = (str(cur.fetchone()[0]), 4)
        finally:
            conn.close()
    runner = DebeziumRunner(endpoints.mysql, endpoints.bootstrap_servers, database, list(tables), workdir,
                            topic_prefix=f"bench{random.randint(0, 1_000_000)}", snapshot_mode="recovery",
                            start_binlog=start,
                            jvm_options=tuple(o for o in DEFAULT_JVM_OPTIONS if "TieredStopAtLevel" not in o))
    try:
        runner.start(timeout=min(timeout_s, 120.0))
        wait_until(lambda: runner.status().acked >= expected_records or runner.status().state == "failed"
                   or not runner.is_running(), timeout=timeout_s, interval=0.02,
                   what=f"debezium acknowledged {expected_records} records")
        status = runner.status()
        if status.acked < expected_records:
            raise RuntimeError(f"debezium stopped after {status.acked} of {expected_records} records: "
                               f"{runner.process.log_tail(20) if runner.process else ''}")
        span_s = (status.last_ack_ms - status.first_ack_ms) / 1000
        if span_s <= 0:  # all in one batch: no span to time
            raise RuntimeError(f"debezium delivered all {status.acked} records in one batch; "
                               "measure a longer binlog")
        return (status.acked - status.first_batch) / span_s
    finally:
        runner.stop()
