"""The one way the sidecar opens a MySQL/MariaDB connection.

Every connection (the Commerce source, the state store, the checkpoint and lock connections)
is made here, so timeouts, autocommit and (later) TLS are decided once, and the password is
read from its ``SecretStr`` only at the moment PyMySQL needs it: it never sits in a kwargs dict
that a traceback or a log line could print.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pymysql
from pymysql.connections import Connection

from config.settings import CommerceDatabaseSettings, MySqlDsn, Settings

DbConnection = Connection  # the connection type every reader, store and lock takes


def connect(dsn: MySqlDsn, *, connect_timeout_s: float = 10.0, autocommit: bool = True,
            **extra: Any) -> DbConnection:
    return pymysql.connect(host=dsn.host, port=dsn.port, user=dsn.user,
                           password=dsn.password.get_secret_value(), database=dsn.database,
                           connect_timeout=connect_timeout_s, autocommit=autocommit, **extra)


def commerce_dsn(db: CommerceDatabaseSettings, with_database: bool = True) -> MySqlDsn:
    return MySqlDsn(host=db.host, port=db.port, user=db.user, password=db.password,
                    database=db.database if with_database else "")


def connect_commerce(settings: Settings | CommerceDatabaseSettings, with_database: bool = True,
                     **extra: Any) -> DbConnection:
    """The sidecar's read-only account on the Commerce database."""
    db = settings.commerce_db if isinstance(settings, Settings) else settings
    return connect(commerce_dsn(db, with_database), connect_timeout_s=db.connect_timeout_s, **extra)


def connect_state_store(settings: Settings, connect_timeout_s: float = 10.0, **extra: Any) -> DbConnection:
    """The sidecar's own schema (checkpoints, order map, listings, component status)."""
    return connect(settings.state_store.parsed, connect_timeout_s=connect_timeout_s, **extra)


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
