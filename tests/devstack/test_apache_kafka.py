"""Real Apache Kafka (KRaft) from devstack.apache_kafka: what the Tansu broker cannot show.

A three-node cluster keeps acks=all writes and a consumer group going when the partition leader
is SIGKILLed, and the killed node comes back with its data; a one-node cluster keeps topics and
committed offsets across a restart and refuses clients without the SCRAM password or the CA.
Skipped, with the reason, where Java 17 (or Maven, before the jars are cached) is missing;
under CI=true that is a failure instead, so CI cannot go green without running them.
"""

from __future__ import annotations

import logging
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import KafkaTimeoutError

from devstack.apache_kafka import ApacheKafkaCluster, ApacheKafkaUnavailable, unavailable_reason
from devstack.processes import wait_until

pytestmark = pytest.mark.slow


def _require_apache_kafka() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but Apache Kafka cannot run here: {reason}")
    pytest.skip(f"Apache Kafka cannot run here: {reason}")


@pytest.fixture(scope="module")
def single(tmp_path_factory) -> Iterator[ApacheKafkaCluster]:
    _require_apache_kafka()
    with ApacheKafkaCluster(tmp_path_factory.mktemp("kafka1"), brokers=1,
                            sasl=True, ssl=True) as cluster:
        yield cluster


@pytest.fixture(scope="module")
def trio(tmp_path_factory) -> Iterator[ApacheKafkaCluster]:
    _require_apache_kafka()
    with ApacheKafkaCluster(tmp_path_factory.mktemp("kafka3"), brokers=3, replication_factor=3,
                            min_insync_replicas=2) as cluster:
        yield cluster


def _topic() -> str:
    return f"t_{uuid.uuid4().hex[:8]}"


def _create(bootstrap: str, topic: str, partitions: int = 1, replicas: int = 1,
            configs: dict[str, str] | None = None) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        admin.create_topics([NewTopic(topic, partitions, replicas, topic_configs=configs or {})])
    finally:
        admin.close()


def _producer(bootstrap: str, **kwargs) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True,
                         request_timeout_ms=5000, delivery_timeout_ms=30000, **kwargs)


def _produce(producer: KafkaProducer, topic: str, values: list[bytes]) -> None:
    for future in [producer.send(topic, value) for value in values]:
        future.get(timeout=30)


def _consume(consumer: KafkaConsumer, count: int, timeout: float = 30.0) -> list[bytes]:
    got: list[bytes] = []

    def enough() -> bool:
        for records in consumer.poll(timeout_ms=200).values():
            got.extend(r.value for r in records)
        return len(got) >= count

    wait_until(enough, timeout, interval=0, what=f"{count} records consumed")
    return got


def _group_consumer(bootstrap: str, topic: str, group: str) -> KafkaConsumer:
    return KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                         enable_auto_commit=False, auto_offset_reset="earliest",
                         session_timeout_ms=6000, heartbeat_interval_ms=1000,
                         request_timeout_ms=10000)


