"""Locks in the state store: a lease for the active listener, named locks for one listing matcher
and one lag sampler at a time."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
import uuid
from typing import Any

import pymysql

from plumbing.db import DbConnection, scalar


class NamedLock:
    """A MariaDB/MySQL named lock (GET_LOCK) on a state-store connection: released when the
    connection goes, so a crashed holder never blocks the others for long."""

    def __init__(self, conn: DbConnection, name: str, schema: str | None = None):
        """``schema``: the connection's database when the caller knows it already (the order
        importer takes a lock per PO: asking the server each time was a round trip per order)."""
        self.conn = conn
        # Named locks are server-wide: scope the name to this state schema so sidecars of two
        # stores sharing one state server never block each other (64 characters at most).
        if schema is None:
            with conn.cursor() as cur:
                schema = scalar(cur, "SELECT DATABASE()") or ""
        scoped = f"wsync.{schema}.{name}"
        if len(scoped) > 64:
            scoped = "wsync." + hashlib.sha1(scoped.encode()).hexdigest()
        self.lock_name = scoped
        self._held = False
        self._lock = threading.Lock()

    def try_acquire(self, wait_s: float) -> bool:
        with self.conn.cursor() as cur:
            self._held = scalar(cur, "SELECT GET_LOCK(%s, %s)", (self.lock_name, wait_s)) == 1
        return self._held

    def holder_connection_id(self) -> int | None:
        with self.conn.cursor() as cur:
            value = scalar(cur, "SELECT IS_USED_LOCK(%s)", (self.lock_name,))
        return None if value is None else int(value)

    def still_held(self) -> bool:
        """True only if this connection is alive and still the lock's owner."""
        with self._lock:
            try:
                with self.conn.cursor() as cur:
                    return bool(scalar(cur, "SELECT IS_USED_LOCK(%s) = CONNECTION_ID()", (self.lock_name,)) == 1)
            except Exception:
                return False

    def release(self) -> None:
        if self._held:
            try:
                with self.conn.cursor() as cur:
                    cur.execute("SELECT RELEASE_LOCK(%s)", (self.lock_name,))
            except Exception:
                pass  # a dead connection released it already
            self._held = False


