"""store_config against the real MariaDB: a store view's configuration value is its own
``stores`` row, else its website's ``websites`` row, else the ``default`` row
(``Magento\\Store\\Model\\Config\\Processor\\Fallback::prepareStoresConfig``), else the module's
config.xml default (``general/locale/timezone``: America/Los_Angeles, Magento_Directory).

The seed's store views: 1 (website 1, ``base``) and 2 (website 2, ``walmart_us``).
"""

from __future__ import annotations

import uuid
from zoneinfo import ZoneInfo

import pytest

from devstack.environment import CommerceEnvironment, prepare_environment
from sync_workers.commerce.store_config import store_config_value, store_timezone

PATH = "general/locale/timezone"


@pytest.fixture(scope="module")
def env(stack, tmp_path_factory) -> CommerceEnvironment:
    return prepare_environment(stack.endpoints, tmp_path_factory.mktemp("store_config"), "open_source",
                               products=2, name=f"cfg_{uuid.uuid4().hex[:6]}")


def _set(cur, scope: str, scope_id: int, value: str | None) -> None:
    """What Magento\\Config\\Model\\ResourceModel\\Config::saveConfig writes (an upsert on the unique key)."""
    cur.execute("INSERT INTO core_config_data (scope, scope_id, path, value) VALUES (%s, %s, %s, %s) "
                "ON DUPLICATE KEY UPDATE value = VALUES(value)", (scope, scope_id, PATH, value))


def test_the_store_row_wins_then_its_website_then_the_default_then_config_xml(env) -> None:
    with env.admin_connection() as conn, conn.cursor() as cur:
        cur.execute("DELETE FROM core_config_data WHERE path = %s", (PATH,))
        try:
            assert store_config_value(conn, PATH, 2) is None
            assert store_timezone(conn, 2) == ZoneInfo("America/Los_Angeles")

            _set(cur, "default", 0, "Europe/Berlin")
            assert [store_timezone(conn, s).key for s in (1, 2)] == ["Europe/Berlin", "Europe/Berlin"]

            _set(cur, "websites", 2, "America/Chicago")   # store 2's website; store 1 is on website 1
            assert [store_timezone(conn, s).key for s in (1, 2)] == ["Europe/Berlin", "America/Chicago"]

            _set(cur, "stores", 2, "Asia/Tokyo")
            _set(cur, "websites", 1, "America/New_York")
            assert [store_timezone(conn, s).key for s in (1, 2)] == ["America/New_York", "Asia/Tokyo"]

            _set(cur, "stores", 1, None)                  # a NULL row sets nothing: the website's applies
            _set(cur, "stores", 3, "Australia/Sydney")    # another store view's row is not store 1's
            assert store_config_value(conn, PATH, 1) == "America/New_York"

            assert store_timezone(conn, 2, override="UTC").key == "UTC"  # mapping.store_timezone
        finally:
            cur.execute("DELETE FROM core_config_data WHERE path = %s", (PATH,))