def test_leader_sigkill_elects_a_new_leader_and_the_node_rejoins_with_its_data(trio) -> None:
    topic = _topic()
    _create(trio.bootstrap_servers, topic, replicas=3, configs={"min.insync.replicas": "2"})
    wait_until(lambda: trio.partition_state(topic, 0)[1] == [1, 2, 3], 20, what="ISR of all three")
    producer = _producer(trio.bootstrap_servers)
    consumer = _group_consumer(trio.bootstrap_servers, topic, f"g_{topic}")
    try:
        before = [f"before-{n}".encode() for n in range(50)]
        _produce(producer, topic, before)
        assert _consume(consumer, 50) == before
        consumer.commit()

        old_leader = trio.leader_of(topic, 0)
        assert old_leader is not None
        trio.kill(old_leader)
        wait_until(lambda: trio.leader_of(topic, 0) not in (None, old_leader), 30,
                   interval=0.2, what="a new leader elected")
        _, isr = trio.partition_state(topic, 0)
        assert old_leader not in isr and len(isr) == 2  # min.insync.replicas=2 still met

        after = [f"after-{n}".encode() for n in range(50)]
        _produce(producer, topic, after)  # acks=all with two in-sync replicas
        assert _consume(consumer, 50) == after  # the group goes on, its coordinator may have moved
        consumer.commit()
        tp = TopicPartition(topic, 0)
        assert consumer.committed(tp) == 100

        trio.start(old_leader)
        wait_until(lambda: old_leader in trio.partition_state(topic, 0)[1], 30, interval=0.2,
                   what=f"node {old_leader} back in the ISR")
        # Make the restarted node the leader again (it was the preferred replica), then read
        # everything from it: it kept what it had and caught up on what it missed.
        admin = KafkaAdminClient(bootstrap_servers=trio.bootstrap_servers)
        try:
            admin.elect_leaders(0, {topic: [0]})
        finally:
            admin.close()
        wait_until(lambda: trio.leader_of(topic, 0) == old_leader, 20, interval=0.2,
                   what=f"node {old_leader} leading again")
        reader = KafkaConsumer(bootstrap_servers=trio.bootstrap_servers, enable_auto_commit=False)
        try:
            reader.assign([tp])
            reader.seek_to_beginning(tp)
            assert _consume(reader, 100) == before + after
        finally:
            reader.close()
    finally:
        consumer.close()
        producer.close()


def test_topics_and_committed_offsets_survive_a_broker_restart(single) -> None:
    topic, group = _topic(), f"g_{uuid.uuid4().hex[:6]}"
    _create(single.bootstrap_servers, topic, partitions=2)
    producer = _producer(single.bootstrap_servers)
    _produce(producer, topic, [f"m{n}".encode() for n in range(20)])
    producer.close()
    consumer = _group_consumer(single.bootstrap_servers, topic, group)
    assert len(_consume(consumer, 20)) == 20
    consumer.commit()
    consumer.close()

    single.stop(1)
    single.start(1)

    reader = KafkaConsumer(bootstrap_servers=single.bootstrap_servers, enable_auto_commit=False)
    admin = KafkaAdminClient(bootstrap_servers=single.bootstrap_servers)
    try:
        partitions = [TopicPartition(topic, p) for p in range(2)]
        assert sum(reader.end_offsets(partitions).values()) == 20
        committed = admin.list_group_offsets(group)[group]
        assert sum(committed[tp].offset for tp in partitions) == 20
    finally:
        reader.close()
        admin.close()


def _refused(kwargs: dict, caplog: pytest.LogCaptureFixture) -> str:
    """Why a client with ``kwargs`` could not bootstrap (kafka-python retries a refused
    connection until its bootstrap timeout, logging each refusal)."""
    with caplog.at_level(logging.WARNING, logger="kafka"), pytest.raises(KafkaTimeoutError):
        KafkaAdminClient(**kwargs, bootstrap_timeout_ms=2000)
    return caplog.text


def test_scram_client_connects_and_a_wrong_password_is_refused(single, caplog) -> None:
    topic = _topic()
    producer = KafkaProducer(**single.sasl_client_kwargs(), acks="all")
    try:
        producer.send(topic, b"over SASL/SCRAM").get(timeout=30)  # auto-created
    finally:
        producer.close()
    wrong = {**single.sasl_client_kwargs(), "sasl_plain_password": "not-the-password"}

    def refusals() -> int:  # the broker's word: kafka-python at times sees only the disconnect
        lines = single.nodes[1].log_path.read_text(errors="replace").splitlines()
        return sum("Failed authentication" in line and "due to invalid credentials with SASL "
                   "mechanism SCRAM-SHA-512" in line for line in lines)

    before = refusals()
    _refused(wrong, caplog)
    assert refusals() > before


