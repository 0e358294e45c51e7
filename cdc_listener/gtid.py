"""GTID positions of both servers the listener reads: MariaDB's and MySQL's differ in kind.

MariaDB: ``domain-server-sequence``, one entry per replication domain, and a position is the
last GTID of each domain (``0-1-1234,1-7-99``): resuming means "after these". MySQL: the executed
GTID *set*, ``source_uuid:intervals`` per source (``3e11fa47-...-c80aa9429562:1-5:7``): resuming
means "everything not in this set". A MySQL uuid contains dashes, so telling them apart by a dash
(as the listener once did) took MySQL for MariaDB and kept only the last GTID, not the set.
python-mysql-replication's ``GtidSet`` does MySQL's set arithmetic.
"""

from __future__ import annotations

import re
from typing import Literal

from pymysqlreplication.gtid import Gtid, GtidSet

Flavour = Literal["mariadb", "mysql"]

MARIADB_POSITION = re.compile(r"^\d+-\d+-\d+(,\d+-\d+-\d+)*$")
_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
MYSQL_SET = re.compile(rf"^{_UUID}(:\d+(-\d+)?)+(,\s*{_UUID}(:\d+(-\d+)?)+)*$")


def flavour_of(gtid: str) -> Flavour | None:
    """Which server wrote this GTID or position; None for anything that is neither."""
    text = gtid.strip()
    if MARIADB_POSITION.match(text):
        return "mariadb"
    if MYSQL_SET.match(text):
        return "mysql"
    return None


def merge_mariadb_gtid(state: str | None, gtid: str) -> str:
    """Advance a MariaDB GTID position (one entry per replication domain) by one GTID."""
    domains = {}
    for part in (state or "").split(","):
        if part:
            domains[part.split("-", 1)[0]] = part
    domains[gtid.split("-", 1)[0]] = gtid
    return ",".join(domains[d] for d in sorted(domains, key=int))


def advance(state: str | None, gtid: str) -> str:
    """The position after the transaction ``gtid`` committed: MariaDB's per-domain last GTID, or
    MySQL's executed set with ``gtid`` added (a GTID already in the set, a replay, changes nothing)."""
    if flavour_of(gtid) == "mariadb":
        return merge_mariadb_gtid(state, gtid)
    executed = GtidSet(state or None)
    transaction = Gtid(gtid)
    if transaction in executed:
        return str(executed)
    return str(executed + transaction)