def lease_clock() -> float:
    """Seconds on a clock that keeps counting while the host is suspended or the process frozen.

    The lease expires on the state store's clock, which runs on while this host is paused; a
    holder judging its lease on CLOCK_MONOTONIC (stopped during a suspend) would believe a lease
    still valid that another listener already holds. CLOCK_BOOTTIME counts the suspend too."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


LEASE_DDL = """
CREATE TABLE IF NOT EXISTS leader_lease (
  name VARCHAR(64) NOT NULL PRIMARY KEY,
  holder VARCHAR(255) NOT NULL,
  epoch BIGINT UNSIGNED NOT NULL DEFAULT 0,
  expires_at TIMESTAMP(6) NOT NULL DEFAULT '1971-01-01 00:00:00',
  renewed_at TIMESTAMP(6) NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4
"""


class LeaseLost(RuntimeError):
    """This process no longer holds (or can no longer prove it holds) the lease."""


class Lease:
    """Leadership as a row in the state store with an expiry the holder keeps pushing forward.

    Why not ``GET_LOCK``: a named lock lives as long as its server-side connection, and when the
    holder's host dies with a half-open socket that is ``wait_timeout`` (8 hours by default), so a
    standby never takes over. A lease expires on the server's clock whatever happened to the
    holder's socket; the standby takes it once ``expires_at`` is past.

    Fencing: the holder trusts its lease only until ``valid_until`` on its own clock, which is the
    moment it *sent* its last successful renewal plus ``lease_s - margin_s``. The server set the
    expiry at least that late, so the holder stops (publishing, checkpointing) ``margin_s`` before
    any standby can take over, even if it was frozen in between. Writes that must not come from a
    stale holder check the row in their own statement (``guard_sql``), and the epoch (bumped at
    every takeover) names the holder's term.

    Each instance uses its own connection (renewals run on a thread of their own), with read and
    write timeouts so a renewal on a dead socket fails instead of blocking for ever."""

    def __init__(self, conn: DbConnection, name: str, lease_s: float, margin_s: float,
                 holder: str | None = None):
        if not 0 <= margin_s < lease_s:
            raise ValueError("margin_s must be below lease_s")
        self.conn = conn
        self.name = name
        self.lease_s = lease_s
        self.margin_s = margin_s
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.epoch: int | None = None
        self.valid_until = 0.0  # lease_clock() seconds; 0 = not held
        self._lock = threading.Lock()  # one statement at a time on the connection
        with self._lock, conn.cursor() as cur:
            cur.execute(LEASE_DDL)
            cur.execute("INSERT IGNORE INTO leader_lease (name, holder) VALUES (%s, '')", (name,))

    def _micros(self) -> int:
        return int(self.lease_s * 1_000_000)

    def try_acquire(self) -> bool:
        """Take the lease if it is free or expired (or already ours); True when held."""
        sent = lease_clock()
        with self._lock, self.conn.cursor() as cur:
            cur.execute("UPDATE leader_lease SET holder = %s, epoch = epoch + 1, renewed_at = NOW(6), "
                        "expires_at = NOW(6) + INTERVAL %s MICROSECOND "
                        "WHERE name = %s AND (expires_at <= NOW(6) OR holder = %s)",
                        (self.holder, self._micros(), self.name, self.holder))
            if cur.rowcount != 1:
                return False
            self.epoch = int(scalar(cur, "SELECT epoch FROM leader_lease WHERE name = %s", (self.name,)))
        self.valid_until = sent + self.lease_s - self.margin_s
        return True

    def renew(self) -> bool:
        """Push the expiry forward; False (and the lease dropped) when another holder has it."""
        if self.epoch is None:
            return False
        sent = lease_clock()
        with self._lock, self.conn.cursor() as cur:
            cur.execute("UPDATE leader_lease SET renewed_at = NOW(6), "
                        "expires_at = NOW(6) + INTERVAL %s MICROSECOND "
                        "WHERE name = %s AND holder = %s AND epoch = %s AND expires_at > NOW(6)",
                        (self._micros(), self.name, self.holder, self.epoch))
            renewed = cur.rowcount == 1
        if renewed:
            self.valid_until = sent + self.lease_s - self.margin_s
        else:
            self.valid_until = 0.0
            self.epoch = None
        return renewed

    def valid(self) -> bool:
        """True while the holder may still act: checked by clock alone, so it costs nothing and
        holds while the state store is unreachable."""
        return lease_clock() < self.valid_until

    def remaining_s(self) -> float:
        return max(0.0, self.valid_until - lease_clock())

    def guard_sql(self) -> tuple[str, tuple[Any, ...]]:
        """A condition (and its arguments) true only while the lease row is ours and unexpired, for
        a write to carry in its own statement (``INSERT ... SELECT ... WHERE``), so the check and
        the write are one: no row lock is held across client round trips (a holder frozen inside
        a transaction would hold the lease row and block its own takeover)."""
        return ("EXISTS (SELECT 1 FROM leader_lease WHERE name = %s AND holder = %s AND epoch = %s "
                "AND expires_at > NOW(6))", (self.name, self.holder, self.epoch))

    def check(self, cur: Any) -> None:
        """Refuse (``LeaseLost``) unless the lease is still ours by this host's clock and in the row."""
        if not self.valid():
            raise LeaseLost(f"the {self.name} lease ran out on this host's clock")
        condition, args = self.guard_sql()
        if scalar(cur, f"SELECT {condition}", args) != 1:
            self.valid_until = 0.0
            raise LeaseLost(f"the {self.name} lease is held by another process now")

    def release(self) -> None:
        """Expire our lease now, so a standby need not wait for it to run out."""
        epoch, self.epoch, self.valid_until = self.epoch, None, 0.0
        if epoch is None:
            return
        try:
            with self._lock, self.conn.cursor() as cur:
                cur.execute("UPDATE leader_lease SET expires_at = NOW(6) - INTERVAL 1 SECOND "
                            "WHERE name = %s AND holder = %s AND epoch = %s", (self.name, self.holder, epoch))
        except Exception:
            pass  # unreachable: it expires on its own


def lease_holder(conn: DbConnection, name: str) -> str | None:
    """Who holds the named lease now (None: nobody, or the lease table does not exist yet)."""
    with conn.cursor() as cur:
        try:
            cur.execute("SELECT holder FROM leader_lease WHERE name = %s AND expires_at > NOW(6)", (name,))
        except pymysql.err.ProgrammingError:
            return None
        row = cur.fetchone()
    return None if row is None else str(row[0])
