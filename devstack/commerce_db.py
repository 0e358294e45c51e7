"""Create a Commerce database from the committed DDL, and the sidecar's least-privilege user.

The grants here are the ones the README asks operators to give on a real server, so every test
and the demo run the sidecar with exactly the rights it will have in production.
"""

from __future__ import annotations

from importlib import resources

from pymysql.constants import CLIENT

from devstack.commerce_schema.ddl import create_table
from devstack.commerce_schema.variants import Edition, sequence_table
from devstack.mariadb import MySqlEndpoint


def commerce_ddl(edition: Edition) -> str:
    return (
        resources.files("devstack.commerce_schema")
        .joinpath("generated", f"{edition}.sql")
        .read_text(encoding="utf-8")
    )


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a plain identifier: {name!r}")
    return name


def create_commerce_database(
    admin: MySqlEndpoint, database: str, edition: Edition = "open_source", replace: bool = True
) -> None:
    """(Re)create ``database`` with every Commerce table of the edition."""
    db = _identifier(database)
    conn = admin.connect(client_flag=CLIENT.MULTI_STATEMENTS)
    try:
        with conn.cursor() as cur:
            if replace:
                cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
            cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{db}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
            cur.execute(f"USE `{db}`")
            cur.execute(commerce_ddl(edition))
            while cur.nextset():
                pass
    finally:
        conn.close()


def create_sequence_tables(conn, store_id: int, entities: tuple[str, ...]) -> None:
    """What Magento does when a store view is created: one sequence table per sales entity."""
    with conn.cursor() as cur:
        for entity in entities:
            ddl = create_table(sequence_table(entity, store_id)).replace(
                "CREATE TABLE", "CREATE TABLE IF NOT EXISTS", 1
            )
            cur.execute(ddl)


def grant_sidecar_user(
    admin: MySqlEndpoint, user: str, password: str, commerce_db: str, state_db: str
) -> MySqlEndpoint:
    """The least-privilege account walmart-sync needs (see README, "Deploying")."""
    conn = admin.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (user, password))
            cur.execute("ALTER USER %s@'%%' IDENTIFIED BY %s", (user, password))
            cur.execute("SELECT VERSION()")
            mariadb = "mariadb" in cur.fetchone()[0].lower()
            # MariaDB 10.5+ split SHOW BINLOG STATUS out of REPLICATION CLIENT into BINLOG MONITOR;
            # MySQL has no such privilege.
            privileges = "REPLICATION SLAVE, REPLICATION CLIENT" + (", BINLOG MONITOR" if mariadb else "")
            cur.execute(f"GRANT {privileges} ON *.* TO %s@'%%'", (user,))
            cur.execute(f"GRANT SELECT ON `{_identifier(commerce_db)}`.* TO %s@'%%'", (user,))
            cur.execute(
                f"CREATE DATABASE IF NOT EXISTS `{_identifier(state_db)}` "
                "CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci"
            )
            cur.execute(f"GRANT ALL PRIVILEGES ON `{_identifier(state_db)}`.* TO %s@'%%'", (user,))
    finally:
        conn.close()
    return MySqlEndpoint(admin.host, admin.port, user, password)
