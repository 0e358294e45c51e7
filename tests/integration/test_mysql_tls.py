"""TLS on every MySQL connection (issue 18, item 12): the binlog stream, Commerce reads, the state store.

A private mariadbd of its own with a throwaway CA (``--ssl-ca/--ssl-cert/--ssl-key``), and the
sidecar's account created ``REQUIRE SSL``: the server itself refuses that account any connection
without TLS, so a listener that streams at all streams over TLS; each session's ``Ssl_cipher``
shows it too.
"""

from __future__ import annotations

import os
import signal
import ssl
import uuid
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from devstack.environment import CommerceEnvironment, prepare_environment
from devstack.mariadb import MariaDBServer
from devstack.processes import child_pids
from devstack.stack import StackEndpoints
from devstack.throwaway_tls import write_ca_and_server_pem
from plumbing.db import connect_commerce, connect_state_store
from tests.support.cdc_helpers import ListenerThread, TopicReader, listen_process

SIDECAR = "walmart_sync"
KEY_PASSPHRASE = "kp-" + uuid.uuid4().hex


@pytest.fixture(scope="module")
def tls_dir(tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("mysql-tls")
    write_ca_and_server_pem(directory, client_key_password=KEY_PASSPHRASE)
    return directory


@pytest.fixture(scope="module")
def tls_server(stack, tls_dir) -> Iterator[MariaDBServer]:
    server = MariaDBServer(tls_dir / "server", extra_args=(
        f"--ssl-ca={tls_dir / 'ca.pem'}", f"--ssl-cert={tls_dir / 'server-cert.pem'}",
        f"--ssl-key={tls_dir / 'server-key.pem'}"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def env(stack, tls_server, tmp_path_factory) -> CommerceEnvironment:
    endpoints = StackEndpoints(mysql=tls_server.endpoint, bootstrap_servers=stack.endpoints.bootstrap_servers)
    env = prepare_environment(endpoints, tmp_path_factory.mktemp("env"), "open_source", products=10,
                              name=f"tls_{uuid.uuid4().hex[:6]}")
    with tls_server.endpoint.connect() as conn, conn.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' REQUIRE SSL", (SIDECAR,))
    return env


def _verified(env: CommerceEnvironment, tls_dir: Path):
    tls = {"ssl_mode": "verify_identity", "ssl_ca": str(tls_dir / "ca.pem")}
    return env.settings(commerce_db=tls, state_store=tls)


def _password(env: CommerceEnvironment) -> str:
    return env.settings().commerce_db.password.get_secret_value()


def _cipher(conn) -> str:
    with conn.cursor() as cur:
        cur.execute("SHOW STATUS LIKE 'Ssl_cipher'")
        row = cur.fetchone()
    return row["Value"] if isinstance(row, dict) else row[1]  # the binlog reader's control connection: DictCursor


def test_commerce_reads_and_the_state_store_connect_over_verified_tls(env, tls_dir) -> None:
    settings = _verified(env, tls_dir)
    for conn in (connect_commerce(settings), connect_state_store(settings)):
        with conn:
            assert _cipher(conn) != ""
            assert isinstance(conn._sock, ssl.SSLSocket) and conn._sock.getpeercert()  # verified: a cert was checked


def test_the_listener_streams_over_tls_and_its_publisher_gets_no_database_secret(env, tls_dir) -> None:
    settings = _verified(env, tls_dir)
    reader = TopicReader(env.endpoints.bootstrap_servers, settings.kafka.topic_prefix)
    try:
        with ListenerThread(settings) as running:
            source = running.listener._source
            assert source is not None and source._reader is not None
            stream = source._reader._stream_connection
            assert isinstance(stream._sock, ssl.SSLSocket) and stream._sock.getpeercert()
            assert _cipher(source._reader._ctl_connection) != ""
            with env.admin_connection() as conn, conn.cursor() as cur:
                cur.execute("UPDATE inventory_source_item SET quantity = 7171 WHERE sku = 'WS-000001' "
                            "AND source_code = 'default'")
            reader.until(lambda events: any(e["type"] == "source_item" and e["after"]["quantity"] == "7171.0000"
                                            for e in events), 30, "the change streamed over TLS")
            # The publisher process is spawned with Kafka's settings only, over a pipe.
            publishers = [pid for pid in child_pids(os.getpid())
                          if b"multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes()]
            assert publishers
            for pid in publishers:
                for part in ("cmdline", "environ"):
                    assert _password(env).encode() not in Path(f"/proc/{pid}/{part}").read_bytes()
    finally:
        reader.close()


def test_without_the_ca_the_connections_are_refused_with_what_to_set(env) -> None:
    password = _password(env)
    unverifiable = env.settings(commerce_db={"ssl_mode": "verify_identity"},
                                state_store={"ssl_mode": "verify_identity"})
    with pytest.raises(pymysql.err.OperationalError) as caught:
        connect_commerce(unverifiable)
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert "set commerce_db.ssl_ca to the CA file that signed it" in str(caught.value)
    with pytest.raises(pymysql.err.OperationalError) as caught:
        connect_state_store(unverifiable)
    assert "set state_store.ssl_ca to the CA file that signed it" in str(caught.value)
    # Without TLS the server refuses the REQUIRE SSL account; the message says what to set.
    plain = env.settings(commerce_db={"ssl_mode": "disabled"}, state_store={"ssl_mode": "disabled"})
    for connect, section in ((connect_commerce, "commerce_db"), (connect_state_store, "state_store")):
        with pytest.raises(pymysql.err.OperationalError) as caught:
            connect(plain)
        assert caught.value.args[0] == 1045
        assert f"REQUIRE SSL/X509, the server refuses it without (verified) TLS: set {section}.ssl_mode" \
            in str(caught.value)
        assert password not in str(caught.value)
    # The listener, as an operator starts it: refused at preflight, one clear line, no secret.
    proc = listen_process(env.config_path, overrides=("commerce_db.ssl_mode=verify_identity",))
    try:
        _out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    assert proc.returncode != 0
    assert "set commerce_db.ssl_ca to the CA file that signed it" in err
    assert password not in err


def test_a_client_certificate_with_an_encrypted_key_for_a_require_x509_account(env, tls_server, tls_dir) -> None:
    tls = {"ssl_mode": "verify_identity", "ssl_ca": str(tls_dir / "ca.pem"),
           "ssl_cert": str(tls_dir / "client-cert.pem"), "ssl_key": str(tls_dir / "client-key.pem"),
           "ssl_key_password": KEY_PASSPHRASE}
    with tls_server.endpoint.connect() as admin, admin.cursor() as cur:
        cur.execute("ALTER USER %s@'%%' REQUIRE X509", (SIDECAR,))
        try:
            with pytest.raises(pymysql.err.OperationalError) as caught:  # a CA alone is not enough now
                connect_state_store(_verified(env, tls_dir))
            assert caught.value.args[0] == 1045
            settings = env.settings(commerce_db=tls, state_store=tls)
            assert KEY_PASSPHRASE in settings.secret_values()  # so the log redactor masks it
            for conn in (connect_commerce(settings), connect_state_store(settings)):
                with conn:
                    assert _cipher(conn) != ""
        finally:
            cur.execute("ALTER USER %s@'%%' REQUIRE SSL", (SIDECAR,))
