"""The source preflight against a real server: healthy, and each misconfiguration named."""

from __future__ import annotations

import pytest

from cdc_listener.preflight import check_source
from devstack.commerce_db import grant_sidecar_user


def _failures(findings) -> dict[str, str]:
    return {f.check: f.detail for f in findings if not f.ok}


def test_healthy_source_passes(commerce_env) -> None:
    with commerce_env.sidecar.connect() as conn:
        findings = check_source(conn, commerce_env.commerce_db)
    assert _failures(findings) == {}
    assert {f.check for f in findings} >= {"binlog_format", "binlog_row_image",
                                            "binlog_row_metadata", "log_bin"}


def test_missing_grants_are_named(commerce_env, stack) -> None:
    weak = grant_sidecar_user(stack.endpoints.mysql, "weak_user", "weak-pass", "nosuchdb", "weak_state")
    with stack.endpoints.mysql.connect() as admin, admin.cursor() as cur:
        cur.execute("REVOKE REPLICATION SLAVE, BINLOG MONITOR ON *.* FROM 'weak_user'@'%'")
    with weak.connect() as conn:
        failures = _failures(check_source(conn, commerce_env.commerce_db))
    assert set(failures) == {"grant REPLICATION SLAVE", "grant REPLICATION CLIENT / BINLOG MONITOR",
                             f"SELECT on {commerce_env.commerce_db}"}
    assert "GRANT REPLICATION SLAVE or REPLICATION REPLICA ON *.*" in failures["grant REPLICATION SLAVE"]


@pytest.mark.parametrize(("variable", "bad", "fix"), [
    ("binlog_format", "STATEMENT", "set binlog_format=ROW"),
    ("binlog_row_image", "MINIMAL", "set binlog_row_image=FULL"),
    ("binlog_row_metadata", "MINIMAL", "set binlog_row_metadata=FULL"),
    ("log_bin_compress", "ON", "log_bin_compress=OFF"),
])
def test_bad_server_settings_are_named(commerce_env, stack, variable, bad, fix) -> None:
    with stack.endpoints.mysql.connect() as admin, admin.cursor() as cur:
        cur.execute(f"SELECT @@GLOBAL.{variable}")
        original = cur.fetchone()[0]
        cur.execute(f"SET GLOBAL {variable} = %s", (bad,))
        try:
            with commerce_env.sidecar.connect() as conn:
                failures = _failures(check_source(conn, commerce_env.commerce_db))
        finally:
            cur.execute(f"SET GLOBAL {variable} = %s", (original,))
    assert list(failures) == [variable]
    assert fix in failures[variable]
