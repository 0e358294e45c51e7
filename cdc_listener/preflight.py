"""Checks a Commerce database server before replicating from it.

Each wrong setting silently breaks change capture in its own way (STATEMENT binlogs carry no
rows, MINIMAL images lose the new quantity of a relative UPDATE, no row metadata means no
column names, compressed transactions are skipped by the decoder), so the listener refuses to
start on any of them and says which server variable to change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pymysql

from plumbing.db import DbConnection, scalar


@dataclass(frozen=True)
class Finding:
    ok: bool
    check: str
    detail: str
    warning: bool = False  # ok, but not what a production deployment should run with


REQUIRED_VARIABLES = {
    "log_bin": ("ON", "enable the binary log (log_bin / log-bin in the server config)"),
    "binlog_format": ("ROW", "set binlog_format=ROW"),
    "binlog_row_image": ("FULL", "set binlog_row_image=FULL"),
    "binlog_row_metadata": ("FULL", "set binlog_row_metadata=FULL (MariaDB >= 10.5, MySQL >= 8.0)"),
}
COMPRESSION_VARIABLES = {
    "log_bin_compress": "MariaDB binlog compression must be OFF (log_bin_compress=OFF)",
    "binlog_transaction_compression": "MySQL binlog transaction compression must be OFF",
}
# Each needed privilege with the other names servers report it under: MariaDB 10.5+ shows
# REPLICATION CLIENT as BINLOG MONITOR, and newer servers say REPLICA for SLAVE.
REPLICATION_PRIVILEGES = {
    "REPLICATION SLAVE": ("REPLICATION SLAVE", "REPLICATION REPLICA"),
    "REPLICATION CLIENT / BINLOG MONITOR": ("REPLICATION CLIENT", "BINLOG MONITOR"),
}


def _variables(cursor: Any, names: list[str]) -> dict[str, str]:
    placeholders = ", ".join(["%s"] * len(names))
    cursor.execute(
        f"SELECT LOWER(VARIABLE_NAME), VARIABLE_VALUE FROM information_schema.GLOBAL_VARIABLES "
        f"WHERE LOWER(VARIABLE_NAME) IN ({placeholders})",
        names,
    )
    return {name: str(value).upper() for name, value in cursor.fetchall()}


def check_source(conn: DbConnection, database: str) -> list[Finding]:
    """Run every check over ``conn`` (the sidecar's own account) and return all findings."""
    findings: list[Finding] = []
    with conn.cursor() as cur:
        version = scalar(cur, "SELECT VERSION()")
        findings.append(Finding(True, "server", str(version)))
        values = _variables(cur, [*REQUIRED_VARIABLES, *COMPRESSION_VARIABLES])
        for name, (expected, fix) in REQUIRED_VARIABLES.items():
            actual = values.get(name)
            ok = actual == expected
            findings.append(
                Finding(ok, name, f"{actual}" if ok else f"is {actual or 'unset'}; {fix}")
            )
        for name, fix in COMPRESSION_VARIABLES.items():
            if name in values:
                ok = values[name] in ("OFF", "0")
                findings.append(Finding(ok, name, values[name] if ok else fix))

        cur.execute("SHOW GRANTS")
        grants = " ".join(row[0].upper() for row in cur.fetchall())
        all_privileges = "ALL PRIVILEGES ON *.*" in grants
        for privilege, names in REPLICATION_PRIVILEGES.items():
            ok = all_privileges or any(name in grants for name in names)
            findings.append(Finding(ok, f"grant {privilege}", "granted" if ok else
                                    f"GRANT {' or '.join(names)} ON *.* TO the sidecar user"))
        try:
            cur.execute(f"SELECT 1 FROM `{database}`.`catalog_product_entity` LIMIT 1")
            cur.fetchall()
            findings.append(Finding(True, f"SELECT on {database}", "granted"))
        except Exception as exc:  # pymysql raises per server error code
            findings.append(Finding(False, f"SELECT on {database}",
                                    f"cannot read catalog_product_entity: {exc.args[-1]}"))
    return findings


def check_server_id(conn: DbConnection, replica_server_id: int) -> list[Finding]:
    """The replica id must differ from the source's and from every registered replica's:
    a duplicate makes the server silently drop one of the two connections."""
    with conn.cursor() as cur:
        source_id = int(scalar(cur, "SELECT @@server_id"))
        if source_id == replica_server_id:
            return [Finding(False, "server_id", f"commerce_db.server_id {replica_server_id} is the "
                            "source server's own id; choose another")]
        # binlog readers on this account (a user always sees its own threads): another replica of
        # this account streaming now may share the server_id, and two replicas with one id kick
        # each other off about once a second
        cur.execute("SELECT ID, HOST FROM information_schema.PROCESSLIST WHERE USER = SUBSTRING_INDEX(USER(), '@', 1) "
                    "AND COMMAND LIKE 'Binlog Dump%%' AND ID <> CONNECTION_ID()")
        readers = [f"thread {thread} from {host}" for thread, host in cur.fetchall()]
        try:
            # registered replicas (walmart-sync reports itself); needs REPLICATION MASTER ADMIN on
            # MariaDB, REPLICATION SLAVE on MySQL
            cur.execute("SHOW SLAVE HOSTS")
            taken: set[int] | None = {int(row[0]) for row in cur.fetchall()}
        except pymysql.MySQLError:
            taken = None
    if taken is not None and replica_server_id in taken:
        return [Finding(False, "server_id", f"commerce_db.server_id {replica_server_id} is used "
                        "by a connected replica; choose another")]
    findings = [Finding(True, "server_id", f"{replica_server_id} (source is {source_id}" + (
        ")" if taken is not None else "; the replica list needs REPLICATION MASTER ADMIN to be read)"))]
    if readers:
        findings.append(Finding(True, "other binlog readers", f"{', '.join(readers)} with this account: if one "
                                f"uses server_id {replica_server_id} the two will drop each other's stream",
                                warning=True))
    return findings
