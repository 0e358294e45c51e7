"""The one way the sidecar opens a MySQL/MariaDB connection.

Every connection (the Commerce source, the state store, the checkpoint and lock connections)
is made here, so timeouts, autocommit and TLS (``ssl_*`` of each section) are decided once, and the password is
read from its ``SecretStr`` only at the moment PyMySQL needs it: it never sits in a kwargs dict
that a traceback or a log line could print.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
from pymysql.connections import Connection

from config.settings import CommerceDatabaseSettings, MySqlDsn, MySqlTlsSettings, Settings

DbConnection = Connection  # the connection type every reader, store and lock takes


def tls_options(tls: MySqlTlsSettings) -> dict[str, Any]:
    """PyMySQL's TLS arguments for a section's ``ssl_*`` settings (the binlog reader passes them on
    to PyMySQL too). An ``SSLContext`` built here, not PyMySQL's ``ssl`` dict: the key passphrase
    goes straight into ``load_cert_chain`` and never sits in a dict a log line could print."""
    mode = tls.ssl_mode
    if mode == "preferred":
        return {}  # PyMySQL's own default: TLS when the server offers it, no certificate check
    if mode == "disabled":
        return {"ssl_disabled": True}
    if mode == "required":
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        context = ssl.create_default_context(cafile=tls.ssl_ca)
        context.check_hostname = mode == "verify_identity"
        context.verify_mode = ssl.CERT_REQUIRED
    if tls.ssl_cert is not None:
        password = tls.ssl_key_password.get_secret_value() if tls.ssl_key_password else None
        context.load_cert_chain(tls.ssl_cert, tls.ssl_key, password=password)
    return {"ssl": context}


def explain_connect_error(exc: pymysql.err.OperationalError, section: str,
                          tls: MySqlTlsSettings) -> str:
    """PyMySQL's message, and what to change when TLS is the likely cause."""
    code = exc.args[0] if exc.args else None
    message = str(exc.args[1]) if len(exc.args) > 1 else str(exc)
    if "CERTIFICATE_VERIFY_FAILED" in message and "match" in message.lower():
        return (f"{message}; the server's TLS certificate does not name the host connected to: connect by a "
                f"name it holds, or set {section}.ssl_mode = \"verify_ca\"")
    if "CERTIFICATE_VERIFY_FAILED" in message:
        return (f"{message}; the server's TLS certificate is not signed by a CA this sidecar trusts: set "
                f"{section}.ssl_ca to the CA file that signed it")
    if code == 1045 and tls.ssl_mode in ("disabled", "preferred"):
        return (f"{message}; if the account was created REQUIRE SSL/X509, the server refuses it without "
                f"(verified) TLS: set {section}.ssl_mode and {section}.ssl_ca (and ssl_cert/ssl_key for X509)")
    return message


def connect(dsn: MySqlDsn, *, connect_timeout_s: float = 10.0, autocommit: bool = True,
            tls: MySqlTlsSettings | None = None, section: str = "state_store", **extra: Any) -> DbConnection:
    tls = tls or MySqlTlsSettings()
    try:
        return pymysql.connect(host=dsn.host, port=dsn.port, user=dsn.user,
                               password=dsn.password.get_secret_value(), database=dsn.database,
                               connect_timeout=connect_timeout_s, autocommit=autocommit,
                               **tls_options(tls), **extra)
    except pymysql.err.OperationalError as exc:
        # Same class and code (the error classifier retries on them), a message saying what to do.
        raise type(exc)(exc.args[0] if exc.args else 0, explain_connect_error(exc, section, tls)) from None


def commerce_dsn(db: CommerceDatabaseSettings, with_database: bool = True) -> MySqlDsn:
    return MySqlDsn(host=db.host, port=db.port, user=db.user, password=db.password,
                    database=db.database if with_database else "")


def connect_commerce(settings: Settings | CommerceDatabaseSettings, with_database: bool = True,
                     **extra: Any) -> DbConnection:
    """The sidecar's read-only account on the Commerce database."""
    db = settings.commerce_db if isinstance(settings, Settings) else settings
    return connect(commerce_dsn(db, with_database), connect_timeout_s=db.connect_timeout_s, tls=db,
                   section="commerce_db", **extra)


def connect_state_store(settings: Settings, connect_timeout_s: float = 10.0, **extra: Any) -> DbConnection:
    """The sidecar's own schema (checkpoints, order map, listings, component status)."""
    return connect(settings.state_store.parsed, connect_timeout_s=connect_timeout_s, tls=settings.state_store,
                   section="state_store", **extra)


def scalar(cursor: Any, sql: str, args: tuple[Any, ...] | None = None) -> Any:
    """The first column of a query that always returns one row (an aggregate, a function call)."""
    cursor.execute(sql, args)
    row = cursor.fetchone()
    if row is None:
        raise LookupError(f"no row from: {sql}")
    return row[0]


@contextmanager
def transaction(conn: DbConnection) -> Iterator[Any]:
    """One state change as one transaction on an autocommit connection: every statement lands, or
    none does (a crash between two autocommit statements left a PO mapped without its lines)."""
    conn.begin()
    try:
        with conn.cursor() as cur:
            yield cur
    except BaseException:
        conn.rollback()
        raise
    conn.commit()


def revive(connections: list[DbConnection]) -> None:
    """Reconnect those the server dropped (a restart, a network cut, wait_timeout): PyMySQL never
    reconnects on its own, so a store's dead connection made its worker retry for ever while it
    still looked ready. A live connection answers the ping; one still unreachable is left for the
    next retry."""
    for conn in connections:
        try:
            conn.ping(reconnect=True)
        except pymysql.MySQLError:
            continue
