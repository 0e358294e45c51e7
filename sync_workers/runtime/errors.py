"""One place that decides what a failure means for the records being handled.

Kafka Connect's error handling, for a consumer that applies records to other systems:
- ``retry``: the other side is away or overloaded (Walmart or Commerce 5xx/timeouts after the
  clients' own retries, a MySQL connection lost, a lock wait or deadlock): nothing is committed,
  the batch is rewound and tried again after a backoff, so per-key order holds;
- ``dead_letter``: the record itself is wrong for good (Walmart or Commerce refused it with a 4xx,
  a value too long for its column, a malformed document): it goes to the worker's DLQ with the
  reason and the worker moves on;
- ``park``: the record is right but early (a refund whose shipment has not reached Walmart):
  it waits in the state store until its due time instead of holding back its partition;
- ``fatal``: anything else is a bug or a misconfiguration; it is logged once with its traceback
  (redacted) and the component stops, visibly, rather than skipping or spinning.
Handlers raise; they do not translate each library's exceptions themselves.
"""

from __future__ import annotations

from typing import Literal

import pymysql

from plumbing.kafka import ProduceFailed
from sync_workers.commerce.client import CommerceClientError, CommerceServerError
from sync_workers.walmart.errors import WalmartAuthError, WalmartClientError, WalmartServerError

Verdict = Literal["retry", "dead_letter", "park", "fatal"]

# MySQL errors that a retry can cure: the server or the connection went away, or the statement
# lost a lock race. (1205 lock wait timeout, 1213 deadlock, 2002/2003 cannot connect, 2006 gone
# away, 2013 lost connection, 1927 connection killed, 1053/1317 shutdown/interrupted, 2014 commands
# out of sync after a lost connection.)
RETRYABLE_MYSQL_CODES = frozenset({1040, 1053, 1205, 1213, 1317, 1927, 2002, 2003, 2006, 2013, 2014, 2055})
# MySQL errors that belong to one record: the value does not fit (1406 too long, 1264 out of range,
# 1366 bad value, 1048 NULL into NOT NULL, 1292 bad date, 1452 missing parent row).
RECORD_MYSQL_CODES = frozenset({1048, 1264, 1292, 1366, 1406, 1452})


class TransientError(Exception):
    """Retry the whole batch later; nothing of it is committed."""


class PermanentError(Exception):
    """This record can never be applied as it is: dead-letter it with this reason."""

    def __init__(self, reason: str, code: str | None = None):
        super().__init__(reason)
        self.code = code


class NotYet(Exception):
    """This record is early: park it for ``retry_after_s`` (a refund waiting for its shipment)."""

    def __init__(self, reason: str, retry_after_s: float = 60.0):
        super().__init__(reason)
        self.retry_after_s = retry_after_s


def classify(exc: BaseException) -> Verdict:
    if isinstance(exc, NotYet):
        return "park"
    if isinstance(exc, (TransientError, WalmartServerError, CommerceServerError, ConnectionError, TimeoutError,
                        ProduceFailed)):  # Kafka did not acknowledge a dead letter: a broker away, not the record
        return "retry"
    if isinstance(exc, WalmartAuthError):
        return "retry"  # credentials being rotated; lag and readiness show the worker stuck
    if isinstance(exc, (PermanentError, WalmartClientError, CommerceClientError)):
        return "dead_letter"
    if isinstance(exc, pymysql.MySQLError):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        if isinstance(exc, pymysql.err.InterfaceError) or code in RETRYABLE_MYSQL_CODES:
            return "retry"
        if code in RECORD_MYSQL_CODES or isinstance(exc, pymysql.err.DataError):
            return "dead_letter"
        if isinstance(exc, pymysql.err.OperationalError) and code is None:
            return "retry"
        return "fatal"
    return "fatal"


def error_code(exc: BaseException) -> str | None:
    """The code a dead letter carries: Walmart's own, the MySQL error number, or ours."""
    if isinstance(exc, PermanentError):
        return exc.code
    if isinstance(exc, WalmartClientError) and exc.details:
        return exc.details[0].code
    if isinstance(exc, pymysql.MySQLError) and exc.args and isinstance(exc.args[0], int):
        return f"MYSQL_{exc.args[0]}"
    if isinstance(exc, CommerceClientError):
        return f"COMMERCE_{exc.status}" if exc.status else "COMMERCE_REFUSED"
    return None
