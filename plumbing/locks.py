"""Named locks in the state store: one active listener, one listing matcher at a time."""

from __future__ import annotations

import hashlib
import threading

from plumbing.db import DbConnection, scalar


class NamedLock:
    """A MariaDB/MySQL named lock (GET_LOCK) on a state-store connection: released when the
    connection goes, so a crashed holder never blocks the others for long."""

    def __init__(self, conn: DbConnection, name: str):
        self.conn = conn
        # Named locks are server-wide: scope the name to this state schema so sidecars of two
        # stores sharing one state server never block each other (64 characters at most).
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
