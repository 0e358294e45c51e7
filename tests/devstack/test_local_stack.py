"""The embedded stack: real servers that start, answer, and never outlive their owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer
from kafka.admin import KafkaAdminClient, NewTopic

from devstack.processes import pid_alive, wait_until
from devstack.stack import STACK_DIR_PREFIX, LocalStack, sweep_stale_stack_dirs
from tests.support.paths import REPO_ROOT


def _wait_dead(pids: list[int], timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = [p for p in pids if pid_alive(p)]
        if not alive:
            return []
        time.sleep(0.1)
    return [p for p in pids if pid_alive(p)]


def test_start_answers_with_row_binlog_and_stops_clean() -> None:
    stack = LocalStack().start()
    try:
        pids = stack.pids()
        assert len(pids) == 2 and all(pid_alive(p) for p in pids)
        with stack.endpoints.mysql.connect() as conn, conn.cursor() as cur:
            cur.execute("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, "
                        "@@binlog_row_metadata, @@version")
            log_bin, fmt, image, metadata, version = cur.fetchone()
        assert (log_bin, fmt, image, metadata) == (1, "ROW", "FULL", "FULL")
        assert version.startswith("10.11")
        base_dir = stack.base_dir
    finally:
        stack.stop()
    assert _wait_dead(pids, timeout=1) == [], "stop() must reap both servers before returning"
    assert not base_dir.exists()


def test_kafka_message_round_trips_through_a_consumer_group(endpoints) -> None:
    topic = f"roundtrip-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=endpoints.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 3, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=endpoints.bootstrap_servers, acks="all",
                             enable_idempotence=True)
    sent = {f"sku-{n}".encode(): f"qty={n}".encode() for n in range(20)}
    for key, value in sent.items():
        producer.send(topic, key=key, value=value)
    producer.flush(10)
    producer.close()

    def consume(group: str) -> dict[bytes, bytes]:
        consumer = KafkaConsumer(topic, bootstrap_servers=endpoints.bootstrap_servers,
                                 group_id=group, auto_offset_reset="earliest",
                                 enable_auto_commit=False, session_timeout_ms=6000,
                                 heartbeat_interval_ms=2000, consumer_timeout_ms=15000)
        got = {}
        for record in consumer:
            got[record.key] = record.value
            if len(got) == len(sent):
                break
        consumer.commit()
        consumer.close()
        return got

    assert consume("g1") == sent
    # The committed offsets survive: the same group sees nothing new on a second run.
    consumer = KafkaConsumer(topic, bootstrap_servers=endpoints.bootstrap_servers, group_id="g1",
                             enable_auto_commit=False, session_timeout_ms=6000,
                             heartbeat_interval_ms=2000, consumer_timeout_ms=5000)
    assert [r for r in consumer] == []
    consumer.close()


OWNER_SCRIPT = textwrap.dedent("""
    import sys, time
    from devstack.stack import LocalStack
    stack = LocalStack().start()
    print(stack.base_dir, *stack.pids(), flush=True)
    time.sleep(600)
""")


def test_servers_die_with_a_killed_owner_and_its_dir_is_swept() -> None:
    owner = subprocess.Popen([sys.executable, "-c", OWNER_SCRIPT], stdout=subprocess.PIPE,
                             text=True, cwd=REPO_ROOT)
    try:
        line = owner.stdout.readline().split()
        assert len(line) == 3, f"owner did not start a stack: {line}"
        base_dir, pids = Path(line[0]), [int(p) for p in line[1:]]
        assert all(pid_alive(p) for p in pids)
        owner.send_signal(signal.SIGKILL)
        owner.wait(10)
        assert _wait_dead(pids) == [], "servers outlived their kill -9'd owner"
        assert base_dir.exists() and base_dir.name.startswith(STACK_DIR_PREFIX)
        assert base_dir in sweep_stale_stack_dirs(base_dir.parent)
        assert not base_dir.exists()
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


def test_interrupted_start_leaves_nothing(monkeypatch) -> None:
    """A failure half-way through start() (here: MariaDB cannot start) stops the broker too."""
    stack = LocalStack()

    def broken_start(*_a, **_k):
        raise RuntimeError("mariadbd exited: simulated")

    monkeypatch.setattr(stack.mariadb, "start", broken_start)
    try:
        stack.start()
    except RuntimeError:
        pass
    broker_pid = stack.broker.process.pid
    assert _wait_dead([broker_pid], timeout=1) == []
    assert not stack.base_dir.exists()


def test_broker_pause_and_resume_keeps_data(stack) -> None:
    topic = f"pause-{uuid.uuid4().hex[:8]}"
    admin = KafkaAdminClient(bootstrap_servers=stack.endpoints.bootstrap_servers)
    admin.create_topics([NewTopic(topic, 1, 1)])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=stack.endpoints.bootstrap_servers, acks="all")
    producer.send(topic, b"before").get(10)
    stack.broker.pause()
    try:
        def stopped() -> bool:
            with open(f"/proc/{stack.broker.process.pid}/stat") as stat:
                return stat.read().rsplit(")", 1)[1].split()[0] == "T"

        wait_until(stopped, timeout=5, what="broker in stopped state")
    finally:
        stack.broker.resume()
    producer.send(topic, b"after").get(15)
    producer.close()
    consumer = KafkaConsumer(topic, bootstrap_servers=stack.endpoints.bootstrap_servers,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)
    assert [r.value for r in consumer] == [b"before", b"after"]
    consumer.close()


def test_no_process_runs_from_a_stopped_stack_dir() -> None:
    """Belt and braces over the whole session: no mariadbd/tansu of a removed stack dir."""
    leftovers = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if STACK_DIR_PREFIX in cmdline and "mariadbd" in cmdline:
            datadir = next((a.split("=", 1)[1] for a in cmdline.split() if a.startswith("--datadir=")), "")
            if datadir and not Path(datadir).exists():
                leftovers.append((entry.name, cmdline[:120]))
    assert leftovers == [], leftovers
    assert os.getpid() > 0