def test_tls_client_trusting_the_throwaway_ca_connects_and_one_without_it_is_refused(
        single, caplog) -> None:
    producer = KafkaProducer(**single.ssl_client_kwargs(), acks="all")
    try:
        producer.send(_topic(), b"over TLS").get(timeout=30)
    finally:
        producer.close()
    untrusting = {**single.ssl_client_kwargs(), "ssl_cafile": None}  # the system's CAs only
    assert "CERTIFICATE_VERIFY_FAILED" in _refused(untrusting, caplog)


def test_secrets_stay_out_of_command_lines_logs_and_readable_files(single) -> None:
    assert single.scram_user is not None
    password = single.scram_user.password
    for node in single.nodes.values():
        assert node.process and node.process.pid
        cmdline = Path(f"/proc/{node.process.pid}/cmdline").read_bytes().decode(errors="replace")
        assert password not in cmdline and "PRIVATE KEY" not in cmdline
        assert password not in node.log_path.read_text(errors="replace")
        assert stat.S_IMODE(node.properties_path.stat().st_mode) == 0o600
        assert not (node.directory / "format.args").exists()
    assert stat.S_IMODE((single.base_dir / "tls" / "broker.pem").stat().st_mode) == 0o600


def test_pause_freezes_a_node_and_resume_thaws_it(single) -> None:
    process = single.nodes[1].process
    assert process and process.pid

    def state() -> str:
        return Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()[0]

    single.pause(1)
    try:
        wait_until(lambda: state() == "T", 5, what="node 1 stopped")
    finally:
        single.resume(1)
    wait_until(lambda: state() in ("S", "R"), 5, what="node 1 running again")
    producer = _producer(single.bootstrap_servers)
    try:
        _produce(producer, _topic(), [b"after resume"])
    finally:
        producer.close()


def _path_without(farm: Path, path: str, *missing: str) -> str:
    """A PATH of one directory linking every command on ``path`` except ``missing``."""
    farm.mkdir(parents=True)
    for directory in path.split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = farm / entry.name
            if entry.name not in missing and not target.exists() and os.access(entry.path, os.X_OK):
                target.symlink_to(entry.path)
    return str(farm)


def test_missing_java_or_maven_is_one_line_naming_the_package(tmp_path, monkeypatch) -> None:
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", _path_without(tmp_path / "no-java", path, "java", "mvn"))
    assert "openjdk-17-jre-headless" in (unavailable_reason() or "")
    with pytest.raises(ApacheKafkaUnavailable, match="openjdk-17-jre-headless"):
        ApacheKafkaCluster(tmp_path / "cluster").start()

    # Maven is needed only while this version's jars are not cached yet.
    monkeypatch.setenv("PATH", _path_without(tmp_path / "no-mvn", path, "mvn"))
    monkeypatch.setenv("WALMART_SYNC_CACHE_DIR", str(tmp_path / "empty-cache"))
    reason = unavailable_reason() or ""
    assert "apt-get install -y maven" in reason and "\n" not in reason


def test_the_stack_broker_is_apache_kafka_where_it_can_run_and_tansu_otherwise(
        tmp_path, monkeypatch) -> None:
    import devstack.stack as stack_module
    from devstack.broker import TansuBroker

    base = tmp_path / "never-started"
    monkeypatch.delenv(stack_module.KAFKA_ENV, raising=False)
    monkeypatch.setattr(stack_module, "apache_kafka_available", lambda: True)
    assert isinstance(stack_module.make_broker(base), ApacheKafkaCluster)
    monkeypatch.setattr(stack_module, "apache_kafka_available", lambda: False)
    assert isinstance(stack_module.make_broker(base), TansuBroker)
    monkeypatch.setenv(stack_module.KAFKA_ENV, "apache")  # asked for: fails at start if it can't
    assert isinstance(stack_module.make_broker(base), ApacheKafkaCluster)
    monkeypatch.setenv(stack_module.KAFKA_ENV, "Tansu")
    assert isinstance(stack_module.LocalStack(base_dir=base).broker, TansuBroker)
    monkeypatch.setenv(stack_module.KAFKA_ENV, "redpanda")
    with pytest.raises(ValueError, match="must be 'apache' or 'tansu'"):
        stack_module.make_broker(base)
