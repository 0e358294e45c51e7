"""Secrets never reach log output, whichever logger writes them and however they are wrapped."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

import pymysql
import pytest

from config import load_settings
from plumbing.logs import configure_logging, get_logger, redact, register_secrets

SECRET_DB = "s3cr3t-db-pw-41"
SECRET_TOKEN = "tok-9c8b7a6f5e4d"
SECRET_CLIENT = "walmart-client-secret-ff01"


@pytest.fixture
def settings(tmp_path: Path):
    path = tmp_path / "c.toml"
    path.write_text(f"""
[commerce_db]
password = "{SECRET_DB}"
[state_store]
dsn = "mysql://sync:{SECRET_DB}@127.0.0.1:3306/state"
[walmart]
client_id = "cid"
client_secret = "{SECRET_CLIENT}"
[commerce_api]
base_url = "http://127.0.0.1:1"
token = "{SECRET_TOKEN}"
""")
    loaded = load_settings(path, environ={})
    register_secrets(loaded.secret_values())
    return loaded


@pytest.fixture
def json_log() -> io.StringIO:
    stream = io.StringIO()
    configure_logging("debug", "json", stream=stream)
    yield stream
    configure_logging("info", "json")


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_structlog_masks_secret_keys_and_values(settings, json_log: io.StringIO) -> None:
    log = get_logger("inventory-worker", sku="WS-000001")
    log.info("pushing", headers={"Authorization": f"Bearer {SECRET_TOKEN}", "WM_SVC.NAME": "x"},
             note=f"client secret is {SECRET_CLIENT}", password=SECRET_DB, qty=3)
    [line] = _lines(json_log)
    assert line["component"] == "inventory-worker" and line["sku"] == "WS-000001"
    assert line["qty"] == 3 and line["password"] == "***"
    assert line["headers"]["Authorization"] == "***"
    assert line["headers"]["WM_SVC.NAME"] == "x"
    text = json_log.getvalue()
    for secret in (SECRET_DB, SECRET_TOKEN, SECRET_CLIENT):
        assert secret not in text


def test_exceptions_and_stdlib_loggers_are_redacted(settings, json_log: io.StringIO) -> None:
    try:
        raise RuntimeError(f"connect failed for mysql://sync:{SECRET_DB}@db:3306/state")
    except RuntimeError:
        get_logger("listener").exception("crashed")
    logging.getLogger("kafka.conn").warning("sasl login with %s failed", SECRET_CLIENT)
    logging.getLogger("urllib3").warning("header Authorization: Basic %s", "Y2lkOnNlY3JldHNlY3JldA==")
    text = json_log.getvalue()
    assert "RuntimeError" in text and "mysql://sync:***@db:3306/state" in text
    assert "sasl login with *** failed" in text
    assert "Basic ***" in text
    for secret in (SECRET_DB, SECRET_CLIENT, "Y2lkOnNlY3JldHNlY3JldA=="):
        assert secret not in text


def test_real_driver_error_is_redacted(settings, json_log: io.StringIO, endpoints) -> None:
    """A real failed login against the private MariaDB, logged with its DSN, leaks nothing."""
    with pytest.raises(pymysql.MySQLError) as caught:
        pymysql.connect(host=endpoints.mysql.host, port=endpoints.mysql.port, user="sync",
                        password=SECRET_DB, connect_timeout=5)
    get_logger("listener").error("cannot connect", error=caught.value,
                                 dsn=f"mysql://sync:{SECRET_DB}@db/state")
    text = json_log.getvalue()
    assert "Access denied" in text
    assert SECRET_DB not in text


def test_redact_free_text_without_registration() -> None:
    assert redact("kafka://user:pa55word@broker:9092") == "kafka://user:***@broker:9092"
    assert redact("Authorization: Bearer abcdefghijklmnop") == "Authorization: Bearer ***"
    assert redact("nothing secret here") == "nothing secret here"


def _log_library_and_own_errors(level: str) -> str:
    stream = io.StringIO()
    configure_logging(level, "json", stream=stream)
    try:
        try:
            None.recv(4096)  # type: ignore[attr-defined]  # kafka-python's race: its socket closed under a read
        except AttributeError:
            logging.getLogger("kafka.net.transport").exception("<BrokerConnection>: Error receiving network data")
        try:
            raise RuntimeError("our own bug")
        except RuntimeError:
            get_logger("listener").exception("crashed")
    finally:
        configure_logging("info", "json")
    return stream.getvalue()


def test_a_library_error_it_recovers_from_is_one_line_but_ours_keep_their_traceback() -> None:
    library, ours = _log_library_and_own_errors("info").splitlines()
    assert "Traceback" not in library
    assert json.loads(library)["event"] == (
        "<BrokerConnection>: Error receiving network data (AttributeError: 'NoneType' object has no attribute 'recv')")
    assert "Traceback" in ours and "RuntimeError: our own bug" in ours


def test_debug_keeps_the_library_traceback_for_a_bug_report() -> None:
    text = _log_library_and_own_errors("debug")
    library = next(line for line in text.splitlines() if "kafka.net.transport" in line)
    assert "Traceback" in library and "None.recv(4096)" in library
